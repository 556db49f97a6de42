"""Users from Excel: located validation, several roles per user, all or nothing."""

from __future__ import annotations

import openpyxl
import pytest

from civeval import audit, auth, users_workbook
from civeval.models import Grant, Role, Unit, UnitKind
from civeval.store import open_engine, repo
from civeval.workbook import WorkbookInvalid
from tests.conftest import ADMIN

HEADER = ["用户名", "姓名", "角色", "范围单位", "手机", "邮箱", "初始密码"]


def workbook(path, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "用户"
    ws.append(HEADER)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


@pytest.fixture
def engine(sqlite_url):
    engine = open_engine(sqlite_url)
    with audit.writing(engine, ADMIN) as conn:
        repo.save_units(
            conn,
            [
                Unit(code="D1", name="县城管局"),
                Unit(code="S1", name="城关街道", kind=UnitKind.street),
                Unit(code="S2", name="东城街道", kind=UnitKind.street),
            ],
        )
    auth.create_user(engine, ADMIN, auth.NewUser("old", "老用户", (Grant(role=Role.leader),), "Old-pass-123"))
    return engine


def test_import_users_with_several_roles_and_one_time_passwords(engine, tmp_path):
    path = workbook(
        tmp_path / "users.xlsx",
        [
            ["zhang", "张三", "测评员", None, "13800000000", "zhang@example.cn", None],
            ["zhang", "张三", "街道协调员", "城关街道", None, None, None],
            ["zhang", "张三", "街道协调员", "S2", None, None, None],
            ["li", "李四", "联络员", "县城管局", None, None, "Li-pass-2025"],
        ],
    )
    passwords = users_workbook.import_users(engine, ADMIN, path)
    assert passwords["li"] == "Li-pass-2025" and len(passwords["zhang"]) == 12
    zhang = auth.authenticate(engine, "zhang", passwords["zhang"])
    assert set(zhang.grants) == {
        Grant(role=Role.inspector),
        Grant(role=Role.coordinator, scope="城关街道"),
        Grant(role=Role.coordinator, scope="东城街道"),
    }
    assert auth.must_change_password(engine, zhang)
    assert not auth.must_change_password(engine, auth.authenticate(engine, "li", "Li-pass-2025"))


def test_every_problem_is_reported_located_and_nothing_is_stored(engine, tmp_path):
    path = workbook(
        tmp_path / "users.xlsx",
        [
            ["old", "老用户", "领导", None, None, None, None],  # R2: exists
            ["a b", "甲", "测评员", None, None, None, None],  # R3: space in username
            ["c", "", "督察长", None, None, None, None],  # R4: no name, unknown role
            ["d", "丁", "单位联络员", None, None, None, None],  # R5: liaison without scope
            ["e", "戊", "街道协调员", "县城管局", None, None, None],  # R6: coordinator scope not a street
            ["f", "己", "单位联络员", "县环保局", None, "not-an-email", "short"],  # R7: unknown unit, email, password
        ],
    )
    with pytest.raises(WorkbookInvalid) as err:
        users_workbook.import_users(engine, ADMIN, path)
    lines = [str(p) for p in err.value.problems]
    assert lines == [
        "users.xlsx:用户:R2:C1: 用户名“old”已存在",
        "users.xlsx:用户:R3:C1: 用户名不能含空格",
        "users.xlsx:用户:R4:C2: 姓名不能为空",
        "users.xlsx:用户:R4:C3: 角色“督察长”无效，可选：办公室管理员、测评员、单位联络员、街道协调员、领导",
        "users.xlsx:用户:R5:C4: 单位联络员须填写范围单位",
        "users.xlsx:用户:R6:C4: 街道协调员的范围须是街道或镇，“县城管局”是部门",
        "users.xlsx:用户:R7:C4: 范围单位“县环保局”不在单位名录中",
        "users.xlsx:用户:R7:C6: 邮箱“not-an-email”格式不正确",
        "users.xlsx:用户:R7:C7: 密码至少 8 位",
    ]
    with engine.connect() as conn:
        assert [u.username for u in auth.list_users(conn, ADMIN)] == ["old"]


def test_template_has_the_role_drop_down_and_its_example_imports(engine, tmp_path):
    path = tmp_path / "t.xlsx"
    users_workbook.write_users_template(path)
    ws = openpyxl.load_workbook(path)["用户"]
    assert [c.value for c in ws[1]] == HEADER
    assert any("C" in str(dv.sqref) for dv in ws.data_validations.dataValidation)
    with audit.writing(engine, ADMIN) as conn:
        repo.save_units(conn, [Unit(code="D19", name="县城市管理局")])
    assert list(users_workbook.import_users(engine, ADMIN, path)) == ["zhangsan"]
