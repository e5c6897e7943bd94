#!/usr/bin/env bash
# Run every benchmark against the bundled emulator and write benchmarks/RESULTS.md.
#
#   bash benchmarks/run.sh
#
# Uses the repo's .venv (set up by scripts/_bootstrap.sh, as scripts/test.sh does). Takes about
# 6-7 minutes on a 2-core machine. Each benchmarks/bench_*.py also runs alone and prints its figures;
# the JSON they write to benchmarks/results/ is what report.py turns into RESULTS.md.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/_bootstrap.sh"   # cd to the repo, .venv on PATH
start=$(date +%s)
mkdir -p benchmarks/results
rm -f benchmarks/results/*.json benchmarks/results/*.jsonl benchmarks/results/*.log

# CPU-bound figures first, on a quiet machine.
python benchmarks/bench_import.py
python benchmarks/bench_calls.py

# Requests per waiting job needs ~65 s of real time but almost no CPU (one request per job per
# minute, or per 5 s): it runs in the background while the latency and scale benchmarks run.
python benchmarks/bench_requests.py > benchmarks/results/requests.log 2>&1 &
requests_pid=$!
trap 'kill "$requests_pid" 2>/dev/null || true' EXIT

python benchmarks/bench_abort.py
python benchmarks/bench_detect.py
python benchmarks/bench_scale.py
python benchmarks/bench_dataset.py   # 1,000,000 items of ~1 KB: ours vs apify-client, added peak RSS
python benchmarks/bench_logstream.py # requests while a job waits, stream_logs on vs off (~25 s, little CPU)
python benchmarks/bench_watchdog.py  # task process SIGKILL -> abort by the watchdog, its memory and start cost

wait "$requests_pid"
trap - EXIT
# The two latencies on a real Airflow stack (task process SIGKILL; node loss after the heartbeat
# timeout), each against abort_on_process_death=False in the same DAG run: the live tests write rows.
LIVE_CHAOS_RESULTS="$PWD/benchmarks/results/live_chaos.jsonl" python -m pytest tests/live/test_live_chaos.py \
  -k "sigkill or node_loss" -q -p no:cacheprovider -n 0 || echo "live benchmarks failed" >&2
cat benchmarks/results/requests.log
python benchmarks/report.py --seconds "$(( $(date +%s) - start ))"
echo "benchmarks: done in $(( $(date +%s) - start )) s"
