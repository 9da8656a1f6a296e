"""The installation's folders as a Dagster resource, handed to every asset, check and sensor.

Unset fields come from the ``QUANYU_*`` variables when a run (or sensor tick) starts, through
``ingest.settings.paths_from_env``, the one place the environment enters; set them in the
resource config (or ``QuanyuPaths.of(paths)``) to point a job at another installation.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping

from dagster import ConfigurableResource

from ingest.settings import ENV_NAMES, Paths, paths_from_env


class QuanyuPaths(ConfigurableResource):
    """Landing folder, lake and served warehouse of one installation."""

    home: str | None = None
    landing: str | None = None
    lake: str | None = None
    warehouse: str | None = None

    @classmethod
    def of(cls, paths: Paths) -> QuanyuPaths:
        return cls(home=str(paths.home), landing=str(paths.landing), lake=str(paths.lake),
                   warehouse=str(paths.warehouse))

    @property
    def paths(self) -> Paths:
        """The folders (absolute, created if missing)."""
        chosen = {ENV_NAMES[name]: value for name in ENV_NAMES if (value := getattr(self, name))}
        return paths_from_env({**os.environ, **chosen}).ensure()


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """``values`` in this process's environment for a ``with`` block, restored after.

    For what starts a subprocess that reads its configuration from the environment (dbt, as
    dagster-dbt runs it), never at import time.
    """
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
