#!/usr/bin/env bash
# Regenerate the committed locks (requirements.lock, requirements-test.lock) from
# pyproject.toml with `uv pip compile`, for Linux x86_64 / CPython 3.11.
#
#   bash scripts/lock.sh            # keep locked versions where pyproject still allows them
#   bash scripts/lock.sh --upgrade  # move every package to the newest allowed version
#
# Torch is locked to its CPU build (requirements/torch-cpu.txt): the PyPI torch wheel for Linux
# pulls several GB of CUDA libraries. uv finds the CPU wheel in /opt/wheels where that folder
# exists (this workplace's machines) and on PyTorch's CPU index elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v uv >/dev/null 2>&1; then
  python -m pip install --quiet "uv>=0.5"
fi

torch_source=(--extra-index-url https://download.pytorch.org/whl/cpu --index-strategy unsafe-best-match)
if [ -d /opt/wheels ]; then
  torch_source=(--find-links /opt/wheels)
fi

compile() {  # compile OUTPUT [EXTRA...]
  local output=$1; shift
  local extras=()
  for extra in "$@"; do extras+=(--extra "$extra"); done
  uv pip compile pyproject.toml "${extras[@]}" \
    --constraint requirements/torch-cpu.txt "${torch_source[@]}" \
    --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
    --no-header --annotation-style line --quiet \
    "${UV_LOCK_ARGS[@]}" --output-file "$output"
  # Neither the file's own source (find-links on one machine) nor uv's header belongs in the lock.
  sed -i '/^--find-links/d; /^--extra-index-url/d' "$output"
  { echo "# Locked with: bash scripts/lock.sh (uv pip compile, Linux x86_64, CPython 3.11)."
    echo "# Install: pip install -r $output -e .$( [ $# -gt 0 ] && echo "[$(IFS=,; echo "$*")]")"
    cat "$output"; } > "$output.tmp" && mv "$output.tmp" "$output"
}

UV_LOCK_ARGS=("$@")
compile requirements.lock
compile requirements-test.lock test
echo "wrote requirements.lock ($(grep -c '==' requirements.lock) packages)" \
     "and requirements-test.lock ($(grep -c '==' requirements-test.lock) packages)"
