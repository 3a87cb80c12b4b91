#!/bin/bash
# Quiet, alternated measurements at the end of session 22: base = the session's starting code
# 8f6fb4d (a worktree at /work/wt-base), new = main. Only same-minute comparisons count.
set -u
OUT=${OUT:-/tmp/s22/quiet}
mkdir -p $OUT
cd /work/main
PY=/work/venv/bin/python
filter() { grep -v "^W0000\|^I0000\|feedback\|absl::" ; }
for round in 1 2; do
  for side in base new; do
    if [ $side = base ]; then SRC=/work/wt-base; else SRC=/work/main; fi
    echo "== extract round $round $side load $(cut -d' ' -f1 /proc/loadavg)"
    (cd $SRC && PYTHONPATH=$SRC $PY benchmarks/extract.py --repeat 2 --json $OUT/extract_${side}_$round.json 2>&1 | filter | tail -7)
  done
done
for side in base new; do
  if [ $side = base ]; then SRC=/work/wt-base; else SRC=/work/main; fi
  echo "== hands $side load $(cut -d' ' -f1 /proc/loadavg)"
  (cd $SRC && PYTHONPATH=$SRC $PY benchmarks/hands.py --skip-detection --skip-roundtrip --json $OUT/hands_${side}.json 2>&1 | filter | tail -8)
done
echo "== scene (main, quality figures and tracks) load $(cut -d' ' -f1 /proc/loadavg)"
rm -rf $OUT/scene_work
$PY benchmarks/scene.py --skip-render --cameras cam01,cam03,cam04 --json $OUT/scene_new.json --work $OUT/scene_work 2>&1 | filter | sed -n '/== summary/,$p'
echo "== scene alternated builds load $(cut -d' ' -f1 /proc/loadavg)"
$PY benchmarks/scene.py --alternate /work/wt-base --rounds 3 --cameras cam01,cam03,cam04 --work $OUT/scene_work --jsonl $OUT/scene_alternated.jsonl 2>&1 | filter | sed -n '/== alternated/,$p'
echo DONE
