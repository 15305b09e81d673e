#!/usr/bin/env bash
# Sets up .venv on first use, then runs lint, type checks and the whole test suite (args go to pytest).
# Tests that need Redis (127.0.0.1:6379) or PostgreSQL (127.0.0.1:5432) skip locally when the server is
# missing, and fail when CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."
FEEDMIX_EXTRAS="${FEEDMIX_EXTRAS:-dev,teacher,ray}" . scripts/_setup.sh
. scripts/_promtool.sh
. scripts/_chromium.sh
. scripts/_memcached.sh
. scripts/_haproxy.sh
echo "== ruff" && .venv/bin/ruff check src tests scripts && .venv/bin/ruff format --check src tests scripts
echo "== mypy" && .venv/bin/mypy
echo "== pytest" && .venv/bin/pytest -q "$@"
