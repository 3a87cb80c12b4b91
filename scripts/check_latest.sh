#!/usr/bin/env bash
# Drift check: install the NEWEST versions pyproject.toml allows (not the lock) into a fresh
# virtual environment, show where they differ from requirements-test.lock, and run the suite.
# Run it before bumping the lock (bash scripts/lock.sh --upgrade) and now and then, so a new
# release that breaks us is found here before a user finds it.
#
#   bash scripts/check_latest.sh              # resolve, install, diff, run the whole suite
#   bash scripts/check_latest.sh --no-tests   # resolve, install and diff only
#   bash scripts/check_latest.sh -- -x tests/test_hub_push.py   # pytest arguments after --
set -euo pipefail
cd "$(dirname "$0")/.."

run_tests=1
pytest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-tests) run_tests=0 ;;
    --) shift; pytest_args=("$@"); break ;;
    *) echo "unknown option $1 (use --no-tests, or -- PYTEST_ARGS)" >&2; exit 2 ;;
  esac
  shift
done

workdir="$(mktemp -d -t random-people-latest.XXXXXX)"
trap 'rm -rf "$workdir"' EXIT
python3 -m venv "$workdir/venv"
# shellcheck disable=SC1091
source "$workdir/venv/bin/activate"

# Torch stays the CPU build on purpose (the default PyPI wheel pulls GBs of CUDA); everything
# else resolves afresh, newest first, within pyproject.toml's bounds (the constraint keeps an
# eager upgrade from swapping torch for the CUDA build).
pip install --quiet -c requirements/torch-cpu.txt --upgrade --upgrade-strategy eager -e ".[test]"

echo "== newest allowed versions that differ from requirements-test.lock =="
pip freeze --exclude-editable | sed 's/ @ .*//' | sort > "$workdir/latest.txt"
grep -E '^[A-Za-z0-9_.-]+==' requirements-test.lock | sed 's/ *#.*//' | sort > "$workdir/locked.txt"
python - "$workdir/locked.txt" "$workdir/latest.txt" <<'PY'
import re, sys
def read(path):
    pins = {}
    for line in open(path):
        if "==" in line:
            name, version = line.strip().split("==", 1)
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins
locked, latest = read(sys.argv[1]), read(sys.argv[2])
for tool in ("pip", "setuptools", "wheel"):  # pip freeze never lists the installer's own tools
    locked.pop(tool, None), latest.pop(tool, None)
changed = [(n, locked.get(n, "-"), latest.get(n, "-")) for n in sorted(set(locked) | set(latest))
           if locked.get(n) != latest.get(n)]
for name, old, new in changed:
    print(f"  {name:28s} lock {old:14s} latest {new}")
print(f"  ({len(changed)} differ)" if changed else "  none: the lock is the newest allowed resolution")
PY

if [ "$run_tests" = 1 ]; then
  echo "== the suite on the newest versions =="
  random-people setup --quiet
  python -m pytest "${pytest_args[@]}"
fi
