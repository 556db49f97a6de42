"""Imports: a 10,000-point register workbook and the sample index, read, checked and stored as the office does.

The register workbook is written by the product's own writer (``registers.write_points``, as 点位台账导出 writes it)
with 10,000 points placed in the data set's streets, types and units under new codes. Each run imports it into a
fresh copy of the data set's register (units, index, 6,000 points): every point new. The same file imported again
into that database matches all 10,000 and changes none (the office's usual round trip: export, edit a few,
import). The sample index
``criteria/sample-county.yaml`` is imported into a fresh database holding its units. Only the import is timed; the
peak memory is measured once more with tracemalloc (Python allocations, the workbook reader's included).
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import sqlalchemy as sa

from benchmarks.harness import Context, Database, Figure, Goal, median_figure, timed
from civeval import audit, criteria, demo, registers
from civeval.models import Actor
from civeval.store import open_engine, repo

NAME = "imports"
REGISTER = "imports: 10,000-point register workbook read and stored (all new)"
REIMPORT = "imports: the same register imported again (10,000 matched, none changed)"
MEMORY = "imports: 10,000-point register, peak Python memory (tracemalloc)"
INDEX = "imports: sample index criteria/sample-county.yaml read and stored"
FIGURES = [REGISTER, REIMPORT, MEMORY, INDEX]
USES_DATABASE = True
REGISTER_GOAL = Goal("<=", 5, "s")
INDEX_GOAL = Goal("<=", 1, "s")
ACTOR = Actor.system("性能测试")


def register_size(ctx: Context) -> int:
    return 500 if ctx.quick else 10_000


def workbook(ctx: Context) -> Path:
    """The register workbook, written once per run from the data set's register."""
    path = ctx.work / f"register-{register_size(ctx)}.xlsx"
    if path.exists():
        return path
    engine = sa.create_engine(f"sqlite:///{ctx.dataset.reference}")  # read only: not migrated, not written
    try:
        with engine.connect() as conn:
            points = repo.list_points(conn)
            types = repo.list_point_types(conn)
    finally:
        engine.dispose()
    n = register_size(ctx)
    new = [
        p.model_copy(update={"code": f"R{i + 1:05d}", "name": f"{p.name}（新{i + 1}）"})
        for i, p in zip(range(n), points * (n // len(points) + 1), strict=False)
    ]
    used = {p.point_type for p in new}
    registers.write_points(new, path, point_types=[t for t in types if t.name in used])
    return path


def run(ctx: Context, db: Database) -> list[Figure]:
    path = workbook(ctx)
    n = register_size(ctx)
    new, again, index = [], [], []
    cpu: list[list[float]] = [[], [], []]
    for _ in range(ctx.repeat):
        engine = open_engine(db.fresh_url("register"))
        try:
            seconds, (added, _) = timed(lambda engine=engine: registers.import_points(engine, ACTOR, path), cpu[0])
            if added != n:
                raise RuntimeError(f"{added} points added of {n}")
            new.append(seconds)
            seconds, (_, updated) = timed(lambda engine=engine: registers.import_points(engine, ACTOR, path), cpu[1])
            if updated != n:
                raise RuntimeError(f"{updated} points updated of {n}")
            again.append(seconds)
        finally:
            engine.dispose()
        index.append(_index_import(db, cpu[2]))
    engine = open_engine(db.fresh_url("register"))
    try:
        tracemalloc.start()
        registers.import_points(engine, ACTOR, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        engine.dispose()
    size = f"{n:,} points, {path.stat().st_size / 2**20:.1f} MB workbook"
    return [
        median_figure(REGISTER, db.label, new, "s", REGISTER_GOAL, note=size, cpu=cpu[0]),
        median_figure(REIMPORT, db.label, again, "s", REGISTER_GOAL, note=size, cpu=cpu[1]),
        Figure(MEMORY, db.label, peak / 2**20, "MB", note=f"{size}; one run"),
        median_figure(INDEX, db.label, index, "s", INDEX_GOAL, note="189 standards, 29 point types", cpu=cpu[2]),
    ]


def _index_import(db: Database, cpu: list[float]) -> float:
    engine = open_engine(db.fresh_url("empty"))
    try:
        with audit.writing(engine, ACTOR, context="性能测试：单位") as conn:
            repo.save_units(conn, demo.load_sample_units())
        seconds, _ = timed(lambda: criteria.import_index(engine, ACTOR, demo.SAMPLE_INDEX), cpu)
        return seconds
    finally:
        engine.dispose()
