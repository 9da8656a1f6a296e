"""The oracle's pure parts (demo/identity_oracle.py): how it scores a comparison vector from
another brand's truth, and the pair arithmetic. The replay against a real build is in test_oneid.py."""
import numpy as np
import pandas as pd
import pytest

from demo.identity_oracle import (
    Brand,
    Point,
    _cells,
    _count_pairs,
    best_point,
    main,
    members_after,
    members_greedy,
    oracle_scores,
)


def pairs(rows):
    return pd.DataFrame(rows, columns=["name_level", "phone_level", "address_level", "name_weight", "phone_weight",
                                       "address_weight", "match_probability", "is_true", "record_pairs"])


def test_a_vector_scores_its_smoothed_true_share_in_training_and_unseen_vectors_fall_back():
    train = pairs([("exact", "tail2", "missing", 9.0, 3.0, 0.0, 0.6, True, 1)] * 3
                  + [("exact", "tail2", "missing", 9.0, 3.0, 0.0, 0.6, False, 1)]
                  + [("exact", "tail2", "missing", 1.0, 3.0, 0.0, 0.2, False, 5)])
    scored = pairs([("exact", "tail2", "missing", 9.5, 3.9, 0.0, 0.7, True, 1),  # the fine cell seen 4 times
                    ("exact", "tail2", "missing", 20.0, 3.0, 0.0, 0.9, True, 1),  # fine cell unseen: its levels
                    ("different", "different", "address", 0.0, 0.0, 5.0, 0.01, False, 1)])  # unseen: build's
    coarse = oracle_scores(train, scored, fine=False)
    assert coarse[:2].tolist() == pytest.approx([3.5 / 6, 3.5 / 6])
    assert coarse[2] == 0.01
    fine = oracle_scores(train, scored, fine=True)
    assert fine.tolist() == pytest.approx([3.5 / 5, 3.5 / 6, 0.01])
    by_records = oracle_scores(train, scored, fine=False, weight="record_pairs")
    assert by_records[0] == pytest.approx(3.5 / 10)


def test_weights_bin_into_vectors_of_the_given_width():
    frame = pairs([("exact", "tail2", "missing", 3.9, -0.1, 0.0, 0.5, True, 1)])
    assert _cells(frame, fine=False).tolist() == ["exact|tail2|missing"]
    assert _cells(frame, fine=True, bits=2).tolist() == ["exact|tail2|missing|1|-1|0"]
    assert _cells(frame, fine=True, bits=1).tolist() == ["exact|tail2|missing|3|-1|0"]


def test_pairs_are_counted_over_every_key_together():
    person = np.array([0, 0, 0, 1, 1])
    member = np.array([5, 5, 7, 7, 7])
    assert _count_pairs(person) == 3 + 1
    assert _count_pairs(member) == 1 + 3
    assert _count_pairs(person, member) == 1 + 1


def test_the_best_point_keeps_both_precisions():
    points = [Point(0.9, 0.999, 0.88, 10, 0.999), Point(0.5, 0.996, 0.90, 20, 0.989), Point(0.7, 0.995, 0.89, 15, 0.99)]
    assert best_point(points, 0.995, 0.99).cut == 0.7
    assert best_point(points, 0.9999, 0.99) is None


def test_the_build_splits_a_group_around_its_enforced_members_as_greedy_joins_it_unless_links_tie():
    # four deterministic members with one record each; 0 and 2 hold an enforced type (two CRM ids)
    brand = Brand(person=np.array([0, 0, 1, 1]), component=np.arange(4), pairs=pairs([]),
                  enforced=np.array([0, 2]), with_receivers=np.arange(4), size=4)
    a, b = np.array([0, 1, 2]), np.array([1, 2, 3])  # strongest first: 0-1, then 1-2, then 2-3
    greedy = members_greedy(brand, a, b)
    assert greedy[0] == greedy[1] and greedy[2] == greedy[3] and greedy[1] != greedy[2]
    split = members_after(brand, a, b, np.array([3.0, 2.0, 1.0]))
    assert split.tolist() == greedy.tolist() == [0, 0, 2, 2]
    # 0-1 and 1-2 equally strong: their order would decide; the part holding 0 and 2 is refused
    assert members_after(brand, a, b, np.array([1.0, 1.0, 0.5])).tolist() == [0, 1, 2, 3]
    assert len(set(members_after(brand, a, b, refuse=False).tolist())) == 1


def test_a_home_without_a_built_brand_is_refused_by_name(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--train", str(tmp_path), "--score", str(tmp_path)])
    assert f"{tmp_path}: not a home demo.score_identity --generate built" in capsys.readouterr().err
