"""Erasing by a mobile that OneID split as recycled (two members, one after the other) is refused
by name: the number alone cannot say which person asks. By member id it works as usual."""
import duckdb
import pytest

from ingest.pii import keyed_hash
from ingest.settings import paths_from_env
from orchestration.erase import RecycledNumberError, resolve
from tests.dbt_runner import TEST_KEY

NUMBER = "18857713390"


@pytest.fixture
def paths(tmp_path):
    paths = paths_from_env({"QUANYU_HOME": str(tmp_path)}).ensure()
    paths.warehouse.parent.mkdir(parents=True, exist_ok=True)
    value = keyed_hash(TEST_KEY, NUMBER)
    with duckdb.connect(str(paths.warehouse)) as con:
        con.execute("create schema identity")
        con.execute("create table identity.identity_registry (identifier_type varchar, identifier_value varchar, "
                    "one_id varchar)")
        con.execute("insert into identity.identity_registry values "
                    "('crm_member_id', 'M-OLD', 'QYOLD'), ('mobile', ?, 'QYOLD'), "
                    "('crm_member_id', 'M-NEW', 'QYNEW'), ('mobile', ?, 'QYNEW')", [value, value + "@2026-06-20"])
    return paths


def test_a_recycled_number_is_refused_with_the_way_out(paths):
    with pytest.raises(RecycledNumberError) as refused:
        resolve(paths, TEST_KEY, mobile=NUMBER)
    message = str(refused.value)
    assert "re-issued" in message and "--member-id or --one-id" in message
    assert NUMBER not in message
    assert refused.value.exit_code == 2


def test_the_same_person_by_member_id_resolves(paths):
    person = resolve(paths, TEST_KEY, member_id="M-NEW")
    assert person.one_ids == {"QYNEW"}
    assert ("mobile", keyed_hash(TEST_KEY, NUMBER) + "@2026-06-20") in person.identifiers
