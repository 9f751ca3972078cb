#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, lints, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh --test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# pytest exits 5 when it collects no test: that fails this script like any other failure
exec .venv/bin/pytest "$@"
