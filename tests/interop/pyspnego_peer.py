#!/usr/bin/env python3
"""Line-based NTLM peer backed by pyspnego, for interop tests.

Usage:
    pyspnego_peer.py client|server [--protocol ntlm|negotiate] [--spn SERVICE/HOST]
                     [--cbt-app-data-hex HEX] [--context-req LIST]
                     [--lm-compat-level N] [--workstation NAME]

Run it with the python of the venv made by setup-pyspnego.sh.

Configuration (environment):
    LM_COMPAT_LEVEL      0..5, read by pyspnego itself when the context is made
                         (spnego/_ntlm.py NTLMProxy.__init__); default 3.
                         --lm-compat-level overrides it.
    NTLM_USER_FILE       server: credential file, required. Lines are either
                         `DOMAIN:USER:PASSWORD` (3 fields) or smbpasswd style
                         `[DOMAIN\\]USER:UID:LMHEX:NTHEX:FLAGS:LCT` (6 fields).
                         Any other line (comments, blanks) is ignored.
                         client: used only when NTLM_PEER_PASSWORD is unset.
    NTLM_PEER_USER       client: `DOMAIN\\user`, or `user` / `user@REALM`
                         (no domain then).
    NTLM_PEER_PASSWORD   client: the password, or `LMHEX:NTHEX` (32:32 hex
                         digits) to give the hashes directly.
    NETBIOS_COMPUTER_NAME client: workstation name put in AUTHENTICATE
                         (default: upper-cased hostname); --workstation sets it.
    NTLM_PEER_DEBUG      if set, trace to stderr.

Protocol (stdin/stdout, one line each, UTF-8, stdout flushed per line):
    peer -> test   TOKEN <base64>      a token this side produced
    test -> peer   TOKEN <base64>      a token from the other side
    The client starts by printing its first token; the server starts by
    reading one. When the context is complete the peer prints
    peer -> test   DONE user=<u> domain=<d> flags=0x%08x session_key=<hex>
    (user/domain: server = what the AUTHENTICATE carried, client = its own
    credential; flags = the NTLM negotiate flags in force, i.e. the
    AUTHENTICATE flags; session_key = ExportedSessionKey, lower-case hex).
    On failure it prints `ERROR <ExceptionClass>: <message>` and exits 1.

    After DONE, per request line one answer line:
    WRAP <b64>            -> OK <b64 of signature(16) || sealed data>
    UNWRAP <b64>          -> OK <b64 of plaintext>   (input: signature(16) || sealed)
    SIGN <b64>            -> OK <b64 of 16-byte signature>
    VERIFY <b64> <b64sig> -> OK
    QUIT or end of input  -> exit 0
    A failed request answers `ERROR <class>: <msg>` and the peer goes on
    (note pyspnego has already advanced its sequence number / RC4 state).
    Empty data is written as an empty base64 string (e.g. `WRAP ` or `OK `).
"""

import argparse
import base64
import os
import sys
import traceback

DEBUG = bool(os.environ.get("NTLM_PEER_DEBUG"))


def dbg(msg):
    if DEBUG:
        sys.stderr.write("pyspnego_peer[%d]: %s\n" % (os.getpid(), msg))
        sys.stderr.flush()


def emit(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    dbg("-> " + line)


def b64e(data):
    return base64.b64encode(data or b"").decode("ascii")


def b64d(text):
    return base64.b64decode(text.encode("ascii"), validate=True)


def read_line():
    line = sys.stdin.readline()
    if line == "":
        return None
    line = line.rstrip("\r\n")
    dbg("<- " + line)
    return line


def read_token():
    line = read_line()
    if line is None:
        raise EOFError("end of input while waiting for a TOKEN line")
    verb, _, arg = line.partition(" ")
    if verb != "TOKEN":
        raise ValueError("expected 'TOKEN <base64>', got %r" % line[:80])
    return b64d(arg)


def parse_args(argv):
    p = argparse.ArgumentParser(description="pyspnego NTLM interop peer")
    p.add_argument("role", choices=["client", "server"])
    p.add_argument("--protocol", choices=["ntlm", "negotiate"], default="ntlm",
                   help="ntlm: raw NTLMSSP tokens; negotiate: SPNEGO-wrapped NTLM")
    p.add_argument("--spn", default=None,
                   help="target SPN SERVICE/HOST (client: becomes MsvAvTargetName; "
                        "default: none, i.e. an empty MsvAvTargetName)")
    p.add_argument("--cbt-app-data-hex", default=None,
                   help="channel bindings: gss_channel_bindings_struct with only "
                        "application_data set (hex), e.g. hex of b'tls-server-end-point:'+hash")
    p.add_argument("--context-req", default="default",
                   help="comma list of spnego.ContextReq names: default, none, integrity, "
                        "confidentiality, replay_detect, sequence_detect, mutual_auth, "
                        "identify, delegate, dce_style (integrity/replay/sequence -> "
                        "NEGOTIATE_SIGN, confidentiality -> NEGOTIATE_SEAL)")
    p.add_argument("--lm-compat-level", type=int, default=None,
                   help="sets LM_COMPAT_LEVEL (0..5) before pyspnego reads it")
    p.add_argument("--workstation", default=None,
                   help="sets NETBIOS_COMPUTER_NAME (client workstation name)")
    return p.parse_args(argv)


def build_context(args):
    import spnego
    from spnego import ContextReq, NegotiateOptions
    from spnego.channel_bindings import GssChannelBindings

    req = ContextReq.none
    for name in [n.strip() for n in args.context_req.split(",") if n.strip()]:
        try:
            req |= ContextReq[name]
        except KeyError:
            raise ValueError("unknown ContextReq name %r" % name)

    cbt = None
    if args.cbt_app_data_hex is not None:
        cbt = GssChannelBindings(application_data=bytes.fromhex(args.cbt_app_data_hex))

    hostname = service = None
    if args.spn:
        service, sep, hostname = args.spn.partition("/")
        if not sep:
            service, hostname = "host", args.spn

    options = NegotiateOptions.use_ntlm if args.protocol == "ntlm" else NegotiateOptions.use_negotiate

    if args.role == "client":
        user = os.environ.get("NTLM_PEER_USER") or None
        # Unset password: pyspnego falls back to NTLM_USER_FILE (the line for
        # `user`, or the first line when no user is given either).
        password = os.environ.get("NTLM_PEER_PASSWORD")
        return spnego.client(
            username=user,
            password=password,
            hostname=hostname,
            service=service,
            channel_bindings=cbt,
            context_req=req,
            protocol=args.protocol,
            options=options,
        )
    else:
        return spnego.server(
            hostname=hostname or "unspecified",
            service=service or "host",
            channel_bindings=cbt,
            context_req=req,
            protocol=args.protocol,
            options=options,
        )


def ntlm_inner(ctx):
    """The spnego._ntlm.NTLMProxy doing the work (unwraps SPNEGO)."""
    from spnego._ntlm import NTLMProxy

    seen = 0
    while not isinstance(ctx, NTLMProxy):
        ctx = ctx._context  # NegotiateProxy -> chosen mech's context
        seen += 1
        if seen > 4:
            raise RuntimeError("could not find the NTLM context")
    return ctx


def run_exchange(ctx, role):
    if role == "client":
        out = ctx.step(None)
        if out:
            emit("TOKEN " + b64e(out))
    while not ctx.complete:
        in_token = read_token()
        out = ctx.step(in_token)
        if out:
            emit("TOKEN " + b64e(out))


def done_line(ctx):
    inner = ntlm_inner(ctx)
    cred = inner._credential
    user = (cred.username if cred else None) or ""
    domain = (cred.domain if cred else None) or ""
    flags = inner._context_attr
    return "DONE user=%s domain=%s flags=0x%08x session_key=%s" % (
        user, domain, flags, (inner.session_key or b"").hex())


def serve_requests(ctx):
    while True:
        line = read_line()
        if line is None or line == "QUIT":
            return
        if not line:
            continue
        verb, _, rest = line.partition(" ")
        try:
            if verb == "WRAP":
                res = ctx.wrap(b64d(rest), encrypt=True)
                emit("OK " + b64e(res.data))
            elif verb == "UNWRAP":
                res = ctx.unwrap(b64d(rest))
                emit("OK " + b64e(res.data))
            elif verb == "SIGN":
                emit("OK " + b64e(ctx.sign(b64d(rest))))
            elif verb == "VERIFY":
                msg, _, sig = rest.partition(" ")
                ctx.verify(b64d(msg), b64d(sig))
                emit("OK")
            else:
                raise ValueError("unknown request %r" % verb)
        except Exception as e:  # noqa: BLE001 - reported to the test
            emit(error_line(e))


def error_line(e):
    msg = str(e).replace("\r", " ").replace("\n", " ")
    return "ERROR %s: %s" % (type(e).__name__, msg)


def main(argv):
    try:
        args = parse_args(argv)
        if args.lm_compat_level is not None:
            os.environ["LM_COMPAT_LEVEL"] = str(args.lm_compat_level)
        if args.workstation is not None:
            os.environ["NETBIOS_COMPUTER_NAME"] = args.workstation
        ctx = build_context(args)
        run_exchange(ctx, args.role)
        emit(done_line(ctx))
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001
        if DEBUG:
            traceback.print_exc(file=sys.stderr)
        emit(error_line(e))
        return 1
    serve_requests(ctx)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
