#!/bin/bash
# Extraction speed of this checkout against a baseline checkout, alternated run by run in the same
# minutes (the host's speed changes ~1.4x between days and with other load, so only same-minute
# comparisons count): benchmarks/extract.py twice per side, then benchmarks/hands.py once per side.
#   bash scripts/alternate_speed.sh BASE_CHECKOUT OUT_DIR        (e.g. a `git worktree add` of the base)
set -u
BASE=${1:?usage: alternate_speed.sh BASE_CHECKOUT OUT_DIR}
OUT=${2:?usage: alternate_speed.sh BASE_CHECKOUT OUT_DIR}
NEW=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
quiet() { grep -v "^W0000\|^I0000\|feedback\|absl::" ; }
source_of() { if [ "$1" = base ]; then echo "$BASE"; else echo "$NEW"; fi; }
for round in 1 2; do
  for side in base new; do
    SRC=$(source_of $side)
    echo "== extract round $round $side load $(cut -d' ' -f1 /proc/loadavg)"
    (cd "$SRC" && PYTHONPATH="$SRC" $PY benchmarks/extract.py --repeat 2 --json "$OUT/extract_${side}_$round.json" 2>&1 | quiet | tail -7)
  done
done
for side in base new; do
  SRC=$(source_of $side)
  echo "== hands $side load $(cut -d' ' -f1 /proc/loadavg)"
  (cd "$SRC" && PYTHONPATH="$SRC" $PY benchmarks/hands.py --skip-detection --skip-roundtrip --json "$OUT/hands_${side}.json" 2>&1 | quiet | tail -8)
done
