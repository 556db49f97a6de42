"""The writing processes of ``bench_bulletin``: ``python -m benchmarks.bulletin_writer civeval|pandas DATA OUT``.

Each loads the pickled ``BulletinData`` (DATA), writes the workbook (OUT) with civeval (``bulletin.render``) or with
pandas ``to_excel`` (openpyxl), and prints one JSON line: the writing's wall and CPU seconds; the resident set (VmRSS)
when it started and the peak (VmHWM) of loading the data before it; the peak while it ran (VmHWM, reset when the
writing starts: Linux's /proc/self/clear_refs), and the sheets with their data rows. A separate module, so that a
writing process imports only what writing needs (civeval's bulletin, and pandas for the yardstick), never the
benchmark harness: its peak memory is the writer's.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import pickle
import sys
import time
from pathlib import Path

from civeval import bulletin


def _memory() -> dict[str, float]:
    """This process's resident set now (VmRSS) and its peak so far (VmHWM), in MB."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:  # not Linux: the peak alone (ru_maxrss: kilobytes, bytes on macOS)
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 1024)
        return {"VmRSS": peak, "VmHWM": peak}
    found = {}
    for line in status.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found


def _reset_peak() -> bool:
    """Start VmHWM again from the current resident set (Linux 4.0+: "5" to /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def heads(cols: list[bulletin.Col]) -> list[str]:
    return [c.header for c in cols]


def pandas_tables(data: bulletin.BulletinData) -> list[tuple[str, list[tuple[list[str], list[list]]], int]]:
    """The bulletin's sheets as plain tables: (sheet name, [(headers, rows)], data rows as the bulletin counts them),
    the rows made by the bulletin's own row functions."""
    b, report = bulletin, data.report
    taken: set[str] = set()
    sheets = []

    def add(name: str, tables: list[tuple[list[str], list[list]]], counted: int | None = None) -> None:
        rows = sum(len(r) for _, r in tables) if counted is None else counted
        sheets.append((b.sheet_name(name, taken), tables, rows))

    figures = [[label, value, note] for label, value, _, note in b.cover_figures(report)]
    terms = [[d["term"], d["text"]] for d in report["definitions"]]
    add(b.COVER, [(["指标", "数值", "说明"], figures), (["名词", "口径"], terms)], len(figures))
    for dim, name in b.RANK_SHEETS.items():
        add(name, [(heads(b.rank_columns(dim)), b.rank_rows(report, dim))])
    standards = [
        [i, x["code"], x["text"], x["category"], x["lost"], x["full"], x["failures"], x["observations"],
         len(x["units"]), "、".join(x["units"])]
        for i, x in enumerate(report["losses"]["standards"], 1)
    ]  # fmt: skip
    units = [
        [i, x["name"], "、".join(x["standards"]), len(x["standards"]), x["lost"], x["full"], x["failures"],
         x["observations"]]
        for i, x in enumerate(report["losses"]["units"], 1)
    ]  # fmt: skip
    add(b.LOSSES, [(heads(b.LOSS_STANDARD_COLS), standards), (heads(b.LOSS_UNIT_COLS), units)])
    trend = [
        [p["name"], dt.date.fromisoformat(p["start_date"]), p["field_rate"], p["overall_rate"],
         dt.date.fromisoformat(p["rectification_on"]), p["rectification_rate"], p["on_time_rate"]]
        for p in report["trend"]
    ]  # fmt: skip
    add(b.TREND, [(heads(b.TREND_COLS), trend)])
    add(b.GAP_LIST, [(heads(b.GAP_COLS), list(b.gap_rows(data.findings)))])
    ledger = sorted(data.findings, key=lambda r: (r.assigned, r.code))  # the ledger's order (bulletin._ledger)
    add(b.LEDGER, [(heads(b.LEDGER_COLS), list(b.ledger_rows(ledger)))])
    for part in data.streets:
        points = list(b.street_point_rows(part.points))
        found = list(b.street_finding_rows(part.findings))
        add(part.name, [(heads(b.STREET_POINT_COLS), points), (heads(b.STREET_FINDING_COLS), found)])
    return sheets


def write_civeval(data: bulletin.BulletinData, out: Path) -> list[tuple[str, int]]:
    return [list(s) for s in bulletin.render(data, out).sheets]


def write_pandas(tables: list, out: Path) -> list[tuple[str, int]]:
    import pandas as pd

    with pd.ExcelWriter(out, engine="openpyxl") as writer:
        for name, parts, _ in tables:
            row = 0
            for headers, rows in parts:
                pd.DataFrame(rows, columns=headers).to_excel(writer, sheet_name=name, index=False, startrow=row)
                row += len(rows) + 2  # a blank row between stacked tables
    return [[name, rows] for name, _, rows in tables]


def child_main(side: str, pickled: Path, out: Path) -> None:
    """Load the data, write the workbook, print one JSON line: the writing's seconds and CPU seconds, the memory
    held when it started, the peak of loading before it, the peak while it ran (the process's, when the peak cannot
    be reset)."""
    with pickled.open("rb") as f:
        data = pickle.load(f)
    if side == "pandas":
        import pandas  # noqa: F401  (loaded before the clock starts, as xlsxwriter is for civeval)

        data = pandas_tables(data)  # the rows, made before the clock starts
    gc.collect()
    before = _memory()
    reset = _reset_peak()
    t0, c0 = time.perf_counter(), time.process_time()
    sheets = write_pandas(data, out) if side == "pandas" else write_civeval(data, out)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    report = {
        "seconds": seconds,
        "cpu": cpu,
        "held_mb": before["VmRSS"],
        "loading_peak_mb": before["VmHWM"],
        "writing_peak_mb": _memory()["VmHWM"],
        "peak_reset": reset,
        "sheets": sheets,
        "size": out.stat().st_size,
    }
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    child_main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
