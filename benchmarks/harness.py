"""The harness: figures and goals, the databases a measurement runs on, the measurements found, the table.

A measurement is one module ``benchmarks/bench_<name>.py`` with::

    NAME = "scoring"                 # what --only takes
    FIGURES = ["scoring: …", …]      # the figures it reports (for each database, when it uses one)
    USES_DATABASE = True             # run once on SQLite and once on PostgreSQL; False: once, without one

    def run(ctx: Context, db: Database | None) -> list[Figure]: …

Dropping such a file into ``benchmarks/`` is all it takes: ``measurements()`` finds it, and ``ORDER`` says where
its rows go in the table (the order of the issue's list; a name not in it goes last).
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import pkgutil
import platform
import sqlite3
import statistics
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa

from benchmarks import generate

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "RESULTS.md"
ORDER = ("dashboard", "browser", "scoring", "concurrent", "bulletin", "imports")
LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


# --- figures --------------------------------------------------------------------------------------------------


def fmt_number(v: float) -> str:
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


@dataclass(frozen=True)
class Goal:
    op: str  # "<=" or ">="
    value: float
    unit: str

    def met(self, measured: float) -> bool:
        return measured <= self.value if self.op == "<=" else measured >= self.value

    def __str__(self) -> str:
        return f"{'≤' if self.op == '<=' else '≥'} {fmt_number(self.value)} {self.unit}"


@dataclass
class Figure:
    """One row of the table: a figure measured on one database (or on none)."""

    name: str
    database: str  # "SQLite", "PostgreSQL", or "—"
    value: float | None
    unit: str
    goal: Goal | None = None
    samples: list[float] = field(default_factory=list)
    note: str = ""
    error: str = ""  # the measurement failed: shown as not met, with the error
    checks: bool = True  # conditions of the goal besides the number (no error, every save stored …)
    skipped: str = ""  # not measured, and why (e.g. no PostgreSQL on this machine)
    cpu: list[float] = field(default_factory=list)  # this process's CPU time of each run, in the figure's unit

    @property
    def met(self) -> bool | None:
        if self.skipped:
            return None
        if self.error or self.value is None:
            return False
        if self.goal is None:
            return None if self.checks else False
        return self.goal.met(self.value) and self.checks

    @property
    def measured(self) -> str:
        if self.skipped:
            return "not measured"
        if self.error or self.value is None:
            return "error"
        return f"{fmt_number(self.value)} {self.unit}"

    @property
    def verdict(self) -> str:
        return {True: "met", False: "**not met**", None: "—"}[self.met]

    @property
    def notes(self) -> str:
        parts = []
        if self.samples and len(self.samples) > 1:
            low, high = fmt_number(min(self.samples)), fmt_number(max(self.samples))
            parts.append(f"median of {len(self.samples)} runs ({low}–{high})")
        if self.cpu:
            parts.append(f"CPU time of this process: median {fmt_number(statistics.median(self.cpu))} {self.unit}")
        if self.note:
            parts.append(self.note)
        if self.error:
            parts.append(f"error: {self.error}")
        if self.skipped:
            parts.append(self.skipped)
        return "; ".join(parts).replace("|", "/").replace("\n", " ")


def median_figure(name: str, database: str, samples: Sequence[float], unit: str, goal: Goal | None = None, **kw):
    """A figure whose value is the median of ``samples``."""
    return Figure(name, database, statistics.median(samples), unit, goal, list(samples), **kw)


def timed(fn: Callable[[], object], cpu: list[float] | None = None) -> tuple[float, object]:
    """(seconds, result) of one call; its CPU seconds (this process: every thread, SQLite's work included, not a
    PostgreSQL server's) appended to ``cpu`` when given. On a machine other work loads, the CPU time is close to
    what the wall time would be on a quiet one (for SQLite)."""
    t0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    wall, used = time.perf_counter() - t0, time.process_time() - c0
    if cpu is not None:
        cpu.append(used)
    return wall, result


# --- databases --------------------------------------------------------------------------------------------------


class PgServerHandle:
    """A PostgreSQL server the run may create databases on: ``url`` names its maintenance database."""

    def __init__(self, url: str) -> None:
        self.url = url

    def create_database(self, name: str, *, template: str | None = None) -> str:
        engine = sa.create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                extra = f' TEMPLATE "{template}"' if template else ""
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"{extra}')
        finally:
            engine.dispose()
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def version(self) -> str:
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as conn:
                return str(conn.exec_driver_sql("SHOW server_version").scalar()).split()[0]
        finally:
            engine.dispose()


class Database:
    """One database product for the run: the data set loaded into it (on first use) and fresh databases on demand.

    Measurements that write answer only the last round's untouched points they ``claim``, so they never meet."""

    def __init__(self, ctx: Context, kind: str) -> None:
        self.ctx, self.kind, self.label = ctx, kind, LABELS[kind]
        self._dataset_url: str | None = None
        self._register_template: str | None = None
        self._open = {k: list(v) for k, v in ctx.dataset.meta["open_points"].items()}

    def dataset_url(self) -> str:
        """The full data set (a copy: the cache is never written)."""
        if self._dataset_url is None:
            if self.kind == "sqlite":
                path = self.ctx.work / "dataset.db"
                seconds, _ = timed(lambda: generate.copy_sqlite(self.ctx.dataset.path, path))
                self._dataset_url = f"sqlite:///{path}"
                self.ctx.setup["copy of the data set (SQLite)"] = seconds
            else:
                url = self.ctx.pg.create_database(f"bench_{uuid.uuid4().hex[:8]}")
                self.ctx.log(f"loading the data set into PostgreSQL {url} …")
                seconds, _ = timed(lambda: generate.load_postgres(self.ctx.dataset.path, url))
                self.ctx.log(f"  loaded in {seconds:.0f} s")
                self._dataset_url = url
                self.ctx.setup["load of the data set into PostgreSQL (COPY, then VACUUM and ANALYZE)"] = seconds
        return self._dataset_url

    def fresh_url(self, template: str = "empty") -> str:
        """A new database: ``empty`` (migrated by whoever opens it first) or ``register`` (the data set's units,
        index, points and users, without rounds)."""
        name = f"fresh_{uuid.uuid4().hex[:10]}"
        if self.kind == "sqlite":
            path = self.ctx.work / f"{name}.db"
            if template == "register":
                generate.copy_sqlite(self.ctx.dataset.reference, path)
            return f"sqlite:///{path}"
        if template == "register":
            if self._register_template is None:
                name_t = f"register_{uuid.uuid4().hex[:8]}"
                generate.load_postgres(self.ctx.dataset.reference, self.ctx.pg.create_database(name_t))
                self._register_template = name_t
            return self.ctx.pg.create_database(name, template=self._register_template)
        return self.ctx.pg.create_database(name)

    def untouched(self) -> dict[str, list[str]]:
        """Inspector -> the codes of their points in the in-progress round that nobody has answered yet (and no
        measurement has claimed)."""
        return {k: list(v) for k, v in self._open.items()}

    def claim(self, inspector: str, codes: Sequence[str]) -> list[str]:
        """Take these untouched points of ``inspector``: never handed out twice in a run."""
        pool = self._open[inspector]
        if missing := [c for c in codes if c not in pool]:
            raise RuntimeError(f"points {missing} of {inspector} are not untouched (or already claimed)")
        self._open[inspector] = [c for c in pool if c not in codes]
        return list(codes)

    def claim_points(self, inspector: str, n: int = 1) -> list[str]:
        """The first ``n`` untouched points of ``inspector``."""
        pool = self._open[inspector]
        if len(pool) < n:
            raise RuntimeError(f"{inspector} has {len(pool)} untouched points left, {n} asked for")
        return self.claim(inspector, pool[:n])


@dataclass
class Context:
    """What a measurement gets: the data set, the scale, how many repetitions, a work folder, the databases."""

    dataset: generate.Dataset
    quick: bool
    repeat: int
    work: Path
    pg: PgServerHandle | None = None
    pg_missing: str = ""  # why PostgreSQL is not measured, when it is not
    pg_note: str = "an existing server"  # what server it is, for the header
    log: Callable[[str], None] = print
    setup: dict[str, float] = field(default_factory=dict)  # seconds of preparation steps, for the header
    kinds: tuple[str, ...] = ("sqlite", "postgresql")  # the database products asked for
    load: list[float] = field(default_factory=list)  # 1-minute load average as each measurement started
    settled: list[float] = field(default_factory=list)  # seconds waited for a quiet machine before each
    setup_objects: dict[str, object] = field(default_factory=dict)  # what measurements prepare once per run
    _dbs: dict[str, Database] = field(default_factory=dict)

    @property
    def meta(self) -> dict:
        return self.dataset.meta

    def databases(self) -> list[Database]:
        kinds = [k for k in self.kinds if k == "sqlite" or self.pg is not None]
        for k in kinds:
            self._dbs.setdefault(k, Database(self, k))
        return [self._dbs[k] for k in kinds]


# --- measurements -----------------------------------------------------------------------------------------------


def measurements(only: Sequence[str] = ()) -> list[ModuleType]:
    """The measurement modules ``bench_*.py`` of this folder, in table order (``only``: those names)."""
    found = pkgutil.iter_modules([str(BENCH_DIR)])
    names = [m.name.removeprefix("bench_") for m in found if m.name.startswith("bench_")]
    names.sort(key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    if only:
        unknown = set(only) - set(names)
        if unknown:
            raise SystemExit(f"unknown measurement(s): {', '.join(sorted(unknown))}; known: {', '.join(names)}")
        names = [n for n in names if n in only]
    return [importlib.import_module(f"benchmarks.bench_{n}") for n in names]


def busy_cores(seconds: float = 1.0) -> float:
    """How many cores' worth of work the machine did over ``seconds`` (all its processes, from /proc/stat)."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        idle = fields[3] + fields[4]  # idle, iowait
        return sum(fields), idle

    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    elapsed = total1 - total0
    cores = os.cpu_count() or 1
    return cores * (1 - (idle1 - idle0) / elapsed) if elapsed else 0.0


def settle(quiet: float = 0.3, longest: float = 60.0) -> float:
    """Wait until the machine is quiet (less than ``quiet`` of a core busy over a second) or ``longest`` seconds
    have passed: what the previous measurement left running (a browser closing, PostgreSQL writing its checkpoint)
    must not be measured with the next one. Returns the seconds waited."""
    if not os.path.exists("/proc/stat"):
        return 0.0
    t0 = time.perf_counter()
    while busy_cores() >= quiet and time.perf_counter() - t0 < longest:
        pass
    return time.perf_counter() - t0


def run_all(ctx: Context, modules: Sequence[ModuleType]) -> list[Figure]:
    """Run every measurement on each database it uses; a failure becomes an error row, never a stop."""
    figures: list[Figure] = []
    for module in modules:
        uses_db = getattr(module, "USES_DATABASE", True)
        targets: list[Database | None] = list(ctx.databases()) if uses_db else [None]
        for db in targets:
            label = db.label if db else "—"
            if not ctx.quick:  # quick mode runs inside the test suite, beside other tests: never quiet
                ctx.settled.append(settle())
            ctx.load.append(os.getloadavg()[0])
            ctx.log(f"{module.NAME} on {label} … (load average {ctx.load[-1]:.1f})")
            t0 = time.perf_counter()
            try:
                got = list(module.run(ctx, db))
            except Exception as e:  # reported in the table; the rest still runs
                traceback.print_exc()
                got = [Figure(name, label, None, "", error=f"{type(e).__name__}: {e}"[:300]) for name in module.FIGURES]
            ctx.log(f"  {module.NAME} on {label}: {time.perf_counter() - t0:.1f} s")
            figures += got
        if uses_db and ctx.pg is None and "postgresql" in ctx.kinds:
            figures += [Figure(n, "PostgreSQL", None, "", skipped=ctx.pg_missing) for n in module.FIGURES]
    return figures


# --- the table --------------------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    mem = cpu = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": str(os.cpu_count()),
        "cpu": cpu or platform.processor() or platform.machine(),
        "memory": mem or "?",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def header(ctx: Context, pg_version: str | None) -> list[str]:
    m, meta, c = machine(), ctx.meta, ctx.dataset.counts
    mode = "quick mode (small sizes: checks that every measurement runs, not a result)" if ctx.quick else "full"
    lines = [
        f"civeval benchmark, {mode}; {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"- machine: {m['cores']} CPU cores ({m['cpu']}), {m['memory']} memory, Linux {platform.release()}",
        f"- software: Python {m['python']}, SQLite {m['sqlite']}, "
        + (f"PostgreSQL {pg_version} ({ctx.pg_note})" if pg_version else f"PostgreSQL not measured ({ctx.pg_missing})"),
        f"- data ({meta['scale']} scale, seed {meta['seed']}, generator v{meta['generator_version']}): "
        f"{c['points']:,} points, {c['units']:,} units, {c['users']} users, {c['rounds']} rounds "
        f"({c['round_points']:,} drawn points), {c['observations']:,} observations, {c['findings']:,} findings "
        f"({c['finding_events']:,} events); SQLite file {meta.get('file_mb', '?')} MB, "
        f"built in {meta['build_seconds']:.0f} s"
        + (f" ({meta['build_cpu_seconds']:.0f} s of CPU)" if "build_cpu_seconds" in meta else "")
        + " (cached in benchmarks/cache/)",
    ]
    if ctx.setup:
        lines.append("- preparation: " + "; ".join(f"{k} {v:.1f} s" for k, v in ctx.setup.items()))
    load = ", ".join(f"{x:.1f}" for x in ctx.load) if ctx.load else "?"
    lines.append(
        f"- load average (1 min) of the machine when each measurement started: {load} "
        f"(above {m['cores']}: other work competed for the cores, and figures are slower than on a quiet machine)"
    )
    if ctx.settled:
        waited = ", ".join(f"{x:.0f}" for x in ctx.settled)
        lines.append(
            f"- seconds waited before each measurement for the machine to be quiet (under 0.3 of a core busy, at "
            f"most 60 s): {waited}"
        )
    lines.append(f"- each figure is the median of its runs ({ctx.repeat} unless the notes say otherwise)")
    return lines


def table(figures: Sequence[Figure]) -> list[str]:
    rows = [
        "| figure | database | measured | goal | met | notes |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for f in figures:
        rows.append(f"| {f.name} | {f.database} | {f.measured} | {f.goal or '—'} | {f.verdict} | {f.notes} |")
    return rows


def report(ctx: Context, figures: Sequence[Figure], pg_version: str | None) -> str:
    return "\n".join([*header(ctx, pg_version), "", *table(figures), ""])
