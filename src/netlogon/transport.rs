//! The tokio transport: [`DcClient`] connects to a DC's endpoint mapper, sets up the
//! secure channel, binds schannel and sends NetrLogonSamLogonEx calls, with a timeout on
//! every connect, read, write and call, and bounded PDUs and reassembly.
//!
//! Several DCs are tried in order (failover). A pool of secure channels serves concurrent
//! logons, one call at a time each; channels are set up one at a time, since a DC keeps
//! one pending challenge and credential per machine account (so several verifier
//! processes sharing one machine account can also disturb each other's setup: give each
//! its own account, or expect a retried setup). A channel that fails (I/O error, timeout, a bad seal,
//! a status that says the DC no longer knows the channel) is dropped and a fresh one set
//! up, so a DC restart costs one reconnection, not a process restart; a logon is retried
//! once on a fresh channel only when it failed on a reused one, and never after a timeout
//! (the DC may have counted it).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

use super::channel::{Association, ResponseAssembler, RpcError, MAX_FRAG, MAX_RESPONSE_STUB};
use super::epm::{ept_map_request, EptMapResponse, EPM_SYNTAX, OPNUM_EPT_MAP};
use super::logon::{sam_logon_ex_request, SamLogonExResponse, OPNUM_SAM_LOGON_EX};
use super::passthrough::{NetworkLogonRequest, PassThroughError, Unavailable, Validation};
use super::pdu::{frame_length, HEADER_LEN};
use super::schannel::Schannel;
use super::secure_channel::{ChannelSetup, EstablishedChannel, MachineAccount, DEFAULT_FLAGS};
use super::status::{is_channel_failure, is_request_not_understood, LogonRefusal};
use super::{NETLOGON_SYNTAX, OPNUM_AUTHENTICATE3, OPNUM_REQ_CHALLENGE};

/// A DC to ask: host name or address and its endpoint mapper port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DcAddress {
    /// Host name or IP address.
    pub host: String,
    /// The endpoint mapper's TCP port (135).
    pub epm_port: u16,
}

impl core::str::FromStr for DcAddress {
    type Err = String;

    /// `HOST`, `HOST:PORT`, `[V6]` or `[V6]:PORT`; PORT is the endpoint mapper's (135).
    fn from_str(s: &str) -> Result<Self, String> {
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (h, tail) = rest.split_once(']').ok_or("unclosed [ in DC address")?;
            (h, tail.strip_prefix(':'))
        } else if s.matches(':').count() == 1 {
            let (h, p) = s.split_once(':').unwrap_or((s, ""));
            (h, Some(p))
        } else {
            (s, None)
        };
        if host.is_empty() {
            return Err("empty DC host".into());
        }
        let epm_port = match port {
            Some(p) => p.parse().map_err(|_| format!("bad port {p:?}"))?,
            None => 135,
        };
        Ok(Self {
            host: host.to_string(),
            epm_port,
        })
    }
}

impl core::fmt::Display for DcAddress {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.epm_port)
        } else {
            write!(f, "{}:{}", self.host, self.epm_port)
        }
    }
}

/// Everything a [`DcClient`] needs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DcConfig {
    /// The DCs, in order of preference.
    pub dcs: Vec<DcAddress>,
    /// Our machine account.
    pub machine: MachineAccount,
    /// Negotiate flags offered ([`DEFAULT_FLAGS`]).
    pub flags: u32,
    /// Bound on each TCP connect.
    pub connect_timeout: Duration,
    /// Bound on each RPC call (its writes and reads).
    pub call_timeout: Duration,
    /// Schannel connections kept open for concurrent logons (at least 1). They all use one
    /// secure channel: a DC keeps one session key per machine account (the newest
    /// NetrServerAuthenticate3's) and encrypts each validation's UserSessionKey with it, so
    /// the channel is set up once and every connection binds schannel with its key.
    pub pool_size: usize,
}

impl DcConfig {
    /// A configuration with 3 s connects, 10 s calls and one channel.
    pub fn new(dcs: Vec<DcAddress>, machine: MachineAccount) -> Self {
        Self {
            dcs,
            machine,
            flags: DEFAULT_FLAGS,
            connect_timeout: Duration::from_secs(3),
            call_timeout: Duration::from_secs(10),
            pool_size: 1,
        }
    }
}

/// Receives a line per setup step (for `ntlm dc-check`); never given secrets.
pub type StepLog<'a> = &'a mut (dyn FnMut(&str) + Send + 'a);

/// The secure channel (MS-NRPC §3.1.4): set up once per DC client, shared by its
/// schannel connections.
struct Channel {
    established: EstablishedChannel,
    dc: DcAddress,
    port: u16,
}

/// One schannel-protected connection (MS-NRPC §3.3) over the shared secure channel.
struct Live {
    stream: TcpStream,
    conn: Association,
    schannel: Schannel,
    channel: Arc<Channel>,
}

/// A pass-through client: secure channels to the domain's DCs.
pub struct DcClient {
    config: Arc<DcConfig>,
    pool: Vec<Mutex<Option<Live>>>,
    /// The secure channel every pooled connection binds with; `None` until set up, and
    /// again after the DC refused it.
    channel: Mutex<Option<Arc<Channel>>>,
    next: AtomicUsize,
    /// Held while a channel is set up: a DC keeps one challenge and one credential per
    /// machine account, so two setups that interleave (ReqChallenge, ReqChallenge,
    /// Authenticate3, ...) or an Authenticate3 between another's Authenticate3 and its
    /// schannel bind would break each other. Bound connections keep their own key.
    setup: Mutex<()>,
}

impl core::fmt::Debug for DcClient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DcClient")
            .field("dcs", &self.config.dcs)
            .field("pool", &self.pool.len())
            .finish_non_exhaustive()
    }
}

type Fail = (String, Unavailable);

impl DcClient {
    /// A client that sets up its channels on first use.
    pub fn new(config: DcConfig) -> Self {
        let n = config.pool_size.max(1);
        Self {
            config: Arc::new(config),
            pool: (0..n).map(|_| Mutex::new(None)).collect(),
            channel: Mutex::new(None),
            next: AtomicUsize::new(0),
            setup: Mutex::new(()),
        }
    }

    /// A client with its first secure channel set up (so that configuration errors show
    /// at start).
    pub async fn connect(config: DcConfig) -> Result<Self, PassThroughError> {
        let client = Self::new(config);
        let live = establish_any(&client.config, &mut |_| {})
            .await
            .map_err(unavailable)?;
        *client.channel.lock().await = Some(live.channel.clone());
        if let Some(slot) = client.pool.first() {
            *slot.lock().await = Some(live);
        }
        Ok(client)
    }

    /// Sets up a secure channel, reporting each step to `log` (for diagnostics).
    pub async fn connect_verbose(
        config: DcConfig,
        log: StepLog<'_>,
    ) -> Result<Self, PassThroughError> {
        let client = Self::new(config);
        let live = establish_any(&client.config, log)
            .await
            .map_err(unavailable)?;
        *client.channel.lock().await = Some(live.channel.clone());
        if let Some(slot) = client.pool.first() {
            *slot.lock().await = Some(live);
        }
        Ok(client)
    }

    /// The flags the DC granted on the first channel, if it is up.
    pub async fn granted_flags(&self) -> Option<u32> {
        let slot = self.pool.first()?;
        slot.lock()
            .await
            .as_ref()
            .map(|l| l.channel.established.flags)
    }

    /// Asks the DC to verify a network logon.
    pub async fn logon(
        &self,
        request: &NetworkLogonRequest,
    ) -> Result<Validation, PassThroughError> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.pool.len();
        let Some(slot) = self.pool.get(i) else {
            return Err(unavailable((String::new(), Unavailable::NoDc)));
        };
        let mut guard = slot.lock().await;
        for attempt in 0..2 {
            let reused = guard.is_some();
            let live = match guard.as_mut() {
                Some(l) => l,
                None => guard.insert(self.open().await.map_err(unavailable)?),
            };
            match call_logon(live, request, self.config.call_timeout).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(status)) if is_channel_failure(status) => {
                    let dc = live.channel.dc.to_string();
                    self.forget(&live.channel).await;
                    *guard = None;
                    if attempt == 1 || !reused {
                        return Err(unavailable((dc, Unavailable::ChannelStatus(status))));
                    }
                }
                Ok(Err(status)) if is_request_not_understood(status) => {
                    let dc = live.channel.dc.to_string();
                    return Err(unavailable((dc, Unavailable::RequestNotUnderstood(status))));
                }
                Ok(Err(status)) => {
                    let refusal =
                        LogonRefusal::from_status(status).unwrap_or(LogonRefusal::Other(status));
                    return Err(PassThroughError::Refused(refusal));
                }
                Err(reason) => {
                    let dc = live.channel.dc.to_string();
                    *guard = None;
                    // A timed-out call may have reached the DC, which then counted a wrong
                    // password: it is not sent again. A reused channel that fails at once
                    // (the DC restarted and closed it) is retried on a fresh one.
                    let may_have_arrived = matches!(reason, Unavailable::Timeout(_));
                    if attempt == 1 || !reused || may_have_arrived {
                        return Err(unavailable((dc, reason)));
                    }
                }
            }
        }
        Err(unavailable((String::new(), Unavailable::NoDc)))
    }
}

impl DcClient {
    /// A new schannel connection: bound with the shared secure channel when there is one
    /// (a failed bind drops it), else over a secure channel set up now. Setups are
    /// serialised: a DC keeps one challenge and one credential per machine account, so
    /// two that interleave would break each other.
    async fn open(&self) -> Result<Live, Fail> {
        let _setup = self.setup.lock().await;
        let shared = self.channel.lock().await.clone();
        if let Some(channel) = shared {
            match bind_schannel(&self.config, channel.clone()).await {
                Ok(live) => return Ok(live),
                Err(_) => self.forget(&channel).await,
            }
        }
        let live = establish_any(&self.config, &mut |_| {}).await?;
        *self.channel.lock().await = Some(live.channel.clone());
        Ok(live)
    }

    /// Drops the shared secure channel if it is still `channel` (the DC no longer knows it):
    /// the next connection sets up a new one.
    async fn forget(&self, channel: &Arc<Channel>) {
        let mut shared = self.channel.lock().await;
        if shared.as_ref().is_some_and(|c| Arc::ptr_eq(c, channel)) {
            *shared = None;
        }
    }
}

fn unavailable((dc, reason): Fail) -> PassThroughError {
    PassThroughError::Unavailable { dc, reason }
}

async fn establish_any(
    config: &DcConfig,
    log: &mut (dyn FnMut(&str) + Send),
) -> Result<Live, Fail> {
    let mut last = (String::new(), Unavailable::NoDc);
    for dc in &config.dcs {
        match establish(config, dc, &mut *log).await {
            Ok(live) => return Ok(live),
            Err(reason) => {
                log(&format!("{dc}: failed: {reason}"));
                last = (dc.to_string(), reason);
            }
        }
    }
    Err(last)
}

fn say(log: &mut (dyn FnMut(&str) + Send), line: impl FnOnce() -> String) {
    log(&line());
}

async fn establish(
    config: &DcConfig,
    dc: &DcAddress,
    log: &mut (dyn FnMut(&str) + Send),
) -> Result<Live, Unavailable> {
    let t = config.call_timeout;
    // 1. The endpoint mapper.
    let mut epm = connect(&dc.host, dc.epm_port, config.connect_timeout).await?;
    say(log, || format!("endpoint mapper: connected to {dc}"));
    let mut conn = Association::new();
    bind(&mut epm, &mut conn, EPM_SYNTAX, None, t).await?;
    let stub = call(
        &mut epm,
        &mut conn,
        OPNUM_EPT_MAP,
        &ept_map_request(&NETLOGON_SYNTAX),
        None,
        t,
    )
    .await?;
    let map = EptMapResponse::decode(&stub).map_err(|e| Unavailable::Rpc(RpcError::Decode(e)))?;
    let port = match (map.status, map.tcp_port(&NETLOGON_SYNTAX)) {
        (0, Some(p)) if p != 0 => p,
        _ => return Err(Unavailable::NotRegistered),
    };
    say(log, || {
        format!("endpoint mapper: NETLOGON (12345678-1234-abcd-ef00-01234567cffb v1.0) on ncacn_ip_tcp port {port}")
    });
    drop(epm);

    // 2. The secure channel.
    let mut s = connect(&dc.host, port, config.connect_timeout).await?;
    let mut conn = Association::new();
    bind(&mut s, &mut conn, NETLOGON_SYNTAX, None, t).await?;
    say(log, || {
        format!(
            "bind: NETLOGON on {}:{port} accepted (NDR, no auth)",
            dc.host
        )
    });
    let mut setup = ChannelSetup::new(config.machine.clone(), &dc.host, config.flags);
    let stub = call(
        &mut s,
        &mut conn,
        OPNUM_REQ_CHALLENGE,
        &setup.req_challenge(),
        None,
        t,
    )
    .await?;
    let auth3 = setup.authenticate3(&stub).map_err(Unavailable::Setup)?;
    say(log, || {
        "NetrServerReqChallenge: server challenge received".to_string()
    });
    let stub = call(&mut s, &mut conn, OPNUM_AUTHENTICATE3, &auth3, None, t).await?;
    let channel = setup.finish(&stub).map_err(Unavailable::Setup)?;
    say(log, || {
        let mut line = format!(
            "NetrServerAuthenticate3: {}\\{} authenticated (account RID {}), server credential verified, flags offered {:#010x}, granted {:#010x}",
            config.machine.domain, config.machine.account, channel.account_rid, config.flags, channel.flags
        );
        let _ = write!(line, " (AES, secure RPC)");
        line
    });
    drop(s);
    let channel = Arc::new(Channel {
        established: channel,
        dc: dc.clone(),
        port,
    });
    // 3. The schannel-protected connection.
    let live = bind_schannel(config, channel).await?;
    say(log, || {
        "schannel bind: auth type 0x44, packet privacy (AES-128-CFB8 sealing, HMAC-SHA256 signatures) accepted".to_string()
    });
    Ok(live)
}

/// A schannel-protected connection to the NETLOGON endpoint with the secure channel's key
/// (MS-NRPC §3.3.4.1: NL_AUTH_MESSAGE in the bind, packet privacy).
async fn bind_schannel(config: &DcConfig, channel: Arc<Channel>) -> Result<Live, Unavailable> {
    let t = config.call_timeout;
    let mut stream = connect(&channel.dc.host, channel.port, config.connect_timeout).await?;
    let mut conn = Association::new();
    let answer = bind(
        &mut stream,
        &mut conn,
        NETLOGON_SYNTAX,
        Some(&channel.established.nl_auth_request()),
        t,
    )
    .await?;
    if !answer
        .as_deref()
        .is_some_and(EstablishedChannel::check_nl_auth_response)
    {
        return Err(Unavailable::Rpc(RpcError::BadAuthAnswer));
    }
    let schannel = channel.established.schannel();
    Ok(Live {
        stream,
        conn,
        schannel,
        channel,
    })
}

/// One NetrLogonSamLogonEx; `Ok(Err(status))` for a non-success NTSTATUS.
async fn call_logon(
    live: &mut Live,
    request: &NetworkLogonRequest,
    t: Duration,
) -> Result<Result<Validation, u32>, Unavailable> {
    let stub = sam_logon_ex_request(
        live.channel.established.logon_server(),
        live.channel.established.computer(),
        &request.info(),
    )
    .map_err(Unavailable::Request)?;
    let reply = call(
        &mut live.stream,
        &mut live.conn,
        OPNUM_SAM_LOGON_EX,
        &stub,
        Some(&mut live.schannel),
        t,
    )
    .await?;
    let resp =
        SamLogonExResponse::decode(&reply).map_err(|e| Unavailable::Rpc(RpcError::Decode(e)))?;
    if resp.status != 0 {
        return Ok(Err(resp.status));
    }
    match &resp.validation {
        Some(v) => Ok(Ok(Validation::from_sam_info(
            v,
            live.channel.established.key(),
        ))),
        None => Err(Unavailable::Rpc(RpcError::Reassembly(
            "success without validation information",
        ))),
    }
}

async fn connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, Unavailable> {
    let stream = tokio::time::timeout(timeout, TcpStream::connect((host, port)))
        .await
        .map_err(|_| Unavailable::Timeout("TCP connect"))?
        .map_err(Unavailable::Io)?;
    stream.set_nodelay(true).map_err(Unavailable::Io)?;
    Ok(stream)
}

async fn bind(
    stream: &mut TcpStream,
    conn: &mut Association,
    syntax: super::pdu::SyntaxId,
    auth: Option<&[u8]>,
    t: Duration,
) -> Result<Option<Vec<u8>>, Unavailable> {
    tokio::time::timeout(t, async {
        let (call_id, pdu) = conn.bind(syntax, auth);
        stream.write_all(&pdu).await.map_err(Unavailable::Io)?;
        let reply = read_pdu(stream).await?;
        let value = conn
            .on_bind_ack(&reply, call_id)
            .map_err(Unavailable::Rpc)?;
        Ok(value.map(<[u8]>::to_vec))
    })
    .await
    .map_err(|_| Unavailable::Timeout("bind"))?
}

async fn call(
    stream: &mut TcpStream,
    conn: &mut Association,
    opnum: u16,
    stub: &[u8],
    mut schannel: Option<&mut Schannel>,
    t: Duration,
) -> Result<Vec<u8>, Unavailable> {
    tokio::time::timeout(t, async {
        let (call_id, frags) = conn.request(opnum, stub, schannel.as_deref_mut());
        for f in &frags {
            stream.write_all(f).await.map_err(Unavailable::Io)?;
        }
        let mut asm = ResponseAssembler::new(call_id, MAX_RESPONSE_STUB);
        loop {
            let pdu = read_pdu(stream).await?;
            if let Some(stub) = asm
                .push(&pdu, schannel.as_deref_mut())
                .map_err(Unavailable::Rpc)?
            {
                return Ok(stub);
            }
        }
    })
    .await
    .map_err(|_| Unavailable::Timeout("RPC call"))?
}

async fn read_pdu(stream: &mut TcpStream) -> Result<Vec<u8>, Unavailable> {
    let mut header = [0u8; HEADER_LEN];
    stream
        .read_exact(&mut header)
        .await
        .map_err(Unavailable::Io)?;
    let len = frame_length(&header, usize::from(MAX_FRAG).max(u16::MAX.into()))
        .map_err(|e| Unavailable::Rpc(RpcError::Decode(e)))?;
    let mut pdu = vec![0u8; len];
    pdu[..HEADER_LEN].copy_from_slice(&header);
    stream
        .read_exact(&mut pdu[HEADER_LEN..])
        .await
        .map_err(Unavailable::Io)?;
    Ok(pdu)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dc_addresses() {
        let a: DcAddress = "dc1.corp.example.com".parse().unwrap();
        assert_eq!((a.host.as_str(), a.epm_port), ("dc1.corp.example.com", 135));
        let a: DcAddress = "127.0.0.1:1135".parse().unwrap();
        assert_eq!((a.host.as_str(), a.epm_port), ("127.0.0.1", 1135));
        let a: DcAddress = "[::1]:135".parse().unwrap();
        assert_eq!(a.host, "::1");
        assert_eq!(a.to_string(), "[::1]:135");
        assert!("".parse::<DcAddress>().is_err());
        assert!("h:x".parse::<DcAddress>().is_err());
    }
}
