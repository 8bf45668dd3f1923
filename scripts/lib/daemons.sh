# Shared by scripts/bench and scripts/soak: private daemons in the
# background, stopped by pid on exit. Sourced, not run; LOG is the folder
# for their logs.

PIDS=()
stop_pid() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
stop_all() {
    local pid
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    PIDS=()
}
trap 'stop_all' EXIT
trap 'exit 130' INT TERM

# wait_until SECONDS COMMAND...: polls every 0.1 s.
wait_until() {
    local n=$(($1 * 10))
    shift
    for _ in $(seq "$n"); do
        "$@" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# start NAME COMMAND...: a daemon in the background, its log in $LOG.
# Sets LAST_PID.
start() {
    local name=$1
    shift
    "$@" >>"$LOG/$name.log" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
}

# The same settings for the Redis behind pushgate and the bare one: AOF on
# with scripts/run's settings (PG_REDIS_SETTINGS, scripts/lib/common.sh), no
# RDB snapshots.
redis_cmd() {
    local port=$1 dir=$2
    rm -rf "$dir"
    mkdir -p "$dir"
    REDIS_CMD=(redis-server --port "$port" --bind 127.0.0.1 --dir "$PWD/$dir" --appendonly yes
               "${PG_REDIS_SETTINGS[@]}" --save "" --maxclients 100000 --daemonize no)
}


# replace_section NAME REPORT FILE: the "<!-- NAME -->" ... "<!-- /NAME -->"
# block of FILE becomes REPORT's text (which has the markers), or is
# appended when FILE has none. scripts/bench carries these blocks over.
replace_section() {
    python3 - "$1" "$2" "$3" <<'PY'
import re, sys
name, report, path = sys.argv[1:4]
block = open(report).read().rstrip("\n")
text = open(path).read()
pat = re.compile(r"<!-- %s -->.*?<!-- /%s -->" % (name, name), re.S)
text = pat.sub(lambda m: block, text) if pat.search(text) else text.rstrip("\n") + "\n\n" + block + "\n"
open(path, "w").write(text)
PY
}
