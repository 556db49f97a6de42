"""The audit trail: every write is logged with its author and before/after values; nothing escapes it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from civeval import audit, auth
from civeval.models import Actor, Grant, Point, PointType, Role, Unit, UnitKind
from civeval.registers import save_unit
from civeval.store import repo
from civeval.store import schema as t
from tests.conftest import ADMIN


def log(engine, **filters):
    with engine.connect() as conn:
        return audit.read_log(conn, ADMIN, **filters)


def test_insert_update_delete_are_logged_with_author_and_values(engine):
    save_unit(engine, ADMIN, Unit(code="D01", name="县城管局"))
    save_unit(engine, ADMIN, Unit(code="D01", name="县城市管理局"), reason="更名")
    [upd, ins] = log(engine, table="units")
    assert (ins["operation"], ins["actor"], ins["before"], ins["after"]["name"]) == (
        "insert",
        "test-admin",
        None,
        "县城管局",
    )
    assert upd["operation"] == "update" and upd["reason"] == "更名"
    assert (upd["before"]["name"], upd["after"]["name"]) == ("县城管局", "县城市管理局")
    with audit.writing(engine, ADMIN, context="删除测试") as conn:
        conn.execute(sa.delete(t.units).where(t.units.c.code == "D01"))
    [dele] = log(engine, operation="delete")
    assert dele["before"]["name"] == "县城市管理局" and dele["after"] is None and dele["context"] == "删除测试"


def test_bulk_inserts_log_every_row(engine):
    with audit.writing(engine, ADMIN) as conn:
        repo.save_units(conn, [Unit(code="S01", name="城关街道", kind=UnitKind.street)])
        repo.save_point_types(conn, [PointType(code="PT1", name="背街小巷")])
        repo.save_points(
            conn, [Point(code=f"P{i}", name=f"巷{i}", point_type="背街小巷", street="城关街道") for i in range(5)]
        )
    entries = log(engine, table="points")
    assert sorted(e["row_key"] for e in entries) == [f"code=P{i}" for i in range(5)]


def test_a_write_without_an_actor_is_refused_and_nothing_is_written(engine):
    with pytest.raises(audit.AuditError, match="未指明操作人"), engine.begin() as conn:
        conn.execute(sa.insert(t.units).values(code="X", name="无名", kind="department"))
    with engine.connect() as conn:
        assert repo.count_rows(conn)["units"] == 0


def test_raw_sql_writes_are_refused(engine):
    with pytest.raises(audit.AuditError, match="原始 SQL"), audit.writing(engine, ADMIN) as conn:
        conn.execute(sa.text("DELETE FROM units"))


def test_the_log_is_append_only_in_civeval_and_in_the_database(engine):
    save_unit(engine, ADMIN, Unit(code="D01", name="县城管局"))
    with pytest.raises(audit.AuditError, match="只能追加"), audit.writing(engine, ADMIN) as conn:
        conn.execute(sa.delete(t.audit_log))
    # Even a connection that bypasses the check on purpose is stopped by the database's trigger.
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execution_options(audit_exempt=True)
        conn.execute(sa.update(t.audit_log).values(actor="someone else"))
    assert log(engine)[0]["actor"] == "test-admin"


def test_password_hashes_never_reach_the_log(engine):
    auth.create_admin(engine, "boss", "Secret-pass-1")
    auth.authenticate(engine, "boss", "Secret-pass-1")
    with engine.connect() as conn:
        text = str(audit.read_log(conn, ADMIN, table="users"))
    assert "argon2" not in text and "Secret-pass-1" not in text and audit.REDACTED in text


def test_reading_the_log_needs_the_right(engine):
    leader = Actor(user_id=None, username="l", grants=(Grant(role=Role.leader),))
    with engine.connect() as conn, pytest.raises(Exception, match="无权查看操作日志"):
        audit.read_log(conn, leader)


def test_the_log_exports_to_excel_with_who_what_and_changes(engine, tmp_path):
    import openpyxl

    save_unit(engine, ADMIN, Unit(code="D01", name="县城管局"))
    save_unit(engine, ADMIN, Unit(code="D01", name="县城市管理局"), reason="更名")
    path = tmp_path / "log.xlsx"
    audit.write_log_workbook(log(engine), path)
    rows = list(openpyxl.load_workbook(path)["操作日志"].values)
    assert rows[0][:4] == ("时间（UTC）", "操作人", "操作", "对象")
    assert rows[1][1:4] == ("test-admin", "修改", "单位") and "县城管局 → 县城市管理局" in rows[1][5]
    assert rows[1][6] == "更名" and rows[2][2] == "新增"


def test_every_kind_of_write_is_logged_with_its_author(engine, tmp_path):
    """Index import, units, points, users and their roles, log-ins: each leaves entries naming who did it."""
    from civeval import criteria
    from tests.test_store import UNITS, small_index

    with audit.writing(engine, ADMIN) as conn:
        repo.save_units(conn, UNITS)
    path = tmp_path / "index.yaml"
    criteria.write_text(small_index(), path)
    criteria.import_index(engine, ADMIN, path)
    auth.create_user(
        engine, ADMIN, auth.NewUser("li", "李四", (Grant(role=Role.liaison, scope="城管局"),), "Li-pass-2025")
    )
    auth.authenticate(engine, "li", "Li-pass-2025")
    with engine.connect() as conn:
        entries = audit.read_log(conn, ADMIN, limit=None)
    tables = {(e["table_name"], e["actor"]) for e in entries}
    for table in (
        "indexes",
        "categories",
        "items",
        "standards",
        "standard_units",
        "point_types",
        "users",
        "role_grants",
    ):
        assert (table, "test-admin") in tables, table
    assert ("users", "system:登录") in tables  # the log-in's last_login_at
    assert any(e["context"] == "导入测评体系 index.yaml" for e in entries)


def test_the_data_version_grows_with_each_write_and_can_leave_sign_ins_out(engine):
    from tests import seed

    seed.add_users(engine, {"boss": (Role.leader, None)})
    with engine.connect() as conn:
        before, figures = audit.data_version(conn), audit.data_version(conn, excluding=("users",))
    auth.authenticate(engine, "boss", seed.PASSWORD)  # a sign-in records the last login: an audited update of users
    with engine.connect() as conn:
        assert audit.data_version(conn) > before
        assert audit.data_version(conn, excluding=("users",)) == figures
    save_unit(engine, ADMIN, Unit(code="D09", name="县园林局"))
    with engine.connect() as conn:
        assert audit.data_version(conn, excluding=("users",)) == audit.data_version(conn) > figures
