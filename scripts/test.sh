#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, lints, then runs every test
# twice: on the embedded default (SQLite + SqliteHuey), then on PostgreSQL + Redis, which the
# tests start themselves on loopback (see tests/servers.py). Extra arguments go to both runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh --test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# pytest exits 5 when it collects no test: that fails this script like any other failure.
# -n: one pytest worker per core (pytest-xdist); each has its own servers and databases
.venv/bin/pytest -n auto "$@"
# the second pass leaves out what never touches the database's own behaviour: the channels'
# wire formats, the config and retry arithmetic, recipient syntax, `commlog up` (the embedded
# default itself) and the commands' argument checks
COMMLOG_TEST_BACKEND=postgres .venv/bin/pytest -n auto \
    --ignore=tests/channels --ignore=tests/test_config.py --ignore=tests/test_retry.py \
    --ignore=tests/test_recipients.py --ignore=tests/test_up.py \
    --ignore=tests/security/test_cli_garbage.py "$@"
