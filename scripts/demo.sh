#!/usr/bin/env bash
# Install dataver and run the demo on a generated CV dataset (images + COCO JSON), in
# ./demo-workspace (or the directory given).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m dataver demo "${1:-demo-workspace}"
