"""Fixtures of the fault suite, and the figures it records.

A test records a figure with pytest's `record_property(name, value)`; tests/conftest.py prints
them at the end of the run."""

import pytest

from tests.reliability.workers import WorkerGroup


@pytest.fixture
def workers(commlog_env, tmp_path):
    group = WorkerGroup(commlog_env, tmp_path)
    yield group
    group.stop_all()
