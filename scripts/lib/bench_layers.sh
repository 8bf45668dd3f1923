# scripts/bench --layers: TLS and deflate (SPEC 2.8) beside clear, on the
# same brokerd (started with a certificate for every column): idle memory
# per connection and fanout. Sourced by scripts/bench, whose functions it
# uses; writes the "layers" section of $OUT.

LAYERS_IDLE=(clear tls tlsdeflate)
LAYERS_FAN=(clear tls deflate)

layers_runs() {
    # Fewer idle connections than the main run, and more time to set them
    # up: each costs a handshake.
    [ "$QUICK" = 1 ] || { IDLE_N=${PG_BENCH_LAYERS_IDLE:-5000}; TIMEOUT=60; }
    local round sys
    for round in $(seq "$ROUNDS"); do
        for sys in "${LAYERS_IDLE[@]}"; do
            pg_say "round $round/$ROUNDS: idle, $sys"
            run_one idle "$sys" "$round"
        done
        for sys in "${LAYERS_FAN[@]}"; do
            pg_say "round $round/$ROUNDS: fanout, $sys"
            run_one fanout "$sys" "$round"
        done
    done
}

# layers_table WORKLOAD "SYSTEM..." "figure|label"...
layers_table() {
    local wl=$1 systems=($2) spec sys line
    shift 2
    line="| figure |"
    for sys in "${systems[@]}"; do line+=" $(layers_name "$sys") |"; done
    echo "$line"
    echo "|---|$(printf -- '---|%.0s' "${systems[@]}")"
    for spec in "$@"; do
        line="| ${spec#*|} |"
        for sys in "${systems[@]}"; do line+=" $(cell "$wl" "$sys" "${spec%%|*}") |"; done
        echo "$line"
    done
}
layers_name() {
    case $1 in clear) echo clear ;; tls) echo TLS ;; deflate) echo "deflate 6" ;; tlsdeflate) echo "TLS + deflate 6" ;; esac
}

layers_report() {
    local idle_c idle_t idle_td fan_c fan_t fan_d rate_c rate_t report=$VAR/layers.md
    idle_c=$(median idle clear broker_bytes_per_conn) idle_t=$(median idle tls broker_bytes_per_conn)
    idle_td=$(median idle tlsdeflate broker_bytes_per_conn)
    fan_c=$(median fanout clear deliveries_per_broker_cpu_s) fan_t=$(median fanout tls deliveries_per_broker_cpu_s)
    fan_d=$(median fanout deflate deliveries_per_broker_cpu_s)
    rate_c=$(median fanout clear deliveries_per_s) rate_t=$(median fanout tls deliveries_per_s)
    {
        echo "<!-- layers -->"
        echo "## TLS and deflate (SPEC 2.8) beside clear"
        echo
        echo "Written by \`$INVOCATION\` (issue 14) on $(date -u '+%Y-%m-%d %H:%M UTC') at $SOURCE_AT_START; $ROUNDS rounds, ${ELAPSED} s,"
        echo "the configurations in alternation within each round. Every column runs on the"
        echo "same brokerd, started with a certificate (ECDSA P-256, made for the run);"
        echo "the devices (pushbench \`--tls yes\`, \`--deflate 6\`) ask for TLS or deflate in IDENTIFY or not."
        echo "Each cell is the median over the rounds, with the minimum–maximum in brackets."
        echo "Load average before: $LOAD_BEFORE; after: $LOAD_AFTER."
        echo
        echo "### idle: $IDLE_N connections, each identified and subscribed to its own channel"
        echo
        echo "brokerd's VmRSS growth over the connections, as in the idle section above."
        echo
        layers_table idle "${LAYERS_IDLE[*]}" "conns_ready|connections ready" \
            "connect_per_s|connections set up per s" \
            "broker_bytes_per_conn|brokerd RSS bytes per connection" \
            "tcp_mem_bytes_per_conn|kernel TCP buffer bytes per connection"
        echo
        echo "### fanout: $FAN_N subscribers on one channel, $FAN_M messages of $SIZE bytes"
        echo
        layers_table fanout "${LAYERS_FAN[*]}" "deliveries|deliveries" \
            "deliveries_per_s|deliveries per s" \
            "deliveries_per_broker_cpu_s|deliveries per brokerd CPU-second" \
            "broker_cores|brokerd cores" "bench_cores|pushbench cores" \
            "latency_p50_ms|latency p50 (ms)" "latency_p99_ms|latency p99 (ms)" \
            "missing|deliveries missing"
        echo
        echo "- TLS / clear: $(ratio "$fan_t" "$fan_c") of the deliveries per brokerd CPU-second, $(ratio "$rate_t" "$rate_c") of the deliveries per s; deflate / clear: $(ratio "$fan_d" "$fan_c") per CPU-second."
        echo "- TLS + deflate idle costs $(fmt "$(awk -v a="$idle_td" -v b="$idle_c" 'BEGIN { print a - b }')") bytes more than clear per connection; TLS alone $(fmt "$(awk -v a="$idle_t" -v b="$idle_c" 'BEGIN { print a - b }')")."
        echo
        cmds idle "${LAYERS_IDLE[@]}"
        cmds fanout "${LAYERS_FAN[@]}"
        echo
        echo "### Bars (issue 14)"
        echo
        verdict "$(holds "$(awk -v a="$idle_t" -v b="$idle_c" 'BEGIN { print a - b }')" 8192 '<=')" "an idle TLS connection costs at most 8 KiB of brokerd memory more than a clear one: $(fmt "$idle_t") bytes against $(fmt "$idle_c") in clear."
        verdict "$(holds "$fan_t" "$(awk -v c="$fan_c" 'BEGIN { print 0.5 * c }')" '>=')" "TLS fanout >= 0.5x clear, in deliveries per brokerd CPU-second: $(fmt "$fan_t") vs $(fmt "$fan_c")."
        echo "<!-- /layers -->"
    } >"$report"
    [ -f "$OUT" ] || : >"$OUT"
    replace_section layers "$report" "$OUT"
    pg_say "wrote the layers section of $OUT (${ELAPSED} s)"
    [ ${#FAILED_RUNS[@]} -eq 0 ] || pg_say "runs that did not complete cleanly: ${FAILED_RUNS[*]}"
}
