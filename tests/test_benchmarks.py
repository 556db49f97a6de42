"""The benchmark harness in quick mode (issue 7), so that it cannot rot: the small data set is generated (or taken
from benchmarks/cache/) and every measurement runs once, on SQLite and on the throwaway PostgreSQL. Timings are
never asserted; that every figure is there, that nothing failed, and that the data set holds what the generator
promises are."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from benchmarks import generate, harness, run
from civeval import audit
from civeval.metrics import finding_facts
from civeval.models import Actor, Grant, Role
from civeval.store import schema as t

OFFICE = Actor(user_id=None, username="bench-test", display_name="测试", grants=(Grant(role=Role.admin),))


@pytest.fixture(scope="module")
def dataset() -> generate.Dataset:
    return generate.ensure("quick", 1, log=lambda _: None)


def quick(*args: str) -> tuple[str, list[harness.Figure]]:
    text, figures, _ = run.execute(run.parser().parse_args(["--quick", *args]), log=lambda _: None)
    return text, figures


def check_table(text: str, figures: list[harness.Figure], database: str) -> None:
    for module in harness.measurements():
        for name in module.FIGURES:
            (row,) = [f for f in figures if f.name == name and f.database == database]
            assert not row.error, (name, row.error)
            assert row.value is not None and row.checks, (name, row.note)
            assert f"| {name} | {database} |" in text


def test_the_quick_data_set_holds_what_the_generator_promises(dataset):
    sc = generate.SCALES["quick"]
    c = dataset.counts
    assert c["points"] == 420 and c["rounds"] == sc.rounds and c["users"] == 5 + sc.inspectors
    assert 0.8 * sc.observations <= c["observations"] <= 1.05 * sc.observations
    assert c["findings"] >= 0.05 * c["observations"]
    engine = sa.create_engine(f"sqlite:///{dataset.path}")
    try:
        with engine.connect() as conn:
            statuses = set(conn.execute(sa.select(t.findings.c.status).distinct()).scalars())
            kinds = set(conn.execute(sa.select(t.rounds.c.status)).scalars())
            untouched = [c for codes in dataset.meta["open_points"].values() for c in codes]
            last = dataset.meta["in_progress_round_id"]
            answered = conn.execute(
                sa.select(sa.func.count())
                .select_from(t.observations.join(t.points, t.points.c.id == t.observations.c.point_id))
                .where(t.points.c.code.in_(untouched), t.observations.c.round_id == last)
            ).scalar_one()
            # every finding's events replay to the state stored on the finding (what the metrics rely on)
            as_of = dt.date.fromisoformat(dataset.meta["as_of_local_date"])
            with audit.clock_at(dt.datetime.fromisoformat(dataset.meta["as_of"])):
                facts = {f.id: f for f in finding_facts(conn, OFFICE, as_of)}
            stored = {r.id: r for r in conn.execute(sa.select(t.findings))}
    finally:
        engine.dispose()
    assert {"assigned", "in_progress", "submitted", "closed"} <= statuses
    assert kinds == {"closed", "in_progress"}
    assert untouched and answered == 0
    assert facts and set(facts) == {k for k, r in stored.items() if r.status != "voided"}
    for fid, fact in facts.items():
        row = stored[fid]
        assert (fact.status, fact.deadline, fact.closed_at) == (row.status, row.deadline, row.closed_at), row.code


def test_the_quick_benchmark_measures_every_figure_on_sqlite(dataset, chromium_path):  # the browser's figures too
    text, figures = quick("--db", "sqlite")
    check_table(text, figures, "SQLite")
    assert "PostgreSQL" not in {f.database for f in figures}
    assert f"{dataset.counts['observations']:,} observations" in text


@pytest.mark.postgres
def test_the_quick_benchmark_measures_every_figure_on_postgresql(dataset, pg_server, chromium_path):
    url = pg_server if isinstance(pg_server, str) else pg_server.url
    text, figures = quick("--db", "postgresql", "--pg-url", url)
    check_table(text, figures, "PostgreSQL")
    assert "PostgreSQL 15" in text
