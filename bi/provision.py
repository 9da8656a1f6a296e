"""Provision Superset with Quanyu's dashboards: the warehouse connection, the datasets over the
``bi`` schema, the charts and the six dashboards of bi/assets, imported idempotently.

    .venv-bi/bin/python -m bi.provision --warehouse var/warehouse/quanyu.duckdb

Runs in Superset's environment (.venv-bi) with SUPERSET_CONFIG_PATH=bi/superset_config.py, after
``superset db upgrade`` and ``superset init`` (``make bi`` does all of it).

1. Read bi/assets, a Superset export bundle kept as YAML in the repo (metadata.yaml, databases/,
   datasets/, charts/, dashboards/), and point its one database at the served file, read-only
   (``duckdb:////abs/path?access_mode=read_only``): the path is the machine's, not the repo's.
2. Import it with Superset's own importer, overwriting by UUID: running it again changes nothing,
   and a dashboard edited in the repo replaces the one in Superset.
3. Refresh every imported dataset from the database, so its columns are the view's and each
   column's description is the dbt description the build wrote into the file (COMMENT ON COLUMN).

To change a dashboard, edit it in Superset, export it (Dashboards -> select -> Export) and unzip
the export over bi/assets (keep databases/quanyu_warehouse.yaml's placeholder URI).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml

from ingest.settings import paths_from_env

ASSETS = Path(__file__).resolve().parent / "assets"
DATABASE_NAME = "Quanyu warehouse"
URI_PLACEHOLDER = "duckdb:///QUANYU_WAREHOUSE"


class ProvisionError(RuntimeError):
    """The bundle or the warehouse is not what provisioning needs; the message says which file and why."""


def warehouse_uri(warehouse: Path) -> str:
    """Read-only, absolute: a Superset query must never take DuckDB's write lock on the served file."""
    return f"duckdb:///{warehouse.resolve()}?access_mode=read_only"


def bundle_contents(assets: Path, warehouse: Path) -> dict[str, str]:
    """The import bundle as Superset's importer takes it: path in the bundle -> YAML text."""
    contents = {}
    for path in sorted(assets.rglob("*.yaml")):
        name = path.relative_to(assets).as_posix()
        text = path.read_text(encoding="utf-8")
        if name.startswith("databases/"):
            config = yaml.safe_load(text)
            if config.get("sqlalchemy_uri") != URI_PLACEHOLDER:
                raise ProvisionError(f"{path}: sqlalchemy_uri is {config.get('sqlalchemy_uri')!r}, expected the "
                                     f"placeholder {URI_PLACEHOLDER!r} (the served file is set at provisioning)")
            config["sqlalchemy_uri"] = warehouse_uri(warehouse)
            text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
        contents[name] = text
    if "metadata.yaml" not in contents:
        raise ProvisionError(f"{assets}: no metadata.yaml; expected a Superset dashboard export bundle")
    return contents


def with_metadata_type(contents: dict[str, str], kind: str) -> dict[str, str]:
    """The bundle as an export of ``kind`` (each importer checks metadata.yaml's type against its model)."""
    metadata = yaml.safe_load(contents["metadata.yaml"])
    return {**contents, "metadata.yaml": yaml.safe_dump({**metadata, "type": kind})}


def provision(warehouse: Path, assets: Path = ASSETS, username: str = "admin",
              password: str = "admin") -> dict[str, int]:
    """Import the bundle into the Superset of SUPERSET_CONFIG_PATH (creating ``username`` with ``password``
    when Superset has no such user yet); returns counts of what it then holds."""
    if not warehouse.exists():
        raise ProvisionError(f"{warehouse}: no published warehouse; run `make demo` (or the build_all job) first")
    from flask import g
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from superset import db, security_manager
        from superset.commands.chart.importers.dispatcher import ImportChartsCommand
        from superset.commands.dashboard.importers.dispatcher import ImportDashboardsCommand
        from superset.commands.dataset.importers.dispatcher import ImportDatasetsCommand
        from superset.commands.exceptions import CommandException, CommandInvalidError
        from superset.connectors.sqla.models import SqlaTable
        from superset.models.dashboard import Dashboard
        from superset.models.slice import Slice

        user = security_manager.find_user(username=username)
        if user is None:  # the first provisioning of this home: the owner of what is imported, an Admin
            user = security_manager.add_user(username, "Quanyu", "Admin", f"{username}@localhost",
                                             security_manager.find_role("Admin"), password=password)
            if not user:
                raise ProvisionError(f"Superset could not create the user {username!r}; has `superset init` run?")
        g.user = user
        contents = bundle_contents(assets, warehouse)
        # Superset's dashboard import overwrites dashboards only, keeping an existing dataset or
        # chart as it is; datasets and charts are imported first, each by its own command, so an
        # edited chart in the repo replaces the one in Superset too.
        for command, kind in ((ImportDatasetsCommand, "SqlaTable"), (ImportChartsCommand, "Slice"),
                              (ImportDashboardsCommand, "Dashboard")):
            try:
                command(with_metadata_type(contents, kind), overwrite=True).run()
            except CommandInvalidError as exc:  # a YAML file the importer's schema refuses: name the files
                raise ProvisionError(f"{assets}: Superset refused the bundle ({kind} import): "
                                     f"{exc.normalized_messages()}") from exc
            except CommandException as exc:  # e.g. a chart whose dataset is missing; Superset hides the cause
                raise ProvisionError(f"{assets}: the {kind} import failed: {exc.__cause__ or exc}") from exc
        datasets = db.session.query(SqlaTable).filter(SqlaTable.schema == "bi").all()
        for dataset in datasets:
            dataset.fetch_metadata()
        db.session.commit()
        return {"dashboards": db.session.query(Dashboard).count(), "charts": db.session.query(Slice).count(),
                "datasets": len(datasets)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = str(paths_from_env().warehouse)  # stdlib only: the same settings module runs in .venv-bi
    parser.add_argument("--warehouse", default=default, help=f"the served DuckDB file (default {default})")
    parser.add_argument("--assets", default=str(ASSETS), help="the dashboard bundle (default bi/assets)")
    parser.add_argument("--username", default=os.environ.get("QUANYU_SUPERSET_USER", "admin"),
                        help="Superset admin owning the imported objects (created when missing)")
    parser.add_argument("--password", default=os.environ.get("QUANYU_SUPERSET_PASSWORD", "admin"),
                        help="its password when it is created (default: the demo's 'admin'; set it when shared)")
    args = parser.parse_args(argv)
    try:
        counts = provision(Path(args.warehouse), Path(args.assets), args.username, args.password)
    except ProvisionError as exc:
        print(f"bi provision: {exc}", file=sys.stderr)
        return 2
    print(f"Superset provisioned from {args.assets}: {counts['dashboards']} dashboards, {counts['charts']} charts, "
          f"{counts['datasets']} datasets over {Path(args.warehouse).resolve()} (read-only)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
