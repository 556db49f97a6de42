"""The sample index in criteria/ meets what issue 2 asks of it, and its units come from the sample unit list."""

from civeval.demo import load_sample_index, load_sample_units
from civeval.models import Method, ScoringMode


def test_sample_index_is_realistic_for_a_county():
    index = load_sample_index()
    standards = [s for _, _, s in index.standards()]
    assert len(index.categories) >= 10
    assert sum(len(c.items) for c in index.categories) >= 40
    assert len(standards) >= 150
    assert len(index.point_types) >= 25
    assert {m for s in standards for m in s.methods} == set(Method)
    assert {s.scoring_mode for s in standards} == set(ScoringMode)
    assert all(s.instructions.strip() for s in standards if s.is_field)
    assert len({s.code for s in standards}) == len(standards)


def test_every_point_type_is_used_and_every_unit_is_listed():
    index = load_sample_index()
    standards = [s for _, _, s in index.standards()]
    assert {p for s in standards for p in s.point_types} == {pt.name for pt in index.point_types}
    names = {u.name for u in load_sample_units()}
    assert all(s.lead_unit in names for s in standards)
    assert all(set(s.supporting_units) <= names for s in standards)


def test_deductions_never_exceed_full_marks():
    for _, _, s in load_sample_index().standards():
        if s.scoring_mode is ScoringMode.deduction:
            assert 0 < s.per_instance <= s.cap <= s.full_marks, s.code
