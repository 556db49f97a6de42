"""Bulletin: the full Excel bulletin (测评通报) with every finding of the city, against pandas ``to_excel``.

A round's bulletin (``python -m civeval report``) lists that round's findings: 2,300–5,300 a round in the city data
set. The issue's bulletin "with 100,000 findings" is the same workbook with the lists widened to every finding of the
city: the data are gathered for the last closed round as of the data's "now" with ``bulletin.gather`` (cover,
rankings, losses, trend and street points are that round's), then 问题清单, 整改台账 and each street's findings hold
every finding as it stood that day (``metrics.finding_facts``, ``findings.list_findings``, ``bulletin.ledger_row``:
what ``gather`` does for one round), 107,000+ rows in each list at city scale, every one written three times (gap
list, ledger, its street's sheet). Gathering is timed apart (in the notes); it is not part of any figure.

The gathered ``BulletinData`` is pickled, and each writing runs in a fresh Python process
(``python -m benchmarks.bulletin_writer``, which imports civeval's bulletin and pandas, not this harness) that loads
it and writes the workbook:

- civeval: ``bulletin.render`` (xlsxwriter, constant memory, the long tables through ``StreamingWorksheet``),
  everything it does timed: the rows made from the findings, text measured, formats, charts, the file closed;
- pandas: the same sheets, in the same order, with the same tables (columns and rows), the rows made by the
  bulletin's own row functions (``gap_rows``, ``ledger_rows``, ``rank_rows`` …) before the clock starts; timed:
  a ``DataFrame`` per table and ``to_excel(engine="openpyxl")`` into one ``ExcelWriter``, the file closed. No
  titles, widths, formats or charts: pandas is asked for less than the bulletin writes.

Peak memory is the writing process's peak resident set (``VmHWM``): the interpreter, the libraries, the data loaded
and the writing, memory allocated outside Python's allocator included (tracemalloc sees only Python's); the notes
give what was held when the writing started and the peak while it ran (``VmHWM`` reset through
``/proc/self/clear_refs`` as it started). Both
files are read back: the data rows of 问题清单 and 整改台账 are counted in each sheet's XML and must equal the
findings, and the pandas workbook must have the bulletin's sheets with the same data rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import pickle
import re
import statistics
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from benchmarks.harness import PROJECT_ROOT, Context, Database, Figure, Goal, median_figure, timed
from civeval import audit, bulletin, findings, metrics
from civeval.models import Actor
from civeval.store import open_engine

NAME = "bulletin"
WRITTEN = "bulletin: the full bulletin, every finding of the city (100,000+), written (civeval, xlsxwriter)"
PANDAS = "bulletin: the same sheets and rows written by pandas to_excel (openpyxl): the yardstick"
RATIO = "bulletin: pandas time / civeval time"
MEMORY = "bulletin: peak memory (RSS) of the process writing the full bulletin"
PANDAS_MEMORY = "bulletin: peak memory (RSS) of the process writing it with pandas (for comparison)"
FIGURES = [WRITTEN, PANDAS, RATIO, MEMORY, PANDAS_MEMORY]
USES_DATABASE = True
RATIO_GOAL = Goal(">=", 3, "×")
MEMORY_GOAL = Goal("<=", 400, "MB")
ACTOR = Actor.system("性能测试")
CHILD_TIMEOUT = 3 * 3600  # pandas takes ~10 minutes at city scale on a loaded machine
LISTS = (bulletin.GAP_LIST, bulletin.LEDGER)
HEAD_ROWS = {"civeval": 3, "pandas": 1}  # rows above a long table's data: title, note, header / header


def run(ctx: Context, db: Database) -> list[Figure]:
    runs = ctx.repeat if ctx.quick else 1  # pandas takes ~10 minutes a run at city scale
    url = db.dataset_url()
    gather_seconds, data = timed(lambda: full_data(url, ctx.meta))
    n = len(data.findings)
    pickled = ctx.work / f"bulletin-{db.kind}.pickle"
    pickled.write_bytes(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
    del data
    got: dict[str, list[dict]] = {"civeval": [], "pandas": []}
    for i in range(runs):
        for side, results in got.items():
            out = ctx.work / f"bulletin-{db.kind}-{side}-{i}.xlsx"
            r = _child(side, pickled, out)
            counts = sheet_rows(out, LISTS)
            r["read_back"] = {name: counts[name] - HEAD_ROWS[side] for name in LISTS}
            r["sheets"] = [tuple(x) for x in r["sheets"]]
            out.unlink()
            results.append(r)
    pickled.unlink()

    written = got["civeval"][0]["sheets"]
    rows_ok = all(v == n for side in got.values() for r in side for v in r["read_back"].values())
    same = all(r["sheets"] == written for side in got.values() for r in side)
    checks = rows_ok and same and (ctx.quick or n >= 100_000)
    what = (
        f"round {last_closed_round(ctx.meta)}'s bulletin with the lists widened to every finding of the city as of "
        f"{ctx.meta['as_of_local_date']}: {n:,} findings, each in 问题清单, 整改台账 and its street's sheet; "
        f"{len(written)} sheets, {sum(rows for _, rows in written):,} data rows"
    )
    if rows_ok:
        what += f"; read back from the file: 问题清单 and 整改台账 {n:,} data rows each"
    else:
        what += f"; read back, data rows: {[r['read_back'] for side in got.values() for r in side]}, not {n:,}"
    if not same:
        what += "; the pandas workbook's sheets or data rows differ from the bulletin's"
    one = "one run; " if runs == 1 else ""

    def cpu(side: str) -> str:
        return f"CPU time of the writing process: median {statistics.median(r['cpu'] for r in got[side]):.1f} s"

    def size(side: str) -> str:
        return f"{got[side][0]['size'] / 2**20:.1f} MB file"

    def peak(side: str, figure: str, goal: Goal | None, held: str) -> Figure:
        rs = got[side]
        note = f"highest of {runs} runs; " if runs > 1 else one
        note += (
            f"the fresh writing process's peak resident set (VmHWM), loading the data included; "
            f"{max(r['held_mb'] for r in rs):.0f} MB held when the writing started ({held})"
        )
        if all(r["peak_reset"] for r in rs):
            note += f", {max(r['writing_peak_mb'] for r in rs):.0f} MB at most while it ran"
        peak_mb = max(max(r["loading_peak_mb"], r["writing_peak_mb"]) for r in rs)
        return Figure(figure, db.label, peak_mb, "MB", goal, note=note, checks=checks)

    c, p = ([r["seconds"] for r in got[side]] for side in ("civeval", "pandas"))
    cpu_ratio = statistics.median(r["cpu"] for r in got["pandas"]) / statistics.median(r["cpu"] for r in got["civeval"])
    gathered = f"gathering the data from {db.label} took {gather_seconds:.1f} s (in no figure)"
    return [
        median_figure(
            WRITTEN,
            db.label,
            c,
            "s",
            note=f"{one}{cpu('civeval')}; bulletin.render, all of it; {what}; {size('civeval')}; {gathered}",
            checks=checks,
        ),
        median_figure(
            PANDAS,
            db.label,
            p,
            "s",
            note=f"{one}{cpu('pandas')}; a DataFrame and to_excel per table, the rows made by the bulletin's row "
            f"functions before the clock; no titles, widths, formats or charts; {size('pandas')}",
            checks=checks,
        ),
        Figure(
            RATIO,
            db.label,
            statistics.median(p) / statistics.median(c),
            "×",
            RATIO_GOAL,
            note=f"the two figures above ({'one run each' if runs == 1 else f'medians of {runs} runs each'}); "
            f"of their CPU times: {cpu_ratio:.1f} ×",
            checks=checks,
        ),
        peak("civeval", MEMORY, MEMORY_GOAL, "interpreter, libraries, the data unpickled"),
        peak("pandas", PANDAS_MEMORY, None, "interpreter, libraries, pandas, the data unpickled, its rows made"),
    ]


# --- the data ------------------------------------------------------------------------------------------------------


def last_closed_round(meta: dict) -> int:
    return max(r for r in meta["round_ids"] if r != meta["in_progress_round_id"])


def full_data(url: str, meta: dict) -> bulletin.BulletinData:
    """The last closed round's bulletin with its lists widened to every finding of the city, as of the data's now."""
    as_of = dt.date.fromisoformat(meta["as_of_local_date"])
    engine = open_engine(url)
    try:
        with audit.clock_at(dt.datetime.fromisoformat(meta["as_of"])), engine.connect() as conn:
            data = bulletin.gather(conn, ACTOR, last_closed_round(meta), as_of)
            facts = metrics.finding_facts(conn, ACTOR, as_of)
            details = {f.id: f for f in findings.list_findings(conn, ACTOR)}
    finally:
        engine.dispose()
    rows = sorted((bulletin.ledger_row(f, details.get(f.id), as_of) for f in facts), key=bulletin.gap_order)
    del details
    by_street: dict[str, list[bulletin.LedgerRow]] = {}
    for r in rows:
        by_street.setdefault(r.street, []).append(r)
    parts = {p.name: p for p in data.streets}
    names = list(parts) + sorted({r.street for r in rows if r.street} - set(parts))
    streets = [
        bulletin.StreetPart(
            name,
            parts[name].points if name in parts else [],
            sorted(by_street.get(name, []), key=bulletin.street_order),
        )
        for name in names
    ]
    return dataclasses.replace(data, findings=rows, streets=streets)


# --- the writing processes -----------------------------------------------------------------------------------------


def _child(side: str, pickled: Path, out: Path) -> dict:
    """Write the bulletin in a fresh process; returns what it reports (seconds, CPU, memory, sheets)."""
    cmd = [sys.executable, "-m", "benchmarks.bulletin_writer", side, str(pickled), str(out)]
    done = subprocess.run(cmd, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError(f"{side} writer failed: {done.stderr.strip()[-600:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- reading back --------------------------------------------------------------------------------------------------

_NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "p": "http://schemas.openxmlformats.org/package/2006/relationships",
}
_ROW = re.compile(rb"<row[ >]")


def sheet_rows(path: str | Path, names: tuple[str, ...]) -> dict[str, int]:
    """The number of rows (``<row>`` elements) in each named sheet of an .xlsx file, counted in its XML."""
    with zipfile.ZipFile(path) as zf:
        book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        target = {r.get("Id"): r.get("Target") for r in rels.findall("p:Relationship", _NS)}
        rid = f"{{{_NS['r']}}}id"
        members = {}
        for s in book.findall("m:sheets/m:sheet", _NS):
            t = target[s.get(rid)]
            members[s.get("name")] = t.lstrip("/") if t.startswith("/") else f"xl/{t}"
        return {name: _count_rows(zf, members[name]) for name in names}


def _count_rows(zf: zipfile.ZipFile, member: str) -> int:
    count, tail = 0, b""
    with zf.open(member) as f:
        while chunk := f.read(1 << 20):
            block = tail + chunk
            count += len(_ROW.findall(block))
            tail = block[-4:]  # a tag cut by the chunk's end is found with the next chunk, never twice (5 bytes)
    return count
