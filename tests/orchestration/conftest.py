"""The ``launched`` group: tests that launch runs through a Dagster daemon, as the UI does.

They take minutes (a daemon, a code server, a run worker per run, a whole build), so the default
suite skips them; ``pytest -m launched tests/orchestration`` runs them.
"""
import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "launched: launches runs through a Dagster daemon (pytest -m launched)")


def pytest_collection_modifyitems(config, items):
    if "launched" in (config.option.markexpr or "").replace("not launched", ""):
        return
    skip = pytest.mark.skip(reason="launches runs through a Dagster daemon: pytest -m launched tests/orchestration")
    for item in items:
        if "launched" in item.keywords:
            item.add_marker(skip)
