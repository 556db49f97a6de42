"""Store round-trips on SQLite and PostgreSQL (real servers, no mocks)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from civeval import audit
from civeval.models import (
    Category,
    EvaluationIndex,
    Indicator,
    Item,
    Method,
    Point,
    PointType,
    Responsibility,
    ScoringMode,
    Severity,
    Standard,
    Unit,
    UnitKind,
    Veto,
)
from civeval.store import migrations_current, repo
from tests.conftest import ADMIN


def small_index(version: str = "2024") -> EvaluationIndex:
    return EvaluationIndex(
        name="测试体系",
        version=version,
        year=2024,
        edition="县级",
        point_types=[PointType(code="PT01", name="农贸市场"), PointType(code="PT02", name="背街小巷")],
        categories=[
            Category(
                code="I-1",
                name="公共环境",
                indicators=[Indicator(code="II-1", name="市容环境")],
                items=[
                    Item(
                        code="III-1",
                        name="农贸市场",
                        indicator="II-1",
                        standards=[
                            Standard(
                                code="III-1-1",
                                text="市场内地面干净，无积水",
                                methods=[Method.field],
                                full_marks=2,
                                scoring_mode=ScoringMode.deduction,
                                per_instance=0.5,
                                cap=2,
                                point_types=["农贸市场", "背街小巷"],
                                lead_unit="市场监管局",
                                supporting_units=["城管局"],
                                responsibility=Responsibility.custodian,
                                veto=Veto.none,
                                instructions="从正门进入，步行200米",
                                severity=Severity.urgent,
                            ),
                            Standard(
                                code="III-1-2",
                                text="制度上墙",
                                methods=[Method.materials, Method.survey],
                                full_marks=1,
                                scoring_mode=ScoringMode.graded,
                                lead_unit="城管局",
                                responsibility=Responsibility.lead,
                                veto=Veto.alert,
                                deadline_days=5,
                            ),
                        ],
                    )
                ],
            ),
            Category(
                code="I-2",
                name="诚信建设",
                items=[
                    Item(
                        code="III-2",
                        name="诚信宣传",
                        standards=[
                            Standard(code="III-2-1", text="公益广告", methods=[Method.simulation], full_marks=1)
                        ],
                    )
                ],
            ),
        ],
    )


UNITS = [
    Unit(code="D01", name="市场监管局"),
    Unit(code="D02", name="城管局"),
    Unit(code="S01", name="城关街道", kind=UnitKind.street),
    Unit(code="C01", name="东关社区", kind=UnitKind.community, parent="城关街道"),
]


def test_migrations_current_after_open(engine):
    assert migrations_current(engine)


def test_index_round_trip(engine):
    idx = small_index()
    with audit.writing(engine, ADMIN) as conn:
        repo.save_units(conn, UNITS)
        index_id = repo.save_index(conn, idx)
    with engine.connect() as conn:
        assert repo.load_index(conn, index_id) == idx
        [info] = repo.list_indexes(conn)
    assert (info.n_categories, info.n_items, info.n_standards) == (2, 2, 3)


def test_two_versions_side_by_side_and_duplicate_refused(engine):
    with audit.writing(engine, ADMIN) as conn:
        repo.save_units(conn, UNITS)
        repo.save_index(conn, small_index("2024"))
        repo.save_index(conn, small_index("2025"))
    with pytest.raises(repo.StoreError, match="已存在"), audit.writing(engine, ADMIN) as conn:
        repo.save_index(conn, small_index("2024"))
    with engine.connect() as conn:
        assert [i.version for i in repo.list_indexes(conn)] == ["2024", "2025"]


def test_index_with_unknown_unit_refused_and_nothing_stored(engine):
    with pytest.raises(repo.StoreError, match="市场监管局"), audit.writing(engine, ADMIN) as conn:
        repo.save_units(conn, UNITS[1:])
        repo.save_index(conn, small_index())
    with engine.connect() as conn:
        assert repo.count_rows(conn) == {"indexes": 0, "standards": 0, "units": 0, "points": 0, "point_types": 0}


def test_units_and_points_round_trip_and_update(engine):
    with audit.writing(engine, ADMIN) as conn:
        repo.save_units(conn, UNITS)
        repo.save_point_types(conn, small_index().point_types)
        p = Point(
            code="P001",
            name="东关农贸市场",
            point_type="农贸市场",
            street="城关街道",
            address="东关路1号",
            lat=35.1,
            lon=113.2,
            custodian_unit="市场监管局",
            road_chief_unit="城管局",
            owner_leader="张副县长",
        )
        assert repo.save_points(conn, [p]) == (1, 0)
    with audit.writing(engine, ADMIN) as conn:
        assert repo.get_point(conn, "P001") == p
        assert repo.list_units(conn) == sorted(UNITS, key=lambda u: u.code)
        assert repo.save_points(conn, [p.model_copy(update={"active": False})]) == (0, 1)
        assert repo.list_points(conn, active_only=True) == []
        assert repo.list_points(conn, search="东关", point_types=["农贸市场"])[0].code == "P001"


def test_sqlite_is_wal_with_busy_timeout(sqlite_url):
    from civeval.store import open_engine

    eng = open_engine(sqlite_url)
    with eng.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(sa.text("PRAGMA busy_timeout")).scalar() >= 5000
