# scripts/bench --threads and --tails (issue 16): their systems, runs and
# BENCHMARKS.md sections. Sourced by scripts/bench, which has defined
# start_pushgate, run_one, cell, median, cmds and the workload sizes.
#
# --threads  fanout and unicast on brokerd --threads 1 and --threads 2, in
#            alternation: brokerd's CPU per delivery (and its Redis's)
# --tails    unicast on pushgate whose Redis has PG_REDIS_SETTINGS
#            (scripts/lib/common.sh) and on one with Redis's defaults for
#            them: latency, AOF rewrites and what LATENCY LATEST recorded
# --put      /put beside bare Redis's EVAL bound (scripts/bench's runs)
# --rate N   unicast at N messages/s on Redis pub/sub, pushgate and
#            pushgate --threads 1: issue 16's bars at a rate this machine
#            sustains

# pushgate with two event loops (pushgate1, one loop, is scripts/bench's).
start_pushgate2() {
    local rc=0
    BROKER_EXTRA=(--threads 2)
    start_pushgate || rc=$?
    BROKER_EXTRA=()
    return $rc
}

# pushgate whose Redis has Redis's own defaults instead of PG_REDIS_SETTINGS
# (AOF rewrite from 64 MB, no latency monitor).
start_redisdefaults() {
    local saved=("${PG_REDIS_SETTINGS[@]}") rc=0
    PG_REDIS_SETTINGS=(--appendfsync everysec)
    start_pushgate || rc=$?
    PG_REDIS_SETTINGS=("${saved[@]}")
    return $rc
}

# redis_probe OUT: what pushgate's Redis saw during the run, before it
# stops: its AOF rewrites, and the worst event LATENCY LATEST recorded
# (0 when none; the monitor is off with Redis's defaults).
redis_probe() {
    local out=$1
    redis-cli -p "$PG_REDIS" info persistence | tr -d '\r' |
        awk -F: '$1 == "aof_rewrites" { print "figure aof_rewrites", $2 }' >>"$out"
    redis-cli -p "$PG_REDIS" latency latest >"${out%.txt}.latency" 2>&1 || true
    # what Redis ran, command by command (calls, µs), for a cost per message
    redis-cli -p "$PG_REDIS" info commandstats | tr -d '\r' >"${out%.txt}.commandstats" 2>&1 || true
    # LATENCY LATEST: event, time, latest ms, max ms (one line each)
    awk 'NR % 4 == 0 && $1 + 0 > m { m = $1 + 0 } END { print "figure latency_event_max_ms", m + 0 }' \
        "${out%.txt}.latency" >>"$out"
}

tune_runs() {
    local round wl sys
    for round in $(seq "$ROUNDS"); do
        for wl in "${WORKLOADS[@]}"; do
            for sys in "${SYSTEMS[@]}"; do
                pg_say "round $round/$ROUNDS: $wl on $sys"
                run_one "$wl" "$sys" "$round"
            done
        done
    done
}

# per_delivery: brokerd's and its Redis's CPU µs per delivery, added to
# each raw output.
per_delivery() {
    local f
    for f in "$RAW"/*.txt; do
        awk '$1 == "figure" { v[$2] = $3 }
             END { d = v["deliveries_per_broker_cpu_s"] * v["broker_cpu_s"]
                   if (d > 0) printf "figure broker_us_per_delivery %.3f\nfigure aux_us_per_delivery %.3f\n",
                                     1e6 * v["broker_cpu_s"] / d, 1e6 * v["aux_cpu_s"] / d }' "$f" >>"$f"
    done
}

# tune_row WORKLOAD FIGURE LABEL [A B]: systems A and B (the two of SYSTEMS)
# and their ratio B / A.
tune_row() {
    local a=${4:-${SYSTEMS[0]}} b=${5:-${SYSTEMS[1]}}
    echo "| $3 | $(cell "$1" "$a" "$2") | $(cell "$1" "$b" "$2") | $(ratio "$(median "$1" "$b" "$2")" "$(median "$1" "$a" "$2")") |"
}

tune_report() {
    local name what
    if [ "$THREADS" = 1 ]; then name=threads what="brokerd --threads 1 and 2"
    elif [ "$PUT" = 1 ]; then name=put what="/put against bare Redis"
    elif [ "$RATE" != 0 ]; then name=unicast-rate-$RATE what="Unicast at $RATE messages/s beside Redis pub/sub"
    else name=tails what="Redis settings for low tails"; fi
    {
        echo "<!-- $name -->"
        echo "## $what"
        echo
        echo "Written by \`$INVOCATION\` on $(date -u '+%Y-%m-%d %H:%M UTC') at commit $SOURCE_AT_START; $ROUNDS rounds, ${ELAPSED} s,"
        echo "load average before $LOAD_BEFORE, after $LOAD_AFTER ($(nproc) cores, shared with pushbench and"
        echo "other users). Every configuration runs in each round, one after the other, on fresh"
        echo "daemons. Median (min–max) over the rounds. CPU per delivery is the process's CPU"
        echo "time over the messages delivered. Redis: \`${PG_REDIS_SETTINGS[*]}\` on AOF, no RDB,"
        echo "unless the column says otherwise."
        echo
        if [ "$THREADS" = 1 ]; then
            echo "fanout: $FAN_N devices on one channel, $FAN_M messages of $SIZE bytes; unicast: $UNI_N"
            echo "devices, $UNI_RATE messages/s to random ones from $UNI_PUBS publishers, $UNI_M messages."
            echo
            echo "| figure | --threads 1 | --threads 2 | 2 / 1 |"
            echo "|---|---|---|---|"
            tune_row fanout broker_us_per_delivery "fanout: brokerd CPU µs per delivery"
            tune_row fanout aux_us_per_delivery "fanout: Redis CPU µs per delivery"
            tune_row fanout deliveries_per_s "fanout: deliveries per s"
            tune_row fanout broker_cores "fanout: brokerd cores"
            tune_row unicast broker_us_per_delivery "unicast: brokerd CPU µs per delivery"
            tune_row unicast aux_us_per_delivery "unicast: Redis CPU µs per delivery"
            tune_row unicast latency_p50_ms "unicast p50 (ms)"
            tune_row unicast latency_p99_ms "unicast p99 (ms)"
            echo
            local wl r
            for wl in fanout unicast; do
                r=$(ratio "$(median "$wl" pushgate2 broker_us_per_delivery)" "$(median "$wl" pushgate1 broker_us_per_delivery)")
                verdict "$(holds "$r" 1.1 '<=')" "$wl: two loops cost at most 10% more brokerd CPU per delivery than one: $r x."
            done
            echo
            cmds fanout "${SYSTEMS[@]}"
            cmds unicast "${SYSTEMS[@]}"
        elif [ "$RATE" != 0 ]; then
            echo "unicast: $UNI_N devices on their own channels, $UNI_RATE messages/s to random ones from"
            echo "$UNI_PUBS publishers, $UNI_M messages of $SIZE bytes; pushgate with its default loops"
            echo "(one per core) and with \`--threads 1\`. CPU per delivery: brokerd's (Redis's, for"
            echo "Redis pub/sub) and, in the Redis column, pushgate's Redis."
            echo
            echo "| figure | Redis pub/sub | pushgate | pushgate --threads 1 | pushgate / Redis |"
            echo "|---|---|---|---|---|"
            local fig
            for fig in "achieved_rate_per_s|delivered per s" "latency_p50_ms|p50 (ms)" \
                       "latency_p99_ms|p99 (ms)" "latency_max_ms|max (ms)" \
                       "broker_us_per_delivery|brokerd (Redis) CPU µs per delivery" \
                       "aux_us_per_delivery|its Redis CPU µs per delivery"; do
                echo "| ${fig#*|} | $(cell unicast redis "${fig%%|*}") | $(cell unicast pushgate "${fig%%|*}") | $(cell unicast pushgate1 "${fig%%|*}") | $(ratio "$(median unicast pushgate "${fig%%|*}")" "$(median unicast redis "${fig%%|*}")") |"
            done
            echo
            local p50 p99 r50 r99
            p50=$(median unicast pushgate latency_p50_ms) r50=$(median unicast redis latency_p50_ms)
            p99=$(median unicast pushgate latency_p99_ms) r99=$(median unicast redis latency_p99_ms)
            verdict "$(holds "$p50" "$(awk -v r="$r50" 'BEGIN { print 1.5 * r }')" '<=')" "unicast p50 <= 1.5x Redis pub/sub's at $UNI_RATE/s: $(ratio "$p50" "$r50") x."
            verdict "$(holds "$p99" "$(awk -v r="$r99" 'BEGIN { print 2 * r }')" '<=')" "unicast p99 <= 2x Redis pub/sub's at $UNI_RATE/s: $(ratio "$p99" "$r99") x."
            echo
            cmds unicast "${SYSTEMS[@]}"
        elif [ "$PUT" = 1 ]; then
            echo "/put: $PUT_N subscribed devices, $PUT_M requests of $SIZE bytes, $PUT_C in flight; the"
            echo "bound is one EVAL per request (INCR, XADD capped, PUBLISH) from redis-benchmark at"
            echo "the same concurrency, as in the full run's \"put\" section."
            echo
            echo "| figure | bare Redis EVAL | pushgate /put | pushgate / EVAL |"
            echo "|---|---|---|---|"
            tune_row put puts_per_s "accepted per s" redis-eval pushgate
            tune_row put request_p50_ms "request p50 (ms)" redis-eval pushgate
            tune_row put request_p99_ms "request p99 (ms)" redis-eval pushgate
            tune_row put broker_cores "routerd cores (pushgate) / Redis cores (EVAL)" redis-eval pushgate
            echo "| pushgate's Redis cores | - | $(cell put pushgate aux_cores) | - |"
            echo
            cmds put pushgate redis-eval
        else
            echo "unicast: $UNI_N devices, $UNI_RATE messages/s to random ones from $UNI_PUBS"
            echo "publishers, $UNI_M messages of $SIZE bytes. The left column's Redis has"
            echo "\`--appendfsync everysec\` only (an AOF rewrite once the file grew 64 MB, no latency"
            echo "monitor)."
            echo
            echo "| figure | Redis defaults | PG_REDIS_SETTINGS | right / left |"
            echo "|---|---|---|---|"
            tune_row unicast latency_p50_ms "unicast p50 (ms)"
            tune_row unicast latency_p99_ms "unicast p99 (ms)"
            tune_row unicast latency_max_ms "unicast max (ms)"
            tune_row unicast aof_rewrites "AOF rewrites during the run"
            tune_row unicast latency_event_max_ms "worst LATENCY LATEST event (ms; 0: none or off)"
            tune_row unicast aux_us_per_delivery "Redis CPU µs per delivery"
            echo
            cmds unicast "${SYSTEMS[@]}"
        fi
        [ ${#FAILED_RUNS[@]} -eq 0 ] || { echo; echo "Runs that did not complete cleanly: ${FAILED_RUNS[*]}"; }
        echo "<!-- /$name -->"
    } >"$VAR/$name.md"
    replace_section "$name" "$VAR/$name.md" "$OUT"
    pg_say "$what: figures written (${ELAPSED} s)"
    [ ${#FAILED_RUNS[@]} -eq 0 ] || { pg_say "runs that did not complete cleanly: ${FAILED_RUNS[*]}"; exit 1; }
    exit 0
}
