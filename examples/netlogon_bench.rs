//! Pass-through logons per second against a DC (issue 10): serial logons on one secure
//! channel (as Squid drives one stateful helper), then concurrent logons over a pool of
//! channels. Each logon is a fresh NTLMv2 AUTHENTICATE to a fresh challenge.
//!
//! ```text
//! NTLM_DC_MACHINE_PASSWORD=... NTLM_DC_USER_PASSWORD=... \
//!   cargo run --release --features netlogon --example netlogon_bench -- \
//!   127.0.0.1 'CORP\WEB1$' 'CORP\alice' [SERIAL_N] [CONCURRENCY] [CONCURRENT_N]
//! ```
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use ntlm::client::{split_user, ClientConfig, ClientContext};
use ntlm::netlogon::{DcClient, DcConfig, MachineAccount, NetworkLogonRequest};
use ntlm::policy::{LmCompatibilityLevel, ServerPolicy};
use ntlm::server::{ServerConfig, ServerContext};
use ntlm::store::MemoryStore;
use ntlm::wire::{AuthenticateMessage, ChallengeMessage};
use ntlm::Password;

fn request(
    server: &Arc<ServerConfig>,
    domain: &str,
    user: &str,
    password: &Password,
) -> NetworkLogonRequest {
    let now = SystemTime::now();
    let mut cc = ClientConfig::new(LmCompatibilityLevel::L3, domain, user, password.clone());
    cc.reflection_guard = None;
    let mut client = ClientContext::new(cc);
    let mut s = ServerContext::new(server.clone());
    let challenge = s.challenge(&client.negotiate().unwrap(), now).unwrap();
    let sc = ChallengeMessage::decode(&challenge)
        .unwrap()
        .server_challenge;
    let auth = client.authenticate(&challenge, now).unwrap();
    let a = AuthenticateMessage::decode(&auth).unwrap();
    NetworkLogonRequest::new(
        sc,
        a.lm_challenge_response,
        a.nt_challenge_response,
        &a.user_name.to_string_lossy(),
        &a.domain_name.to_string_lossy(),
        &a.workstation.to_string_lossy(),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dc, machine, user, ..] = args.as_slice() else {
        eprintln!("usage: netlogon_bench DC 'DOMAIN\\NAME$' 'DOMAIN\\user' [SERIAL_N] [CONCURRENCY] [CONCURRENT_N]");
        std::process::exit(2);
    };
    let n: usize = args.get(3).map_or(2000, |s| s.parse().unwrap());
    let conc: usize = args.get(4).map_or(8, |s| s.parse().unwrap());
    let cn: usize = args.get(5).map_or(4000, |s| s.parse().unwrap());
    let mpw =
        Password::new(std::env::var("NTLM_DC_MACHINE_PASSWORD").expect("NTLM_DC_MACHINE_PASSWORD"));
    let upw = Password::new(std::env::var("NTLM_DC_USER_PASSWORD").expect("NTLM_DC_USER_PASSWORD"));
    let machine = MachineAccount::new(machine, &mpw);
    let (domain, user) = split_user(user);
    let mut sc = ServerConfig::new(
        ServerPolicy::domain_controller(LmCompatibilityLevel::L3),
        MemoryStore::new(),
    );
    sc.reflection_guard = None;
    sc.nb_domain = machine.domain.clone();
    sc.nb_computer = machine.computer().to_string();
    let sc = Arc::new(sc);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let config = DcConfig::new(vec![dc.parse().unwrap()], machine.clone());
        let client = DcClient::connect(config.clone()).await.expect("secure channel");
        for _ in 0..50 {
            client.logon(&request(&sc, domain, user, &upw)).await.expect("warm-up logon");
        }
        let t = Instant::now();
        for _ in 0..n {
            client.logon(&request(&sc, domain, user, &upw)).await.expect("logon");
        }
        let serial = n as f64 / t.elapsed().as_secs_f64();
        println!("serial: {n} logons on one channel in {:.2} s: {serial:.0} logons/s", t.elapsed().as_secs_f64());

        let mut config = config;
        config.pool_size = conc;
        let client = Arc::new(DcClient::new(config));
        // Set every channel up before timing.
        let mut warm = Vec::new();
        for _ in 0..conc {
            let (c, sc, upw) = (client.clone(), sc.clone(), upw.clone());
            let (d, u) = (domain.to_string(), user.to_string());
            warm.push(tokio::spawn(async move { c.logon(&request(&sc, &d, &u, &upw)).await.map(|_| ()) }));
        }
        for w in warm {
            w.await.unwrap().expect("warm-up");
        }
        let t = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..conc {
            let (c, sc, upw) = (client.clone(), sc.clone(), upw.clone());
            let (d, u) = (domain.to_string(), user.to_string());
            tasks.push(tokio::spawn(async move {
                for _ in 0..cn / conc {
                    c.logon(&request(&sc, &d, &u, &upw)).await.expect("logon");
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let total = cn / conc * conc;
        println!(
            "concurrent: {total} logons, {conc} in flight over {conc} channels, in {:.2} s: {:.0} logons/s",
            t.elapsed().as_secs_f64(),
            total as f64 / t.elapsed().as_secs_f64()
        );
    });
}
