"""bench.identity_closure on the session's published warehouse: a night that holds every load touches
the whole graph, a night after the last load touches nothing (the figures the incremental-identity
design in docs/incremental.md rests on)."""
import datetime

import duckdb

from bench.identity_closure import closure, lines


def test_a_night_of_every_load_touches_the_whole_graph_and_a_night_after_the_last_touches_nothing(published):
    with duckdb.connect(str(published.warehouse), read_only=True) as con:
        first, last = con.execute("select min(loaded_at), max(loaded_at) from staging.stg_lake__loads").fetchone()
        resolved = con.execute("select count(*) from identity.bridge_record_member "
                               "where one_id is not null").fetchone()[0]
        everything = closure(con, first)
        nothing = closure(con, last + datetime.timedelta(seconds=1))

    assert everything["sources_without_lineage"] == "none"
    assert everything["loads"] > 0 and nothing["loads"] == 0
    assert everything["night_records"] == everything["records"] > 0
    assert everything["night_nodes"] > 0 and everything["night_components"] == everything["components"] > 0
    assert everything["night_members"] == everything["members"] > 0
    assert everything["records_of_night_members"] == resolved
    assert 0 < everything["closure_records"] <= everything["records"]
    for key in ("night_records", "night_nodes", "night_components", "closure_records", "night_members",
                "records_of_night_members"):
        assert nothing[key] == 0, key
    assert len(lines(everything)) == 7
