#!/usr/bin/env bash
# A throwaway Samba AD DC on loopback in DIR, for tests/interop/samba_dc/run.sh and
# tests/netlogon/netlogon_dc.rs (which stops and restarts it).
# Usage: dc.sh provision DIR | start DIR | stop DIR | users DIR | show DIR USER ATTRIBUTE
#        | configure DIR ['NAME = VALUE' ...]  (stop, set or reset the NTLM settings, start)
#        | lockout DIR THRESHOLD
set -euo pipefail
cmd=$1 dir=$2
conf="$dir/etc/smb.conf"
tool() { timeout 60 samba-tool "$@" -s "$conf" >/dev/null; }
case "$cmd" in
provision)
    # RPC endpoints above Linux's ephemeral range (32768-60999): Samba's default range starts at
    # 49152, where a client socket of an earlier test can hold the port samba wants
    # (NT_STATUS_ADDRESS_ALREADY_ASSOCIATED, and samba exits).
    rm -rf "$dir"; mkdir -p "$dir"
    timeout 120 samba-tool domain provision --targetdir "$dir" \
        --realm CORP.EXAMPLE.COM --domain CORP --server-role dc --dns-backend NONE \
        --adminpass 'Admin-Pass-1!' \
        --option "interfaces=lo" --option "bind interfaces only=yes" \
        --option "server services = -dns -nbt -kdc -drepl -ntp_signd -winbindd -kcc -dnsupdate -ldap" \
        --option "pid directory=$dir/run" --option "lock directory=$dir/lock" \
        --option "state directory=$dir/state" --option "cache directory=$dir/cache" \
        --option "private dir=$dir/private" --option "log file=$dir/log.%m" \
        --option "winbindd socket directory=$dir/winbindd" \
        --option "rpc server dynamic port range = 61000-61999" \
        >"$dir/provision.log" 2>&1
    ;;
start)
    mkdir -p "$dir/run"
    samba -s "$conf" -D
    # Up to 60 s: on a loaded machine samba takes more than 10 s to listen.
    for _ in $(seq 600); do
        [ -s "$dir/run/samba.pid" ] && timeout 1 bash -c '</dev/tcp/127.0.0.1/135' 2>/dev/null && exit 0
        sleep 0.1
    done
    echo "samba does not listen on 127.0.0.1:135 after 60 s; its log:" >&2
    tail -n 30 "$dir/log.%m" >&2 || true
    exit 1
    ;;
users)
    # AD counts bad passwords only where a lockout threshold is set.
    tool domain passwordsettings set --complexity=off --min-pwd-length=0 --min-pwd-age=0 \
        --account-lockout-threshold=3 --account-lockout-duration=1 --reset-account-lockout-after=1
    tool computer create WEB1
    tool user setpassword 'WEB1$' --newpassword='Machine-Pass-1'
    tool user create alice 'Alice-Pass-1'
    tool user create erin 'Erin-Pass-1'       # wrong passwords, counted
    tool user create grace 'Grace-Pass-1'     # wrong password through ServerContext pass-through
    tool user create henry 'Henry-Pass-1'     # wrong password through squid-helper --dc
    tool user create ivy 'Ivy-Pass-1'         # wrong password through http_server --dc
    tool user create jack 'Jack-Pass-1'       # wrong password through axum_server --dc
    tool user create dora 'Dora-Pass-1'       # the differential's user (lockout off then)
    tool user create dave 'Dave-Pass-1'       # locked out
    tool user create bob 'Bob-Pass-1'         # disabled
    tool user disable bob
    tool user create carol 'Carol-Pass-1'     # expired
    tool user setexpiry carol --days=0
    tool user create frank 'Frank-Pass-1' --must-change-at-next-login   # must change
    ;;
lockout)
    tool domain passwordsettings set --account-lockout-threshold="$3"
    ;;
show)
    timeout 60 samba-tool user show "$3" --attributes="$4" -s "$conf" | sed -n "s/^$4: //p"
    ;;
configure)
    # The NTLM settings the differential varies: `ntlm auth` and `lanman auth` are taken
    # out of [global], the given lines put in, and samba restarted to read them.
    bash "$0" stop "$dir"
    sed -i -e '/^\s*ntlm auth\s*=/d' -e '/^\s*lanman auth\s*=/d' "$conf"
    for line in "${@:3}"; do sed -i "/^\[global\]/a $line" "$conf"; done
    bash "$0" start "$dir"
    ;;
stop)
    if [ -s "$dir/run/samba.pid" ]; then
        pid=$(cat "$dir/run/samba.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    ;;
esac
