#!/usr/bin/env bash
# Provisions a throwaway Samba AD DC on loopback into DIR and starts it (sourced helpers).
# Usage: dc.sh provision DIR | start DIR | stop DIR | users DIR
set -euo pipefail
cmd=$1 dir=$2
conf="$dir/etc/smb.conf"
tool() { timeout 60 samba-tool "$@" -s "$conf" >/dev/null; }
case "$cmd" in
provision)
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
        >"$dir/provision.log" 2>&1
    ;;
start)
    mkdir -p "$dir/run"
    samba -s "$conf" -D
    for _ in $(seq 100); do
        [ -s "$dir/run/samba.pid" ] && timeout 1 bash -c '</dev/tcp/127.0.0.1/135' 2>/dev/null && break
        sleep 0.1
    done
    ;;
stop)
    if [ -s "$dir/run/samba.pid" ]; then
        pid=$(cat "$dir/run/samba.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    ;;
esac
