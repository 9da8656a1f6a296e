"""GX's batch marker: a session fingerprints a frame by its shape, not by hashing every value.

GX's pandas engine hashes every value of a frame under 1 GB to mark its batch (~10 s of the
mart gate at 1M members); ``expectations.gx_runner`` replaces that with ``frame_fingerprint``.
If a GX upgrade moves the function, GX's own marker comes back and this test says so."""
import json

import pandas as pd

from expectations.gx_runner import GxSession, frame_fingerprint, gx_dir
from expectations.spec import Expect, SuiteSpec


def test_a_validated_frame_is_marked_by_its_shape_and_still_validated(tmp_path):
    frame = pd.DataFrame({"member": ["a", "b", None], "orders": [1, 2, 3]})
    spec = SuiteSpec(name="fingerprint_check", subject_column=None, subject_kind="table", expectations=(
        Expect("gx_schema", "member_known", "ExpectColumnValuesToNotBeNull", {"column": "member"},
               "every row names its member"),))
    with GxSession(tmp_path, "fingerprint-run") as session:
        findings = session.validate(spec, frame, "marts.example")
    assert [f.rule for f in findings] == ["member_known"], "the null member still fails its expectation"
    results = [json.loads(p.read_text()) for p in (gx_dir(tmp_path) / "uncommitted" / "validations").rglob("*.json")]
    markers = {r["meta"]["batch_markers"]["pandas_data_fingerprint"] for r in results}
    assert markers == {frame_fingerprint(frame)}
    assert frame_fingerprint(frame).startswith("shape-")
    assert frame_fingerprint(frame) != frame_fingerprint(frame.head(2)), "another shape, another marker"
