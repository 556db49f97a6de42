"""How the pages word and draw things: standard details, tables, the index tree, the offline map."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from civeval import lookup, mapping, presentation
from civeval.models import Method, Point, ScoringMode, Severity, Standard
from tests import seed


@pytest.fixture(scope="module")
def index():
    return seed.index()


def details(index, code) -> dict[str, str]:
    for c, i, s in index.standards():
        if s.code == code:
            return dict(presentation.standard_details(c, i, s))
    raise KeyError(code)


def test_standard_details_show_every_field_in_chinese(index):
    d = details(index, "III-1-1")
    assert list(d) == [
        "标准编号",
        "测评标准",
        "所属",
        "测评方式",
        "分值",
        "计分方式",
        "点位类型",
        "牵头单位",
        "配合单位",
        "责任归属",
        "一票否决",
        "操作提示",
        "整改时限",
    ]
    assert d["所属"] == "I-1 公共环境 › 市容环境 › III-1 农贸市场"
    assert d["测评方式"] == "实地考察"
    assert d["分值"] == "2 分"
    assert d["计分方式"] == "扣分：每处扣 0.5 分，最多扣 2 分"
    assert d["点位类型"] == "农贸市场"
    assert d["牵头单位"] == "县市场监督管理局"
    assert d["配合单位"] == "县城市管理局"
    assert d["责任归属"].startswith("属地")
    assert d["一票否决"] == "否"
    assert d["操作提示"] == "从正门进入，步行200米，查看两个摊区"
    assert d["整改时限"] == "紧急：2 天内整改"


def test_standard_details_other_modes(index):
    graded = details(index, "III-2-1")
    assert graded["计分方式"] == "等级（A 100%、B 66%、C 33%、D 0%）"
    assert graded["配合单位"] == "城关街道、东城街道"
    school = details(index, "III-3-1")
    assert school["计分方式"] == "符合/不符合"
    assert school["一票否决"] == "专项预警"
    assert school["整改时限"] == "立行立改：当日整改"
    assert school["责任归属"].startswith("行业")
    assert school["所属"] == "I-2 公共秩序 › III-3 校园周边"  # no indicator
    materials = details(index, "III-4-1")
    assert materials["点位类型"] == "—" and materials["配合单位"] == "—" and materials["操作提示"] == "—"
    assert materials["整改时限"] == "一般：10 天内整改（本标准另定）"
    assert details(index, "III-4-2")["一票否决"] == "本项归零"


@pytest.mark.parametrize(("value", "text"), [(2.0, "2"), (0.5, "0.5"), (1.25, "1.25"), (None, "—")])
def test_marks(value, text):
    assert presentation.marks(value) == text


def test_tree_groups_rows_in_order(index):
    tree = presentation.tree(index.standards())
    assert [c.category.code for c in tree] == ["I-1", "I-2", "I-3"]
    first = tree[0]
    assert [g.name for g in first.groups] == ["市容环境"]
    assert [i.item.code for i in first.groups[0].items] == ["III-1", "III-2"]
    assert first.n_standards == 3 and first.full_marks == 6
    assert [g.name for g in tree[1].groups] == [None]


def test_tree_of_filtered_rows_keeps_only_matches(index):
    tree = presentation.tree(lookup.filter_standards(index, search="wifi"))
    assert len(tree) == 1
    assert [s.code for s in tree[0].groups[0].items[0].standards] == [seed.WIFI_CODE]
    assert presentation.tree([]) == []


def test_index_summary(index):
    assert presentation.index_summary(index) == {
        "测评项目": 3,
        "测评内容": 5,
        "测评标准": 7,
        "总分值": 11.5,
        "实地考察标准": 5,
    }


def test_standard_list_is_markdown(index):
    text = presentation.standard_list(lookup.standards_for_unit(index, "县文明办").lead)
    lines = text.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("- **III-1-2**　公益广告")
    assert "1 分 · 实地考察 · III-1 农贸市场" in lines[0]


def test_point_rows_and_table():
    rows = presentation.point_rows(seed.POINTS[:1])
    assert rows[0]["点位编号"] == "P001" and rows[0]["路长单位"] == "县城市管理局" and rows[0]["纬度"] == 34.7621
    assert list(rows[0]) == list(presentation.POINT_LABELS.values())
    table = {r["点位编号"]: r for r in presentation.point_table(seed.POINTS)}
    assert table["P006"]["经纬度"] == "未填"
    assert table["P001"]["经纬度"] == "34.76210, 113.65120"
    assert table["P002"]["路长单位"] == ""  # no None leaking into the table
    assert table["P008"]["启用"] == "停用"


def test_unit_rows():
    rows = {r["单位编号"]: r for r in presentation.unit_rows(seed.UNITS)}
    assert rows["C01"]["单位类型"] == "社区" and rows["C01"]["上级单位"] == "城关街道"
    assert rows["D04"]["上级单位"] == ""


def test_workload_rows(index):
    rows = presentation.workload_rows(lookup.unit_workload(index))
    assert rows[0] == {"单位": "县文明办", "牵头标准数": 3, "牵头分值": 3.5, "配合标准数": 0, "配合分值": 0.0}


def test_scoring_text_for_a_deduction_without_cap_cannot_happen():
    with pytest.raises(ValueError):
        Standard(code="x", text="t", methods=[Method.materials], full_marks=1, scoring_mode=ScoringMode.deduction)


def test_deadline_text_uses_the_severity_table():
    s = Standard(code="x", text="t", methods=[Method.materials], full_marks=1, severity=Severity.serious)
    assert presentation.deadline_text(s) == "较重：7 天内整改"


# --- the offline map -------------------------------------------------------------------------------


def test_type_colours_are_stable_and_cycle():
    colours = mapping.type_colours(["a", "b", "a"])
    assert list(colours) == ["a", "b"]
    many = mapping.type_colours([f"t{i}" for i in range(25)])
    assert many["t0"] == many["t20"] == mapping.PALETTE[0]


def test_map_frame_only_located_points():
    frame = mapping.map_frame(seed.POINTS)
    assert "P006" not in set(frame["code"])
    assert len(frame) == 7
    assert frame.loc[frame["code"] == "P002", "custodian_unit"].item() == "县市场监督管理局"


def test_points_chart_is_a_projection_with_no_outside_resources():
    spec = mapping.points_chart(seed.POINTS, seed.POINT_TYPES).to_dict()
    assert spec["projection"] == {"type": "mercator"}
    circles, labels = spec["layer"]
    assert circles["mark"]["type"] == "circle"
    assert circles["encoding"]["latitude"]["field"] == "lat"
    assert circles["encoding"]["longitude"]["field"] == "lon"
    assert circles["encoding"]["color"]["field"] == "point_type"
    assert [t["title"] for t in circles["encoding"]["tooltip"]] == [
        "点位名称",
        "点位编号",
        "点位类型",
        "所属街道/镇",
        "包保单位",
        "地址",
    ]
    assert labels["mark"]["type"] == "text"
    # nothing to fetch: data inline, no url anywhere but the schema's identifier
    text = json.dumps({k: v for k, v in spec.items() if k != "$schema"}, ensure_ascii=False)
    assert "http" not in text and '"url"' not in text


def test_street_labels_sit_at_the_middle_of_their_points():
    labels = mapping.street_labels(mapping.map_frame(seed.POINTS)).set_index("street")
    assert set(labels.index) == {"城关街道", "东城街道", "河口镇"}
    assert labels.loc["河口镇", "lat"] == pytest.approx(34.73)
    assert labels.loc["城关街道", "n"] == 3


def test_crowded_street_labels_are_dropped_bigger_streets_first():
    pts = [Point(code=f"A{i}", name="a", point_type="医院", street="大街道", lat=30.0, lon=120.0) for i in range(3)] + [
        Point(code="B1", name="b", point_type="医院", street="小街道", lat=30.001, lon=120.001),
        Point(code="C1", name="c", point_type="医院", street="远镇", lat=30.1, lon=120.1),
    ]
    labels = mapping.street_labels(mapping.map_frame(pts))
    assert list(labels["street"]) == ["大街道", "远镇"]
    assert len(mapping.street_labels(mapping.map_frame(pts), min_gap=0)) == 3
    assert mapping.street_labels(mapping.map_frame([])).empty


def test_legend_and_counts():
    counts = mapping.type_counts(seed.POINTS, seed.POINT_TYPES)
    assert list(counts) == ["农贸市场", "背街小巷", "主次干道", "学校周边", "公园广场", "医院"]
    assert counts["农贸市场"] == 3
    html = mapping.legend_html({"<b>": 1}, {})
    assert "&lt;b&gt; 1" in html


def test_tile_style(monkeypatch):
    monkeypatch.delenv(mapping.TILE_URL_ENV, raising=False)
    assert mapping.tile_url() is None
    monkeypatch.setenv(mapping.TILE_URL_ENV, " http://gis.local/styles/basic/style.json ")
    assert mapping.tile_url() == "http://gis.local/styles/basic/style.json"
    assert mapping.tile_style("http://gis.local/styles/basic/style.json") == "http://gis.local/styles/basic/style.json"
    style = mapping.tile_style("http://gis.local/tiles/{z}/{x}/{y}.png")
    assert style.startswith("data:application/json,")
    doc = json.loads(urllib.parse.unquote(style.split(",", 1)[1]))
    assert doc["sources"]["intranet"]["tiles"] == ["http://gis.local/tiles/{z}/{x}/{y}.png"]


def test_hex_to_rgb():
    assert mapping.hex_to_rgb("#4e79a7") == [78, 121, 167]


def test_marks_line_says_how_a_standard_is_scored():
    from civeval.models import Method, ScoringMode, Standard
    from civeval.presentation import marks_line

    def std(**kw):
        return Standard(code="S", text="t", methods=[Method.materials], **kw)

    assert marks_line(std(full_marks=1)) == "1 分 · 符合/不符合"
    assert marks_line(std(full_marks=2, scoring_mode=ScoringMode.deduction, per_instance=0.5, cap=2)) == (
        "2 分 · 每处扣 0.5 分，最多扣 2 分"
    )
    assert marks_line(std(full_marks=3, scoring_mode=ScoringMode.graded)) == "3 分 · 等级 A 100%/B 66%/C 33%/D 0%"
