#!/usr/bin/env bash
# Times the reference lakehouse-plumber 0.9.3 (installed by ../shared/tools/oracle.sh) and
# our lhp on the same synthetic project (benches/common, written by the `synth` example), on
# this machine, and checks with pycompare.py that both produced the same meaning.
#
#   scripts/bench-vs-reference.sh [FLOWGROUPS (3000)] [RUNS (3)]
#
# Each tool runs in its own copy of the project. Per run, both tools generate from
# nothing (no output directory, no memory of an earlier run: "cold"), alternating, so that
# both meet the same file-system conditions; then each runs again with nothing changed
# ("rerun"). Reported: the median wall time and the median peak memory (max RSS, from
# /usr/bin/time or, where it is missing, from Python's resource module) of each, and the
# ratios. Our runs use the default settings (the event log hook on).
set -euo pipefail
flowgroups=${1:-3000}
runs=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
oracle="$repo/../shared/tools/oracle.sh"
pycompare="$repo/../shared/tools/pycompare.py"

echo "building lhp and the synthetic project writer (release)..." >&2
(cd "$repo" && cargo build --release --quiet --bin lhp --example synth)
ours_bin="$repo/target/release/lhp"
ref_bin=$(bash "$oracle" install)
export LHP_TELEMETRY=0 LHP_NO_UPDATE_CHECK=1 DO_NOT_TRACK=1 LHP_IGNORE_VERSION=1

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
"$repo/target/release/examples/synth" "$flowgroups" "$work/project" >&2
cp -a "$work/project" "$work/ours"
cp -a "$work/project" "$work/reference"

# Runs a command in a directory; prints "SECONDS KILOBYTES" (wall time, peak RSS).
measure() {
  local dir=$1; shift
  python3 - "$dir" "$@" <<'PY'
import os, resource, subprocess, sys, time
directory, command = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
done = subprocess.run(command, cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - start
if done.returncode != 0:
    sys.stderr.write(done.stderr.decode(errors="replace")[-4000:])
    sys.exit(f"failed: {' '.join(command)}")
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"{wall:.4f} {peak}")
PY
}

ours_cmd=("$ours_bin" generate --env dev -q)
ref_cmd=("$ref_bin" generate --env dev --no-progress --no-bundle)

declare -a ours_cold ours_cold_kb ref_cold ref_cold_kb ours_rerun ours_rerun_kb ref_rerun ref_rerun_kb
for ((run = 1; run <= runs; run++)); do
  echo "run $run of $runs..." >&2
  rm -rf "$work/ours/generated" "$work/ours/.lhp" "$work/reference/generated" "$work/reference/.lhp" "$work/reference/.lhp_state.json"
  read -r t kb < <(measure "$work/reference" "${ref_cmd[@]}"); ref_cold+=("$t"); ref_cold_kb+=("$kb")
  read -r t kb < <(measure "$work/ours" "${ours_cmd[@]}"); ours_cold+=("$t"); ours_cold_kb+=("$kb")
  read -r t kb < <(measure "$work/reference" "${ref_cmd[@]}"); ref_rerun+=("$t"); ref_rerun_kb+=("$kb")
  read -r t kb < <(measure "$work/ours" "${ours_cmd[@]}"); ours_rerun+=("$t"); ours_rerun_kb+=("$kb")
done

python3 - "$flowgroups" "$runs" \
  "${ref_cold[*]}" "${ref_cold_kb[*]}" "${ours_cold[*]}" "${ours_cold_kb[*]}" \
  "${ref_rerun[*]}" "${ref_rerun_kb[*]}" "${ours_rerun[*]}" "${ours_rerun_kb[*]}" <<'PY'
import statistics, sys
flowgroups, runs = sys.argv[1], sys.argv[2]
values = [list(map(float, a.split())) for a in sys.argv[3:]]
ref_cold, ref_cold_kb, ours_cold, ours_cold_kb, ref_rerun, ref_rerun_kb, ours_rerun, ours_rerun_kb = values
med = statistics.median
print(f"\n{flowgroups} flowgroups, median of {runs} runs (all runs: wall seconds)")
print(f"{'':8} {'reference':>22} {'lhp (Rust)':>22} {'ratio':>10}")
def row(name, ref, ours, unit, scale, fmt):
    r, o = med(ref) * scale, med(ours) * scale
    print(f"{name:8} {fmt.format(r) + ' ' + unit:>22} {fmt.format(o) + ' ' + unit:>22} {r / o:>9.1f}x")
row("cold", ref_cold, ours_cold, "s", 1, "{:.3f}")
row("rerun", ref_rerun, ours_rerun, "ms", 1000, "{:.1f}")
row("peak", ref_cold_kb, ours_cold_kb, "MB", 1 / 1024, "{:.1f}")
print(f"cold runs: reference {ref_cold}, lhp {ours_cold}")
print(f"reruns:    reference {ref_rerun}, lhp {ours_rerun}")
print(f"peak (KB): reference {ref_cold_kb}, lhp {ours_cold_kb}")
PY

echo
python3 "$pycompare" "$work/ours/generated/dev" "$work/reference/generated/dev"
