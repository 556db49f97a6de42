"""The demo city: believable, deterministic, every point type used."""

from __future__ import annotations

import pytest

from civeval import demo
from civeval.models import UnitKind
from civeval.store import open_engine, repo


def build(url: str, seed: int = 7, scale: str = "county"):
    engine = open_engine(url)
    demo.build_demo(engine, seed=seed, scale=scale, with_rounds=False)
    with engine.connect() as conn:
        return repo.list_units(conn), repo.list_points(conn), repo.list_indexes(conn)


def test_county_demo_is_believable(db_url):
    units, points, indexes = build(db_url)
    assert len(indexes) == 1 and indexes[0].n_standards >= 150
    kinds = {k: sum(u.kind is k for u in units) for k in UnitKind}
    assert kinds[UnitKind.street] >= 4 and kinds[UnitKind.town] >= 4 and kinds[UnitKind.community] >= 30
    assert kinds[UnitKind.department] >= 30
    assert 200 <= len(points) <= 1500
    index = demo.load_sample_index()
    assert {p.point_type for p in points} == {pt.name for pt in index.point_types}
    unit_names = {u.name for u in units}
    streets = {u.name for u in units if u.kind in (UnitKind.street, UnitKind.town)}
    assert all(p.street in streets and p.custodian_unit in unit_names for p in points)
    assert all(p.lat and p.lon for p in points)
    assert len({p.code for p in points}) == len(points)


def test_demo_is_deterministic_for_a_seed(tmp_path):
    a = build(f"sqlite:///{tmp_path / 'a.db'}", seed=3)
    b = build(f"sqlite:///{tmp_path / 'b.db'}", seed=3)
    c = build(f"sqlite:///{tmp_path / 'c.db'}", seed=4)
    assert a[:2] == b[:2]
    assert a[1] != c[1]


def test_demo_refuses_a_database_that_has_data(sqlite_url):
    engine = open_engine(sqlite_url)
    demo.build_demo(engine, seed=1, with_rounds=False)
    with pytest.raises(repo.StoreError, match="空数据库"):
        demo.build_demo(engine, seed=2, with_rounds=False)


def test_city_scale_has_about_6000_points(sqlite_url):
    _, points, _ = build(sqlite_url, seed=1, scale="city")
    assert 5500 <= len(points) <= 6500


def test_demo_has_finished_rounds_with_improving_scores_and_one_in_progress(sqlite_url, tmp_path):
    from civeval import rounds
    from civeval.models import RoundStatus
    from tests.conftest import ADMIN

    engine = open_engine(sqlite_url)
    demo.build_demo(engine, seed=2)
    with engine.connect() as conn:
        infos = sorted(rounds.list_rounds(conn, ADMIN), key=lambda r: r.start_date)
        assert [r.status for r in infos] == [RoundStatus.closed] * 3 + [RoundStatus.in_progress]
        rates = [rounds.round_scores(conn, ADMIN, r.id).overall.rate for r in infos[:3]]
        assert all(0.5 < r < 0.98 for r in rates) and rates[0] < rates[2]
        assert all(r.n_submitted == r.n_points >= 50 for r in infos[:3])
        assert 0 < infos[3].n_submitted < infos[3].n_points
    assert any((tmp_path / "photos").rglob("*.jpg"))  # photos of failures, beside the database
