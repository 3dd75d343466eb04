# Sourced by the interop scripts that put Squid in front of a helper (after common.sh, with
# $WORK and $PIDS from interop_work): the binary and user file where Squid's `proxy` user can
# read them, an origin, a Squid configuration, Squid started and ready, and the user it logged.

# stage_for_squid: Squid drops root privileges to `proxy`, so $NTLM_BIN is copied to
# $WORK/ntlm and CORP\alice's password (Secret1) written to $WORK/users, both readable.
stage_for_squid() {
    chmod 755 "$WORK"
    cp "$NTLM_BIN" "$WORK/ntlm" && chmod 755 "$WORK/ntlm"
    printf 'CORP:alice:Secret1\n' > "$WORK/users" && chmod 644 "$WORK/users"
}

# start_origin TEXT: python's http.server on a free port ($ORIGIN_PORT) serving TEXT as /
# from $WORK/www; non-zero if it does not listen within 10 s.
start_origin() {
    ORIGIN_PORT="$(free_port)"
    mkdir -p "$WORK/www"
    echo "$1" > "$WORK/www/index.html"
    python3 -u -m http.server "$ORIGIN_PORT" --bind 127.0.0.1 --directory "$WORK/www" \
        >"$WORK/origin.log" 2>&1 &
    PIDS+=($!)
    wait_port "$ORIGIN_PORT"
}

# squid_conf NAME PORT SCHEME CHILDREN PROGRAM [ARG...]: $WORK/NAME.conf, a Squid on
# 127.0.0.1:PORT that requires a logon with `auth_param SCHEME` (ntlm, negotiate or basic)
# through the helper PROGRAM ARG..., CHILDREN of them; no cache; its logs in $WORK/NAME/
# (SQUID_ACCESS_LOG=none: no access log).
squid_conf() {
    local name="$1" port="$2" scheme="$3" children="$4"
    shift 4
    local extra="auth_param $scheme keep_alive on"
    [ "$scheme" = basic ] && extra="auth_param basic realm ntlm-proxy-test"
    mkdir -p "$WORK/$name" && chmod 777 "$WORK/$name"
    cat > "$WORK/$name.conf" <<EOS
http_port 127.0.0.1:$port
auth_param $scheme program $*
auth_param $scheme children $children
$extra
acl auth proxy_auth REQUIRED
http_access allow auth
http_access deny all
cache deny all
cache_mem 0 MB
access_log ${SQUID_ACCESS_LOG:-stdio:$WORK/$name/access.log}
cache_log $WORK/$name/cache.log
cache_store_log none
pid_filename $WORK/$name/squid.pid
coredump_dir $WORK/$name
netdb_filename none
pinger_enable off
shutdown_lifetime 1 seconds
cache_effective_user proxy
EOS
}

# start_squid NAME PORT: runs Squid on $WORK/NAME.conf and waits (20 s) until it asks a
# request for a logon (407); otherwise prints why, with the tail of its logs, and fails.
start_squid() {
    local code=""
    squid -N -f "$WORK/$1.conf" >"$WORK/$1/stdout.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do
        code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
            -x "http://127.0.0.1:$2" "http://127.0.0.1:9/" || true)"
        [ "$code" = 407 ] && return 0
        sleep 0.2
    done
    echo "| squid $1 did not come up on 127.0.0.1:$2 (last code ${code:-none})"
    tail -20 "$WORK/$1/cache.log" "$WORK/$1/stdout.log" 2>/dev/null
    return 1
}

# squid_logged_user NAME: the user Squid NAME logged for its first 200, as Squid writes it
# (CORP\alice, or CORP\\alice: its log escapes the backslash).
squid_logged_user() {
    awk '$4 ~ /\/200$/ { print $8 }' "$WORK/$1/access.log" 2>/dev/null | head -1
}
