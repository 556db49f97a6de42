"""The browser's queries: search and filters over an index, unit ↔ standard both ways, workload, points."""

from __future__ import annotations

import pytest

from civeval import lookup
from civeval.models import Method, Point, Standard, UnitKind
from tests import seed


@pytest.fixture(scope="module")
def index():
    return seed.index()


def codes(rows) -> list[str]:
    return [s.code for _, _, s in rows]


# --- normalise / search ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＷｉＦｉ", "wifi"),
        ("Ⅲ－１－２", "iii-1-2"),
        ("  市场 内\u3000地面 ", "市场内地面"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalise_folds_width_case_and_spaces(raw, expected):
    assert lookup.normalise(raw) == expected


def test_search_terms_split_on_any_space():
    assert lookup.search_terms(" 农贸\u3000ＡＢ  c ") == ["农贸", "ab", "c"]
    assert lookup.search_terms("   ") == []


def test_no_filter_returns_every_standard_in_order(index):
    assert codes(lookup.filter_standards(index)) == [s.code for _, _, s in index.standards()]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("wifi", [seed.WIFI_CODE]),  # text is full-width ＷｉＦｉ
        ("ＷＩＦＩ", [seed.WIFI_CODE]),
        ("iii-1-2", ["III-1-2"]),  # code, case-insensitive
        ("Ⅲ－１－２", ["III-1-2"]),  # full-width code typed with a Roman-numeral character
        ("步行200米", ["III-1-1"]),  # instructions
        ("步行 200 米", ["III-1-1"]),  # words each found
        ("背街小巷", ["III-2-1"]),  # item name
        ("市容环境", ["III-1-1", "III-1-2", "III-2-1"]),  # indicator name
        ("诚信建设", ["III-4-1", "III-4-2"]),  # category name
        ("I-3", ["III-3-1", "III-4-1", "III-4-2"]),  # category I-3's standards, and a code containing "I-3"
        ("农贸 醒目", ["III-1-2"]),  # all words must match
        ("没有这个词", []),
    ],
)
def test_search(index, search, expected):
    assert codes(lookup.filter_standards(index, search=search)) == expected


def test_search_does_not_match_across_fields(index):
    # "III-5-1" code followed by its text "窗口…": a word spanning the two must not match
    assert lookup.filter_standards(index, search="III-5-1窗口") == []


def test_filter_by_method_accepts_members_and_labels(index):
    assert codes(lookup.filter_standards(index, methods=[Method.materials])) == ["III-4-1"]
    assert codes(lookup.filter_standards(index, methods=["问卷调查"])) == ["III-4-2"]
    assert codes(lookup.filter_standards(index, methods=["materials", "survey"])) == ["III-4-1", "III-4-2"]
    with pytest.raises(ValueError, match="未知的测评方式"):
        lookup.filter_standards(index, methods=["飞行检查"])


def test_filter_by_point_type_is_any_of(index):
    assert codes(lookup.filter_standards(index, point_types=["背街小巷"])) == ["III-1-2", "III-2-1"]
    assert codes(lookup.filter_standards(index, point_types=["医院", "学校周边"])) == ["III-3-1", seed.WIFI_CODE]


def test_filter_by_unit_matches_lead_or_supporting(index):
    got = codes(lookup.filter_standards(index, units=["县市场监督管理局"]))
    assert got == ["III-1-1", "III-1-2", "III-3-1"]  # leads III-1-1, supports the other two


def test_filters_combine(index):
    # 县文明办 answers for III-1-2 (field, 农贸市场 …), III-4-1 (materials) and III-4-2 (survey)
    assert codes(lookup.filter_standards(index, units=["县文明办"], methods=[Method.field])) == ["III-1-2"]
    assert codes(lookup.filter_standards(index, units=["县文明办"], point_types=["医院"])) == []
    assert codes(lookup.filter_standards(index, search="记录", units=["县文明办"])) == ["III-4-1"]


# --- unit ↔ standard -------------------------------------------------------------------------------


def test_standards_for_unit(index):
    mine = lookup.standards_for_unit(index, "县城市管理局")
    assert codes(mine.lead) == ["III-2-1"]
    assert codes(mine.supporting) == ["III-1-1", "III-1-2"]
    assert mine.lead_marks == 3
    assert mine.supporting_marks == 3
    assert not mine.empty


def test_standards_for_unit_with_nothing(index):
    mine = lookup.standards_for_unit(index, "县税务局")
    assert mine.empty and mine.lead_marks == 0


def test_lead_unit_also_listed_as_support_counts_once():
    s = Standard(
        code="X", text="t", methods=[Method.materials], full_marks=1, lead_unit="A", supporting_units=["A", "B"]
    )
    who = lookup.units_for_standard(s)
    assert who.lead == "A"
    assert who.supporting == ["B"]
    assert who.all == ["A", "B"]


def test_units_for_standard(index):
    who = lookup.units_for_standard(index.standard("III-1-2"))
    assert who.lead == "县文明办"
    assert who.supporting == ["县城市管理局", "县市场监督管理局"]


def test_units_for_standard_without_lead():
    s = Standard(code="X", text="t", methods=[Method.materials], full_marks=1, supporting_units=["B", "B"])
    who = lookup.units_for_standard(s)
    assert who.lead is None and who.supporting == ["B"] and who.all == ["B"]


def test_unit_workload(index):
    loads = {w.unit: w for w in lookup.unit_workload(index, ["县税务局"])}
    wmb = loads["县文明办"]
    assert (wmb.lead_count, wmb.support_count, wmb.lead_marks, wmb.support_marks) == (3, 0, 3.5, 0)
    cg = loads["县城市管理局"]
    assert (cg.lead_count, cg.support_count, cg.lead_marks, cg.support_marks) == (1, 2, 3, 3)
    assert loads["县税务局"].total_count == 0
    assert loads["环境整治组"].support_count == 1


def test_unit_workload_order(index):
    order = [w.unit for w in lookup.unit_workload(index, ["县税务局"])]
    assert order[0] == "县文明办"  # most lead marks (3.5)
    assert order[-1] == "县税务局"  # nothing
    # equal lead marks (3): 县城市管理局 (1 lead) — and 县市场监督管理局 (2), 县教育局 (2)… sorted by marks first
    assert order.index("县城市管理局") < order.index("县市场监督管理局")


# --- points ----------------------------------------------------------------------------------------


def pcodes(points) -> list[str]:
    return [p.code for p in points]


def test_filter_points():
    pts = seed.POINTS
    assert pcodes(lookup.filter_points(pts)) == pcodes(pts)
    assert "P008" not in pcodes(lookup.filter_points(pts, active_only=True))
    assert pcodes(lookup.filter_points(pts, point_types=["农贸市场"], streets=["东城街道"])) == ["P002"]
    assert pcodes(lookup.filter_points(pts, custodian_units=["县城市管理局"])) == ["P004", "P006"]
    assert pcodes(lookup.filter_points(pts, search="东城路")) == ["P002"]  # address
    assert pcodes(lookup.filter_points(pts, search="张副县长")) == ["P004"]  # owner leader
    assert pcodes(lookup.filter_points(pts, search="ｐ００１")) == ["P001"]  # full-width code
    assert pcodes(lookup.filter_points(pts, search="市场 东城")) == ["P002"]


def test_points_of_unit_with_roles():
    got = [(p.code, roles) for p, roles in lookup.points_of_unit(seed.POINTS, "县城市管理局")]
    assert got == [("P004", ["custodian"]), ("P006", ["custodian"]), ("P001", ["road_chief"])]
    got = {p.code: roles for p, roles in lookup.points_of_unit(seed.POINTS, "河口镇")}
    assert got == {"P008": ["custodian", "street"]}
    assert lookup.points_of_unit(seed.POINTS, "县税务局") == []


def test_located_and_custodian_counts():
    assert "P006" not in pcodes(lookup.located(seed.POINTS))
    half = Point(code="X", name="x", point_type="医院", lat=30.0)
    assert lookup.located([half]) == []
    counts = lookup.custodian_counts(seed.POINTS)
    assert counts["县市场监督管理局"] == 2
    assert "河口镇" not in counts  # its only point is inactive
    assert lookup.custodian_counts(seed.POINTS, active_only=False)["河口镇"] == 1


def test_filter_units():
    units = seed.UNITS
    assert [u.name for u in lookup.filter_units(units, kinds=[UnitKind.street])] == ["城关街道", "东城街道"]
    assert [u.name for u in lookup.filter_units(units, kinds=["town"])] == ["河口镇"]
    assert [u.name for u in lookup.filter_units(units, search="城关")] == ["城关街道", "和平社区"]  # parent
    assert [u.name for u in lookup.filter_units(units, search="李强")] == ["县城市管理局"]  # contact
    assert [u.name for u in lookup.filter_units(units, search="ｄ０９")] == ["县教育局"]
