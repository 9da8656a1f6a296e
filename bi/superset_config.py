"""Apache Superset settings for Quanyu's dashboards (``make bi``; loaded through SUPERSET_CONFIG_PATH).

Runs in Superset's own virtual environment (``.venv-bi``, requirements-bi.txt): Superset pins
Flask, SQLAlchemy 1.4 and pandas 2, which Dagster, dbt and our pandas 3 do not agree with.
Everything Superset writes (its metadata database, logs) lives under ``$QUANYU_HOME/superset``,
beside the warehouse it reads, so ``make clean`` and a test's temporary home remove it too.

The warehouse itself is registered by bi/provision.py, read-only, from the dashboard
bundle in bi/assets.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from cachelib.file import FileSystemCache

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # Superset loads this file by path, not as bi.*
from ingest.settings import paths_from_env  # noqa: E402 - stdlib only, so it runs in .venv-bi too

STATE = paths_from_env().home / "superset"
STATE.mkdir(parents=True, exist_ok=True)

# Superset's own metadata (users, dashboards, charts): SQLite is enough for one team's dashboards
SQLALCHEMY_DATABASE_URI = f"sqlite:///{STATE / 'superset.db'}"
# Signs sessions and encrypts stored database passwords (the DuckDB URI has none). The default
# is a public demo key, marked as such: set SUPERSET_SECRET_KEY anywhere but a laptop.
DEMO_SECRET_KEY = "quanyu-demo-superset-key-NOT-SECRET-set-SUPERSET_SECRET_KEY"
SECRET_KEY = os.environ.get("SUPERSET_SECRET_KEY") or DEMO_SECRET_KEY

# No chart cache: every chart asks DuckDB, so a dashboard shows the latest published build as
# soon as the nightly run has renamed it into place (the demo brand's queries take milliseconds).
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
# Explore's form state and dashboard filter state need a store that survives between requests
# of the same worker; a file cache under the home keeps them without Redis.
_STATE_CACHE = {"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": str(STATE / "cache"), "CACHE_DEFAULT_TIMEOUT": 86400}
FILTER_STATE_CACHE_CONFIG = _STATE_CACHE
EXPLORE_FORM_DATA_CACHE_CONFIG = _STATE_CACHE
RESULTS_BACKEND = FileSystemCache(str(STATE / "sqllab_results"))

# A closed network: no map tiles, no thumbnails (they need a worker and a browser), no telemetry.
MAPBOX_API_KEY = ""
FEATURE_FLAGS = {"THUMBNAILS": False, "ALERT_REPORTS": False, "DASHBOARD_RBAC": False, "EMBEDDED_SUPERSET": False}
SCARF_ANALYTICS = False
# Chart and column labels are Chinese and English; the UI itself offers both.
LANGUAGES = {"en": {"flag": "us", "name": "English"}, "zh": {"flag": "cn", "name": "简体中文"}}
BABEL_DEFAULT_LOCALE = os.environ.get("QUANYU_SUPERSET_LOCALE", "en")

# The demo serves on localhost only (make bi binds 127.0.0.1:8088); Talisman's HTTPS redirect
# would break plain-HTTP access there.
TALISMAN_ENABLED = False
SUPERSET_WEBSERVER_TIMEOUT = 120
ROW_LIMIT = 10000
