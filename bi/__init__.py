"""The BI side of Quanyu (docs/bi.md): the ``bi`` schema's dbt views (dbt_views.py, main venv) and
Superset's configuration, dashboards and their checks (superset_config.py, provision.py,
browser.py, assets/; run in .venv-bi). Nothing here is imported by ingest, expectations or
orchestration."""
