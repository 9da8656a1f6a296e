"""dbt docs for every model and every column: the yml describes each model and each column the
built table really has (dbt's catalog of the published warehouse, not only what the yml lists)."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from ingest.settings import paths_from_env
from orchestration.dbt_assets import DBT_PROJECT_DIR, dbt_executable
from orchestration.publish import Build, dbt_view, write_profiles


@pytest.fixture(scope="module")
def docs(baseline, tmp_path_factory):
    """manifest.json and catalog.json from ``dbt docs generate`` on a copy of the published warehouse."""
    root = tmp_path_factory.mktemp("docs")
    paths = paths_from_env({"QUANYU_HOME": str(root), "QUANYU_LAKE": str(baseline.lake)}).ensure()
    build = Build(paths, "docs")
    build.folder.mkdir(parents=True)
    shutil.copyfile(baseline.warehouse, build.file)
    profiles = write_profiles(build, DBT_PROJECT_DIR / "profiles.yml")
    target = root / "target"
    env = {**__import__("os").environ, "QUANYU_LAKE": str(baseline.lake), "QUANYU_HOME": str(root)}
    with dbt_view(build, DBT_PROJECT_DIR):  # the profile names the build file through the link dbt_view points
        result = subprocess.run([dbt_executable(), "docs", "generate", "--project-dir", str(DBT_PROJECT_DIR),
                                 "--profiles-dir", str(profiles), "--target-path", str(target), "--log-path",
                                 str(root / "logs")], cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    catalog = json.loads((target / "catalog.json").read_text(encoding="utf-8"))
    models = {uid: node for uid, node in manifest["nodes"].items()
              if node["resource_type"] == "model" and node["package_name"] == "quanyu"}
    return models, catalog


def test_every_model_has_a_description(docs):
    models, _ = docs
    assert models
    assert sorted(n["name"] for n in models.values() if not (n.get("description") or "").strip()) == []


def test_every_documented_column_has_a_description(docs):
    models, _ = docs
    missing = sorted(f"{n['name']}.{c}" for n in models.values() for c, col in n["columns"].items()
                     if not (col.get("description") or "").strip())
    assert missing == []


def test_every_built_column_is_documented(docs):
    models, catalog = docs
    undocumented, unbuilt = [], []
    for uid, node in models.items():
        built = catalog["nodes"].get(uid)
        if node["config"]["materialized"] == "ephemeral":  # inlined into its users, never a table
            continue
        if built is None:
            unbuilt.append(node["name"])
            continue
        documented = {c.lower() for c in node["columns"]}
        undocumented += [f"{node['name']}.{c}" for c in built["columns"] if c.lower() not in documented]
    assert unbuilt == [], "models missing from the published warehouse"
    assert sorted(undocumented) == [], "columns in the built tables without a description in the yml"


# The marts of issue 21 (member operations: order lines and products, cohorts, due lists, the
# member 360, tags and audiences); the README lists each with the same question.
OPERATIONS_MARTS = (
    "fct_order_lines", "dim_product", "dim_product_channel_ids", "quality_order_line_reconciliation",
    "quality_unmapped_products", "mart_product_mix_monthly", "mart_private_buyer_aov_monthly",
    "mart_product_launches", "mart_category_cross_buy", "mart_cohort_retention", "mart_member_kpis_monthly",
    "mart_member_repurchase_due", "mart_callback_list", "mart_repurchase_due_hit_rate", "mart_member_360",
    "mart_member_tags", "mart_tag_coverage", "mart_audience_members", "quality_unmapped_tags",
    "dim_tag", "mart_tag_name_history",
)


def test_every_member_operations_mart_states_a_question_it_answers(docs):
    """An operator finds the mart for a question by reading the docs: each description ends with one."""
    models, _ = docs
    descriptions = {n["name"]: n.get("description") or "" for n in models.values()}
    assert set(OPERATIONS_MARTS) <= set(descriptions)
    without = [name for name in OPERATIONS_MARTS
               if "Example question - " not in descriptions[name]
               or not descriptions[name].split("Example question - ", 1)[1].rstrip().endswith("?")]
    assert without == []
