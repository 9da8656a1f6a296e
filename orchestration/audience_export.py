"""Audience exports after publication: the reverse-ETL hand-off of marts.mart_audience_members.

The audiences are SQL over the published warehouse (dbt_project/models/marts/audiences, defined
by the seeds audiences and audience_conditions). ``warehouse/audience_exports`` runs after
``warehouse/published`` and writes, for each audience, the files the outreach tools take:

* ``<audience>/wecom/<guide userid>.csv``: the members that guide reaches 1v1 or by 群发
  (one_id, wecom_external_userid, employee number, store), one file per owner guide;
* ``<audience>/sms.csv``: one_id and the HMAC mobile hash (the SMS or ads upload maps it back
  through the key holder; the warehouse has no number);
* ``<audience>/oa.csv``: one_id and unionid of members who follow the official account;
* ``manifest.json``: per audience its version, members, and the rows of every file.

under ``<home>/exports/audiences/<build id>/``. The mart already leaves out opted-out members
and erased persons; the folders of earlier builds are removed once the new one is complete, so an
export never outlives the build that dropped a member (erasure, opt-out). A failed export is
logged and recorded in the asset's metadata, never raised: the build is already published.
It is in the writer pool like every step of a build (it reads the served file beside them).
"""
import csv
import re
import shutil
from pathlib import Path
from typing import Any

import duckdb
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from ingest.atomic import write_json
from ingest.settings import Paths
from orchestration.publish import read_build_info
from orchestration.resources import WRITER_POOL, QuanyuPaths

AUDIENCE_TABLE = "marts.mart_audience_members"
EXPORTS = AssetKey(["warehouse", "audience_exports"])
MANIFEST = "manifest.json"
CHANNEL_COLUMNS = {
    "wecom": ["one_id", "wecom_external_userid", "owner_guide_userid", "owner_guide_employee_no", "home_store_code"],
    "sms": ["one_id", "mobile_hash"],
    "oa": ["one_id", "unionid"],
}
CHANNEL_FLAG = {"wecom": "is_wecom_reachable", "sms": "is_sms_reachable", "oa": "is_oa_reachable"}
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def exports_root(paths: Paths) -> Path:
    return paths.home / "exports" / "audiences"


def safe_name(value: str) -> str:
    """A guide userid as a file name: WeCom userids are letters, digits, '_', '-', '.', '@'; any
    other character becomes '_' so no userid can climb out of the folder."""
    name = _UNSAFE.sub("_", value).lstrip(".")
    return name or "_"


def _write_csv(path: Path, columns: list[str], rows: list[tuple]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)


def _audience_rows(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """audience_id -> its version, name and member rows (as dicts), ordered for stable files."""
    cursor = con.execute(f"select * from {AUDIENCE_TABLE} order by audience_id, owner_guide_userid, one_id")
    names = [d[0] for d in cursor.description]
    audiences: dict[str, dict[str, Any]] = {}
    for row in cursor.fetchall():
        member = dict(zip(names, row))
        entry = audiences.setdefault(member["audience_id"], {"version": member["audience_version"],
                                                             "name": member["audience_name"], "members": []})
        entry["members"].append(member)
    return audiences


def _defined_audiences(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """Every defined audience (seed audiences), so one without members still gets a manifest row."""
    rows = con.execute("select audience_id, audience_version, audience_name from seeds.audiences "
                       "order by audience_id").fetchall()
    return {a: {"version": v, "name": n, "members": []} for a, v, n in rows}


def export_audiences(paths: Paths) -> dict[str, Any]:
    """Write the published build's audiences per channel and guide; return the manifest."""
    info = read_build_info(paths.warehouse) or {}
    build_id = str(info.get("build_id") or "unpublished")
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        audiences = {**_defined_audiences(con), **_audience_rows(con)}
    root = exports_root(paths)
    folder = root / build_id
    temp = root / f".{build_id}.writing"
    shutil.rmtree(temp, ignore_errors=True)
    manifest: dict[str, Any] = {"build_id": build_id, "source": AUDIENCE_TABLE, "audiences": {}}
    for audience_id, entry in sorted(audiences.items()):
        members = entry["members"]
        files: dict[str, int] = {}
        for channel, columns in CHANNEL_COLUMNS.items():
            reachable = [m for m in members if m[CHANNEL_FLAG[channel]]]
            if channel == "wecom":
                by_guide: dict[str, list[tuple]] = {}
                for m in reachable:
                    by_guide.setdefault(m["owner_guide_userid"], []).append(tuple(m[c] for c in columns))
                for guide, rows in sorted(by_guide.items()):
                    relative = f"{audience_id}/wecom/{safe_name(guide)}.csv"
                    _write_csv(temp / relative, columns, rows)
                    files[relative] = len(rows)
            else:
                relative = f"{audience_id}/{channel}.csv"
                _write_csv(temp / relative, columns, [tuple(m[c] for c in columns) for m in reachable])
                files[relative] = len(reachable)
        manifest["audiences"][audience_id] = {
            "version": entry["version"],
            "name": entry["name"],
            "members": len(members),
            "reachable": {ch: sum(1 for m in members if m[CHANNEL_FLAG[ch]]) for ch in CHANNEL_COLUMNS},
            "unreachable": sum(1 for m in members if not any(m[f] for f in CHANNEL_FLAG.values())),
            "files": files,
        }
    write_json(temp / MANIFEST, manifest)
    shutil.rmtree(folder, ignore_errors=True)
    temp.rename(folder)
    for old in root.iterdir():
        if old.is_dir() and old.name != folder.name and not old.name.startswith("."):
            shutil.rmtree(old)
    return {**manifest, "folder": str(folder)}


def build_audience_exports(published: AssetKey):
    @asset(key=EXPORTS, deps=[published], group_name="serving", pool=WRITER_POOL,
           description="Each audience of marts.mart_audience_members (opted-out and erased members never in it) "
                       "as CSV files per owner guide (WeCom) and per channel (SMS mobile hash, OA unionid) under "
                       "<home>/exports/audiences/<build id>/ with manifest.json (counts, versions). Never fails "
                       "the build.")
    def audience_exports(context: AssetExecutionContext, quanyu: QuanyuPaths) -> MaterializeResult:
        try:
            manifest = export_audiences(quanyu.paths)
        except (duckdb.Error, OSError) as error:  # the build is published; the export only reports
            context.log.warning(f"Audience export not produced: {type(error).__name__}: {error}")
            return MaterializeResult(metadata={"mode": "not produced", "error": str(error)[:500]})
        counts = {a: e["members"] for a, e in manifest["audiences"].items()}
        context.log.info(f"Audience export {manifest['folder']}: {counts}")
        return MaterializeResult(metadata={"folder": MetadataValue.path(manifest["folder"]),
                                           "build_id": manifest["build_id"],
                                           "members": MetadataValue.json(counts)})

    return audience_exports
