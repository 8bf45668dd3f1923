# Shared by scripts/run, scripts/test and scripts/bench: dependencies and the build.
# Sourced, not run.

# Debian packages the build, the tests and scripts/run need.
PG_PACKAGES="gcc make autoconf automake pkg-config libevent-dev libjansson-dev
libhiredis-dev libcriterion-dev redis-server python3 netcat-openbsd curl mosquitto
clang libclang-rt-14-dev lua5.1 libssl-dev zlib1g-dev openssl libwslay-dev
libhttp-parser-dev python3-websockets redis-sentinel"

pg_say() { printf '==> %s\n' "$*" >&2; }

# The Redis settings behind pushgate for low tails (docs/DEPLOY.md, "Redis
# settings"), on top of AOF on and RDB off: what scripts/run and
# scripts/bench start. fsync once a second; no AOF rewrite before the file
# grew by 1 GB (the default 64 MB starts one in every 200,000-message run,
# and its fork doubles the tail); every event of 10 ms or more recorded
# for LATENCY LATEST / DOCTOR; an expired key (a sender's dedup window)
# freed in Redis's background thread, not in its loop.
PG_REDIS_SETTINGS=(--appendfsync everysec --auto-aof-rewrite-min-size 1gb
                   --latency-monitor-threshold 10 --lazyfree-lazy-expire yes)

# Installs whatever of PG_PACKAGES is missing (needs root, as on CI).
pg_install_deps() {
    local missing=()
    for p in $PG_PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    pg_say "installing: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    # Debian's redis-server package starts a system Redis on 6379; ours are private.
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# pg_build DIR [configure flags...]: an out-of-tree build with warnings as errors.
pg_build() {
    local dir=$1
    shift
    [ -x ./configure ] && [ ./configure -nt configure.ac ] && [ Makefile.in -nt Makefile.am ] \
        || ./autogen.sh >/dev/null 2>&1
    mkdir -p "$dir"
    if [ ! -f "$dir/config.status" ] || [ "$(cat "$dir/.pg-flags" 2>/dev/null)" != "$*" ]; then
        pg_say "configuring $dir ($*)"
        (cd "$dir" && ../configure --enable-werror "$@" >/dev/null)
        echo "$*" >"$dir/.pg-flags"
    fi
    pg_say "building $dir"
    make -C "$dir" -j"$(nproc)" >/dev/null
}

# Debian's Python, whose packages (python3-websockets) PG_PACKAGES installs,
# whatever python3 comes first in PATH.
PG_PYTHON=${PG_PYTHON:-/usr/bin/python3}
