#!/usr/bin/env bash
# The whole suite RUNS times in a row while two CPU hogs load both cores (issue: green under
# load). Zero failures is the bar. Prints one summary line per run and a final tally; exits 1 if
# any run failed. Usage: scripts/test-stress.sh [RUNS] (default 3); PYTEST_ARGS pass through.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-3}"
PY=.venv/bin/python
LOGDIR="var/stress"
mkdir -p "$LOGDIR"

hog_pids=()
start_hogs() {
    if ! command -v stress-ng >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        # Debian's stress-ng; quiet, and without it the Python busy loops below do the same job.
        (apt-get install -y -qq stress-ng >/dev/null 2>&1 || \
            { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq stress-ng >/dev/null 2>&1; }) || true
    fi
    if command -v stress-ng >/dev/null 2>&1; then
        stress-ng --cpu 2 --quiet &
        hog_pids+=($!)
        echo "load: stress-ng --cpu 2"
    else
        for _ in 1 2; do
            python3 -c 'while True: pass' &
            hog_pids+=($!)
        done
        echo "load: two python busy loops"
    fi
}
stop_hogs() {
    for pid in "${hog_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop_hogs EXIT

start_hogs
failed_runs=0
for i in $(seq 1 "$RUNS"); do
    t0=$(date +%s)
    log="$LOGDIR/run-$i.log"
    if $PY -m pytest -q -p no:cacheprovider ${PYTEST_ARGS:-} >"$log" 2>&1; then rc=0; else rc=$?; fi
    t1=$(date +%s)
    summary=$(grep -E '^[0-9]+ (passed|failed)|^=+ .*(passed|failed)' "$log" | tail -1 | tr -d '=')
    echo "run $i/$RUNS: exit $rc, $((t1 - t0)) s:${summary}"
    if [ "$rc" != 0 ]; then
        failed_runs=$((failed_runs + 1))
        grep -E '^(FAILED|ERROR) ' "$log" || true
    fi
done
echo "stress: $RUNS runs under load on $(nproc) cores, $failed_runs failed (logs in $LOGDIR/)"
[ "$failed_runs" = 0 ]
