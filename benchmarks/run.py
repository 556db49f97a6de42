"""Run the benchmarks and print one table: ``python -m benchmarks.run [--quick] [--only NAME] …`` (``make bench``).

Full mode uses the city data set (built once and cached, see benchmarks/generate.py), runs every measurement on
SQLite and on a throwaway PostgreSQL 15 server started here, and writes the table to benchmarks/RESULTS.md. Quick
mode uses the small data set and one repetition, prints the table and writes nothing: it only proves every
measurement still runs (``make test`` runs it through tests/test_benchmarks.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks import generate, harness
from tests import pgserver


class BenchPgServer(pgserver.PgServer):
    """The tests' throwaway server (tests/pgserver.py) with PostgreSQL's durable defaults: the tests turn fsync off
    for speed, a benchmark must not."""

    def start(self) -> BenchPgServer:
        data = self.dir / "data"
        self._run(
            str(pgserver.PG_BIN / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        self._run(
            str(pgserver.PG_BIN / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(self.dir / "log"),
            "-w",
            "-o",
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200",
            "start",
        )
        return self


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small data, one repetition, print only")
    p.add_argument("--only", action="append", default=[], metavar="NAME", help="run only this measurement")
    p.add_argument("--repeat", type=int, help="repetitions of each figure (default 5, quick 1)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-pg", action="store_true", help="SQLite only")
    p.add_argument("--db", action="append", choices=sorted(harness.LABELS), help="only this database (repeatable)")
    p.add_argument("--pg-url", default=os.environ.get("CIVEVAL_BENCH_PG_URL"), help="an existing server's admin URL")
    p.add_argument("--out", type=Path, help=f"write the table here (default in full mode: {harness.RESULTS})")
    return p


def execute(args: argparse.Namespace, *, log=None) -> tuple[str, list[harness.Figure], harness.Context]:
    """Run the measurements ``args`` select; returns the report, its figures and the context they ran in."""
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    modules = harness.measurements(args.only)
    dataset = generate.ensure("quick" if args.quick else "city", args.seed, log=log)
    work = Path(tempfile.mkdtemp(prefix="civeval-bench-"))
    server = None
    ctx = harness.Context(
        dataset=dataset,
        quick=args.quick,
        repeat=args.repeat or (1 if args.quick else 5),
        work=work,
        log=log,
        kinds=tuple(args.db or harness.LABELS),
    )
    try:
        if args.no_pg or "postgresql" not in ctx.kinds:
            ctx.pg_missing = "--no-pg"
        elif args.pg_url:
            ctx.pg = harness.PgServerHandle(args.pg_url)
        elif pgserver.available():
            server = BenchPgServer().start()
            ctx.pg = harness.PgServerHandle(server.url)
            ctx.pg_note = "throwaway server on the same machine, default settings, fsync on"
        else:
            ctx.pg_missing = f"no PostgreSQL at {pgserver.PG_BIN}"
        figures = harness.run_all(ctx, modules)
        text = harness.report(ctx, figures, ctx.pg.version() if ctx.pg else None)
    finally:
        if server is not None:
            try:
                server.stop()
            except subprocess.CalledProcessError:
                pass
        shutil.rmtree(work, ignore_errors=True)
    out = args.out or (None if args.quick or args.only else harness.RESULTS)
    if out is not None:
        out.write_text(f"# Benchmark results\n\nReproduce with `make bench` (`python -m benchmarks.run`).\n\n{text}")
        log(f"written to {out}")
    return text, figures, ctx


def main(argv: list[str] | None = None) -> int:
    text, figures, _ = execute(parser().parse_args(argv))
    print(text)
    return 1 if any(f.error for f in figures) else 0


if __name__ == "__main__":
    raise SystemExit(main())
