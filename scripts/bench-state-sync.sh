#!/usr/bin/env bash
# bench-state-sync.sh: the figures of docs/BENCHMARKS.md's "State sync at
# scale" section. Every case runs rcc-load with the executor in a process
# of its own (--self --separate), full states and deltas side by side:
# the cases alternate within each of RUNS rounds, and the summary gives
# the median of the rounds. The load runs at normal priority; only the
# build is niced.
#
#   scripts/bench-state-sync.sh                 # every case, 3 rounds
#   CASES="arena16-full60 arena16-delta60" RUNS=5 scripts/bench-state-sync.sh
#   EXECUTOR_CPUS=1 LOAD_CPUS=0 scripts/bench-state-sync.sh   # pinned
#   EXTRA=--executor-syscalls scripts/bench-state-sync.sh     # more flags
#   CASES="rec256-delta60 rec256-delta60+uring" scripts/bench-state-sync.sh
#                      # a case+uring is the case with --io-uring
#
# OUT (default a new temporary directory) keeps each run's JSON report
# (CASE.ROUND.json) and the machine's load before each run (uptime.log).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
runs=${RUNS:-3}
out=${OUT:-$(mktemp -d -t rcc-state-sync.XXXXXX)}
mkdir -p "$out"
bin=$out/rcc-load
nice -n 19 go build -o "$bin" ./cmd/rcc-load
arena=${ARENA:-$root/build/games/arena.wasm}
rec=$root/pkg/wasmhost/testdata/recorder.wasm
pin=()
[ -n "${EXECUTOR_CPUS:-}" ] && pin=(--executor-cpus "$EXECUTOR_CPUS")
load=()
[ -n "${LOAD_CPUS:-}" ] && load=(taskset -c "$LOAD_CPUS")

# The cases: name, then rcc-load's flags.
declare -A flags=(
  [arena16-full60]="--module $arena --players 16 --snapshot-hz 60 --full-states"
  [arena16-delta60]="--module $arena --players 16 --snapshot-hz 60 --check"
  [arena16-fulldefault]="--module $arena --players 16 --full-states"
  [arena16-deltadefault]="--module $arena --players 16 --check"
  [arena256-full60]="--module $arena --players 256 --snapshot-hz 60 --full-states"
  [arena256-delta60]="--module $arena --players 256 --snapshot-hz 60"
  [rec256-full60]="--module $rec --players 256 --snapshot-hz 60 --full-states"
  [rec256-delta60]="--module $rec --players 256 --snapshot-hz 60"
  [rec1000-full60]="--module $rec --players 1000 --snapshot-hz 60 --full-states"
  [rec1000-delta60]="--module $rec --players 1000 --snapshot-hz 60"
  [rec2000-delta60]="--module $rec --players 2000 --snapshot-hz 60 --per-instance 50"
  [rec5000-full20]="--module $rec --players 5000 --snapshot-hz 20 --per-instance 50 --full-states"
  [rec5000-delta20]="--module $rec --players 5000 --snapshot-hz 20 --per-instance 50"
)
order=(arena16-full60 arena16-delta60 arena16-fulldefault arena16-deltadefault
  arena256-full60 arena256-delta60 rec256-full60 rec256-delta60
  rec1000-full60 rec1000-delta60 rec2000-delta60 rec5000-full20 rec5000-delta20)
read -r -a cases <<<"${CASES:-${order[*]}}"
duration=${DURATION:-5s}

for round in $(seq "$runs"); do
  for c in "${cases[@]}"; do
    base=${c%+uring} more=
    [ "$base" != "$c" ] && more=--io-uring
    [ -n "${flags[$base]:-}" ] || { echo "bench-state-sync: no case $c" >&2; exit 2; }
    echo "$(date -u +%T) round $round $c: $(uptime)" | tee -a "$out/uptime.log" >&2
    # shellcheck disable=SC2086 # the flags are words
    "${load[@]}" "$bin" --self --separate "${pin[@]}" ${flags[$base]} $more ${EXTRA:-} --duration "$duration" \
      --output json >"$out/$c.$round.json" 2>"$out/$c.$round.err" ||
      echo "bench-state-sync: $c round $round failed (see $out/$c.$round.err)" >&2
  done
done

python3 - "$out" "${cases[@]}" <<'EOF'
import json, statistics, sys, glob
out, cases = sys.argv[1], sys.argv[2:]
cols = [
    ("conn", lambda r: r["connected"]),
    ("st/s/pl", lambda r: r["states_received"] / r["seconds"] / max(r["connected"], 1)),
    ("st/s", lambda r: r["states_received"] / r["seconds"]),
    ("B/state", lambda r: r["bytes_received"] / max(r["states_received"], 1)),
    ("B/s/pl", lambda r: r["bytes_per_player_per_second"]),
    ("exec us/st", lambda r: r.get("executor_cpu_us_per_state", 0)),
    ("load us/st", lambda r: r["cpu_us_per_state"]),
    ("exec cores", lambda r: r.get("executor_cpu_seconds", 0) / r["seconds"]),
    ("KiB/pl", lambda r: r.get("executor_rss_per_player_bytes", 0) / 1024),
    ("RSS MiB", lambda r: r.get("executor_rss_bytes", 0) / 2**20),
    ("p50 ms", lambda r: r["input_to_broadcast_ms"]["p50"]),
    ("p99 ms", lambda r: r["input_to_broadcast_ms"]["p99"]),
    ("tick p99", lambda r: (r.get("server") or {}).get("tick_p99_ms", 0)),
    ("overruns", lambda r: (r.get("server") or {}).get("tick_overruns", 0)),
    ("dropped", lambda r: (r.get("server") or {}).get("state_frames_dropped", 0)),
    ("mismatch", lambda r: (r.get("check") or {}).get("mismatches", 0)),
]
print("medians of %s rounds (%s)" % (len(glob.glob(f"{out}/{cases[0]}.*.json")), out))
print("| case | " + " | ".join(c for c, _ in cols) + " |")
print("|---" * (len(cols) + 1) + "|")
for c in cases:
    reps = []
    for f in sorted(glob.glob(f"{out}/{c}.*.json")):
        try:
            reps.append(json.load(open(f)))
        except (ValueError, OSError):
            pass
    if not reps:
        print(f"| {c} | (no run) |")
        continue
    vals = [statistics.median(fn(r) for r in reps) for _, fn in cols]
    print(f"| {c} | " + " | ".join(f"{v:,.1f}" if v < 100 else f"{v:,.0f}" for v in vals) + " |")
EOF
