#!/usr/bin/env bash
# Install dataver and run the demo on a generated CV dataset (images + COCO JSON), in
# ./demo-workspace (or the directory given). Safe to re-run: --force replaces the folders an
# earlier demo made, and the demo refuses any other non-empty folder.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m dataver demo --force "${1:-demo-workspace}"
