#!/usr/bin/env bash
# Install everything the tests need, then run the whole suite (servers are started by fixtures).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export DATAVER_DVC="$PWD/.venv-dvc/bin/dvc"
exec .venv/bin/python -m pytest -n 2 -p no:cacheprovider "$@" tests
