"""Fixtures of the fault suite, and the figures it records.

A test records a figure with pytest's `record_property(name, value)`; at the end of the run the
figures of every test (this suite's and tests/worker/test_crash.py's) are printed under
"reliability figures" and written to figures.json in the session's COMMLOG_HOME, for the table
in docs/RELIABILITY.md."""

import json
import os
from pathlib import Path

import pytest

from tests.reliability.workers import WorkerGroup


@pytest.fixture
def workers(commlog_env, tmp_path):
    group = WorkerGroup(commlog_env, tmp_path)
    yield group
    group.stop_all()


def pytest_terminal_summary(terminalreporter):
    figures = [
        {"test": report.nodeid, "figure": name, "value": value}
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", ())
    ]
    if not figures:
        return
    terminalreporter.section("reliability figures")
    for f in figures:
        terminalreporter.write_line(f"{f['test']}  {f['figure']} = {f['value']}")
    path = Path(os.environ["COMMLOG_HOME"]) / "figures.json"
    path.write_text(json.dumps(figures, indent=1, default=str))
    terminalreporter.write_line(f"(written to {path})")
