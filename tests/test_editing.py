"""Checking point and unit edits: Chinese messages that name the field, as widgets hand values over."""

from __future__ import annotations

import math

import pytest

from civeval import editing, presentation
from civeval.models import UnitKind
from tests import seed

TYPES = seed.POINT_TYPES
UNITS = [u.name for u in seed.UNITS]


def point_fields(**over):
    base = {
        "code": "P100",
        "name": "新华路",
        "point_type": "主次干道",
        "street": "城关街道",
        "address": "",
        "lat": None,
        "lon": None,
        "custodian_unit": "县城市管理局",
        "road_chief_unit": None,
        "owner_leader": "",
        "active": True,
    }
    return {**base, **over}


def messages(fn, *args, **kw) -> list[str]:
    with pytest.raises(editing.EditError) as e:
        fn(*args, **kw)
    return e.value.messages


def test_a_valid_point():
    p = editing.validate_point(point_fields(lat=34.76, lon="113.65", address="  新华路1号 "), point_types=TYPES)
    assert p.code == "P100" and p.lon == 113.65 and p.address == "新华路1号" and p.road_chief_unit is None


def test_blank_values_become_empty():
    p = editing.validate_point(point_fields(street="  ", lat=float("nan"), lon=math.nan, active=None))
    assert p.street is None and p.lat is None and p.active is True


@pytest.mark.parametrize(
    ("over", "expected"),
    [
        ({"code": " "}, "「点位编号」必须填写"),
        ({"name": None}, "「点位名称」必须填写"),
        ({"point_type": None}, "「点位类型」必须填写"),
        ({"lat": 95, "lon": 113}, "「纬度」不能大于 90"),
        ({"lat": 34, "lon": -181}, "「经度」不能小于 -180"),
        ({"lat": "北纬34", "lon": 113}, "「纬度」须为数字"),
        ({"lat": 34.7}, "「纬度」和「经度」须同时填写或同时留空"),
        ({"point_type": "菜市场"}, "「点位类型」“菜市场”不在点位类型名录中"),
        ({"custodian_unit": "县林业局"}, "「包保单位」“县林业局”不在单位名录中"),
        ({"code": "P001"}, "「点位编号」P001 已被其他点位使用"),
    ],
)
def test_point_errors_name_the_field(over, expected):
    got = messages(editing.validate_point, point_fields(**over), point_types=TYPES, units=UNITS, taken_codes={"P001"})
    assert expected in got


def test_every_point_problem_is_reported_at_once():
    got = messages(editing.validate_point, point_fields(code="", name="", lat=200, lon=0))
    assert got == ["「点位编号」必须填写", "「点位名称」必须填写", "「纬度」不能大于 90"]


def test_points_from_rows_numbers_rows_and_skips_blank_ones():
    rows = presentation.point_rows(seed.POINTS[:2])
    blank = {k: None for k in rows[0]} | {"启用": True}
    bad = dict(rows[1], **{"纬度": 123.0})
    dup = dict(rows[0])
    got = messages(editing.points_from_rows, [rows[0], blank, bad, dup], point_types=TYPES, units=UNITS)
    assert got == ["第 3 行「纬度」不能大于 90", "第 4 行「点位编号」P001 与第 1 行重复"]
    points = editing.points_from_rows([rows[0], blank], point_types=TYPES, units=UNITS)
    assert [p.code for p in points] == ["P001"]
    assert messages(editing.points_from_rows, [bad], numbers=[7]) == ["第 7 行「纬度」不能大于 90"]


def test_changed_rows():
    original = presentation.point_rows(seed.POINTS[:3])
    edited = [dict(r) for r in original]
    assert editing.changed_rows(original, edited, "点位编号") == []
    edited[1]["点位名称"] = "东城农贸市场（新）"
    edited.append({k: None for k in original[0]} | {"启用": True})  # an empty row the editor added
    edited.append(dict(original[0], **{"点位编号": "P200"}))
    got = editing.changed_rows(original, edited, "点位编号")
    assert [(n, r["点位编号"]) for n, r in got] == [(2, "P002"), (5, "P200")]


def test_changed_rows_nan_equals_none():
    original = presentation.point_rows(seed.POINTS[5:6])  # P006 has no coordinates
    edited = [dict(original[0], **{"纬度": float("nan"), "经度": float("nan"), "路长单位": ""})]
    assert editing.changed_rows(original, edited, "点位编号") == []


def test_changed_rows_refuses_new_codes_and_deletions():
    original = presentation.point_rows(seed.POINTS[:2])
    edited = [dict(original[0], **{"点位编号": "P999"}), original[1]]
    assert messages(editing.changed_rows, original, edited, "点位编号") == [
        "第 1 行「点位编号」不能修改（原为 P001）；要换编号请新增一行"
    ]
    assert "不能删除行" in messages(editing.changed_rows, original, original[:1], "点位编号")[0]


# --- units ---------------------------------------------------------------------------------------


def unit_fields(**over):
    return {"code": "D50", "name": "县林业局", "kind": "部门", "parent": None, "contact": "", "phone": "", **over}


def test_a_valid_unit():
    u = editing.validate_unit(unit_fields(kind=UnitKind.department), seed.UNITS, adding=True)
    assert u.name == "县林业局" and u.kind is UnitKind.department and u.active
    assert editing.validate_unit(unit_fields(kind="乡镇"), seed.UNITS).kind is UnitKind.town


@pytest.mark.parametrize(
    ("over", "adding", "expected"),
    [
        ({"code": ""}, True, "「单位编号」必须填写"),
        ({"name": "  "}, True, "「单位名称」必须填写"),
        ({"code": "D04"}, True, "「单位编号」D04 已被单位“县文明办”使用"),
        ({"name": "县文明办"}, True, "「单位名称」“县文明办”已被编号为 D04 的单位使用"),
        ({"kind": "委员会"}, True, "「单位类型」须为以下之一：部门、街道、镇、社区、工作组、其他"),
        ({"parent": "县林业局"}, True, "「上级单位」不能是本单位"),
        ({"parent": "市林业局"}, True, "「上级单位」“市林业局”不在单位名录中"),
    ],
)
def test_unit_errors_name_the_field(over, adding, expected):
    assert expected in messages(editing.validate_unit, unit_fields(**over), seed.UNITS, adding=adding)


def test_editing_a_unit_keeps_its_own_name_and_code():
    u = editing.validate_unit(unit_fields(code="D04", name="县文明办", contact="赵"), seed.UNITS, adding=False)
    assert u.contact == "赵"


def test_a_unit_cannot_be_put_under_its_own_descendant():
    # 和平社区 sits under 城关街道: 城关街道 may not be put under 和平社区
    got = messages(editing.validate_unit, unit_fields(code="S01", name="城关街道", parent="和平社区"), seed.UNITS)
    assert got == ["「上级单位」“和平社区”是本单位的下级，不能作为上级"]


def test_active_flag_from_text():
    assert editing.validate_unit(unit_fields(active="停用"), seed.UNITS).active is False
    assert editing.validate_unit(unit_fields(active="是"), seed.UNITS).active is True
