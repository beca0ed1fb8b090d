#!/usr/bin/env bash
# Generates a project with the reference lakehouse-plumber 0.9.3 (bundle on, through
# ../shared/tools/oracle.sh) and with ours, each in a copy of the project, and compares:
# the generated code by meaning (pycompare.py), and what is written around it (bundle
# resources, monitoring job, union notebook settings) with compare-resources.py.
#
#   scripts/compare-around.sh PROJECT ENV LHP_BIN [GENERATE ARGS...]
#
# Exit status 0 when both comparisons find everything equal.
set -euo pipefail
project=${1:?project}; env=${2:?env}; bin=${3:?lhp binary}; shift 3
here=$(cd "$(dirname "$0")" && pwd)
oracle="$here/../../shared/tools/oracle.sh"
lhp_ref=$(bash "$oracle" install)
python="$(dirname "$lhp_ref")/python"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
for side in ours reference; do
  cp -a "$project/." "$work/$side/"
  rm -rf "$work/$side/generated" "$work/$side/.lhp" "$work/$side/monitoring" "$work/$side/resources/lhp"
done
(cd "$work/reference" && LHP_TELEMETRY=0 LHP_NO_UPDATE_CHECK=1 LHP_IGNORE_VERSION=${LHP_IGNORE_VERSION:-1} \
  "$lhp_ref" generate --env "$env" --no-progress "$@" >"$work/reference.log" 2>&1) || {
  echo "the reference failed; its output:" >&2; tail -40 "$work/reference.log" >&2; exit 1; }
(cd "$work/ours" && "$bin" generate --env "$env" --no-hooks "$@")
status=0
python3 "$here/../../shared/tools/pycompare.py" "$work/ours/generated/$env" "$work/reference/generated/$env" || status=1
"$python" "$here/compare-resources.py" "$work/ours" "$work/reference" || status=1
exit $status
