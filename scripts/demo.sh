#!/usr/bin/env bash
# Sets up .venv on first use, then serves the demo feed on http://127.0.0.1:8000 (args go to `feedmix demo`).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_setup.sh
exec .venv/bin/feedmix demo "$@"
