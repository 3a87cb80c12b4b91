#!/bin/bash
# alternated quiet measurements: base 5b87019 (/work/wt-base) vs final (/work/main)
cd /work/main
PY=/work/venv/bin/python
for round in 1 2; do
  for side in base new; do
    if [ $side = base ]; then SRC=/work/wt-base; else SRC=/work/main; fi
    echo "== extract round $round $side load $(cut -d' ' -f1 /proc/loadavg)"
    (cd $SRC && PYTHONPATH=$SRC $PY benchmarks/extract.py --repeat 3 --json /tmp/quiet/extract_${side}_$round.json 2>&1 | grep -v "^W0000\|^I0000\|feedback" | tail -12)
  done
done
for round in 1 2; do
  for side in base new; do
    if [ $side = base ]; then SRC=/work/wt-base; else SRC=/work/main; fi
    echo "== scene round $round $side load $(cut -d' ' -f1 /proc/loadavg)"
    rm -rf /tmp/quiet/scene_work_${side}_$round
    (cd $SRC && PYTHONPATH=$SRC $PY benchmarks/scene.py --skip-render --cameras cam01,cam04 --json /tmp/quiet/scene_${side}_$round.json --work /tmp/quiet/scene_work_${side}_$round 2>&1 | grep -v "^W0000\|^I0000\|feedback" | tail -25)
  done
done
for side in base new; do
  if [ $side = base ]; then SRC=/work/wt-base; else SRC=/work/main; fi
  echo "== hands $side load $(cut -d' ' -f1 /proc/loadavg)"
  (cd $SRC && PYTHONPATH=$SRC $PY benchmarks/hands.py --skip-detection --skip-roundtrip --json /tmp/quiet/hands_${side}.json 2>&1 | grep -v "^W0000\|^I0000\|feedback" | tail -12)
done
echo DONE
