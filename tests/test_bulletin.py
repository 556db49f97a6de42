"""The bulletin (测评通报, civeval.bulletin): `python -m civeval report` on a seeded city with two mock rounds, checked
against `metrics --json` on the same database and as-of date (the same figures), its layout (frozen headers, filters,
A4 landscape fitted to width, print titles, page numbers, charts), LibreOffice opening and printing it, street names
that need sanitising as sheet names, and the download button that builds nothing until clicked."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from civeval import audit, auth, bulletin, findings, rounds, xlsx
from civeval.findings import FindingAction
from civeval.models import Answer, Result, Role, RoundKind, RoundStatus
from civeval.store import open_engine
from civeval.ui import session
from tests import seed
from tests.conftest import ADMIN, skip_or_fail
from tests.test_findings import jpeg as after_photo
from tests.test_pages import APP, PAGES
from tests.test_rounds import PLAN, jpeg, owner

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 11, 10)
ROUND = "十一月模拟测评"
EARLIER = "十月模拟测评"

# openpyxl reads the data bars' and icon sets' Excel 2010 extensions without understanding them; that is fine here
pytestmark = pytest.mark.filterwarnings("ignore:.*extension is not supported:UserWarning")

# The hand-computed example of tests/test_rounds.py; the earlier round differs where marked.
ANSWERS = [
    ("P001", "III-1-1", Answer(result=Result.failed, instances=3, note="积水")),
    ("P001", "III-1-2", Answer(result=Result.passed)),
    ("P002", "III-1-1", Answer(result=Result.passed, instances=0)),
    ("P002", "III-1-2", Answer(result=Result.failed, note="公益广告被遮挡")),
    ("P003", "III-1-2", Answer(result=Result.na)),
    ("P003", "III-2-1", Answer(result=Result.B, note="杂物堆放")),
    ("P004", "III-1-2", Answer(result=Result.passed)),
    ("P005", "III-3-1", Answer(result=Result.failed, note="校门口流动摊贩")),
    ("P007", "III-5-1", Answer(result=Result.passed)),
]
EARLIER_CHANGES = {("P002", "III-1-2"): Answer(result=Result.passed), ("P003", "III-2-1"): Answer(result=Result.A)}


class _Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 10, 5, 1, 0)  # naive UTC: 09:00 in Beijing


def _scored_round(engine, actors, clock, name: str, start: dt.date, changes: dict) -> tuple[int, dict[str, str]]:
    """A round drawn with PLAN, answered, photographed and submitted on its first day; returns its id and its
    findings by point."""
    admin = actors["tester"]
    clock.now = dt.datetime.combine(start, dt.time(1, 0))
    rid = rounds.create_round(
        engine, admin, name=name, kind=RoundKind.mock, index_id=seed.index_id(engine), start=start,
        end=start + dt.timedelta(days=4),
    )  # fmt: skip
    rounds.confirm_draw(engine, admin, rid, PLAN)
    plan = rounds.assign(engine, admin, rid, ["insp", "insp2"])
    rounds.set_status(engine, admin, rid, RoundStatus.in_progress)
    for point, standard, answer in ANSWERS:
        answer = changes.get((point, standard), answer)
        who = actors[owner(plan, point)]
        rounds.save_answer(engine, who, rid, point, standard, answer)
        if answer.result not in (Result.passed, Result.na, Result.A):
            rounds.add_photo(engine, who, rid, point, standard, jpeg(), f"{point}.jpg")
    for point in ("P001", "P002", "P003", "P004", "P005", "P007"):
        rounds.submit_point(engine, actors[owner(plan, point)], rid, point)
    with engine.connect() as conn:
        made = {f.point_code: f.code for f in findings.list_findings(conn, admin, round_id=rid)}
    return rid, made


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """Two mock rounds a month apart on the seeded city (streets 城关街道 and 东城街道). In the earlier one P001's
    finding is closed; in the later one (as of 10 Nov) P001's is closed on time, P002's failed its re-inspection
    and got an extension to 20 Nov, P003's is long-term, P005's is open past its deadline."""
    path = tmp_path_factory.mktemp("bulletin") / "c.db"
    url = seed.seeded_url(path)
    engine = open_engine(url)
    seed.add_users(engine, {"insp2": (Role.inspector, None)})
    clock = _Clock()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(audit, "now", lambda: clock.now)
        with engine.connect() as conn:
            actors = {u: auth.load_actor(conn, auth.get_user(conn, u).id) for u in ("tester", "insp", "insp2")}
        admin, insp = actors["tester"], actors["insp"]
        earlier, made = _scored_round(engine, actors, clock, EARLIER, dt.date(2026, 10, 5), EARLIER_CHANGES)
        clock.now = dt.datetime(2026, 10, 6, 1, 0)
        findings.transition(
            engine, admin, made["P001"], FindingAction.submit, reason="已清扫", photos_data=[after_photo()]
        )
        findings.transition(engine, insp, made["P001"], FindingAction.pass_reinspection)
        rounds.set_status(engine, admin, earlier, RoundStatus.closed)

        rid, made = _scored_round(engine, actors, clock, ROUND, dt.date(2026, 11, 2), {})
        clock.now = dt.datetime(2026, 11, 3, 1, 0)
        for point in ("P001", "P002"):
            findings.transition(
                engine, admin, made[point], FindingAction.submit, reason="已整改", photos_data=[after_photo()]
            )
        findings.transition(engine, insp, made["P001"], FindingAction.pass_reinspection)
        findings.transition(engine, insp, made["P002"], FindingAction.fail_reinspection, reason="仍有遮挡")
        findings.transition(
            engine,
            admin,
            made["P002"],
            FindingAction.request_extension,
            reason="需重新制作",
            deadline=dt.date(2026, 11, 20),
        )
        findings.transition(engine, admin, made["P002"], FindingAction.grant_extension)
        findings.transition(engine, admin, made["P003"], FindingAction.mark_long_term, reason="需改造道路")
    engine.dispose()
    return path, url, rid, made


def run(db_path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [sys.executable, "-m", "civeval", *args, "--db", f"sqlite:///{db_path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if ok:
        assert out.returncode == 0, out.stderr
    return out


@pytest.fixture(scope="module")
def written(db, tmp_path_factory):
    """`report` and `metrics --json` run as processes on the same database and as-of date."""
    path, _, _, _ = db
    out = tmp_path_factory.mktemp("report") / "测评通报.xlsx"
    printed = run(path, "report", "--round", ROUND, "--as-of", AS_OF.isoformat(), "--out", str(out)).stdout
    report = json.loads(run(path, "metrics", "--round", ROUND, "--as-of", AS_OF.isoformat(), "--json").stdout)
    return out, printed, report


def table(ws, header_row: int = 3) -> list[dict]:
    """The rows under the header at ``header_row`` (1-based) down to the first empty row, keyed by header."""
    headers = [c.value for c in ws[header_row]]
    rows = []
    for values in ws.iter_rows(min_row=header_row + 1, values_only=True):
        if all(v is None for v in values):
            break
        rows.append({h: v for h, v in zip(headers, values, strict=False) if h})
    return rows


def approx(value):
    return None if value is None else pytest.approx(value, abs=1e-9)


# --- the figures ---------------------------------------------------------------------------------------------------


def test_the_command_prints_one_line_and_refuses_an_unknown_round(written, db):
    out, printed, _ = written
    assert printed.count("\n") == 1 and printed.startswith(
        f"已写出测评通报 {out}：{ROUND}，整改情况统计截至 2026-11-10"
    )
    assert (
        "工作表 10 个（封面、街道排名、单位排名、点位类型排名、失分分析、趋势、问题清单、整改台账、城关街道、东城街道）"
        in printed
    )
    assert "问题 4 件" in printed and re.search(r"\d+ KB$", printed.strip())
    bad = run(db[0], "report", "--round", "9", "--out", str(out.parent / "x.xlsx"), ok=False)
    assert bad.returncode == 1 and "找不到测评轮次“9”" in bad.stderr and "Traceback" not in bad.stderr
    assert not (out.parent / "x.xlsx").exists()


def test_the_cover_figures_are_those_of_metrics_json(written):
    out, _, report = written
    ws = openpyxl.load_workbook(out)[bulletin.COVER]
    assert ws["A1"].value == "创文办测评通报" and ws["A2"].value == ROUND
    figures = {}
    for label, value in ws.iter_rows(min_row=6, max_col=2, values_only=True):
        if label is None:
            break
        figures[label] = None if value == "—" else value
    sc, rect = report["scores"], report["rectification"]["overall"]
    assert report["previous_round"]["name"] == EARLIER and sc["overall"]["delta"] < 0  # so the deltas are real
    expected = {
        "实地考察得分": sc["field"]["score"],
        "实地考察满分": sc["field"]["full"],
        "实地考察得分率": sc["field"]["rate"],
        "实地考察得分率较上轮（百分点）": sc["field"]["delta"] * 100,
        "总得分率": sc["overall"]["rate"],
        "总得分率较上轮（百分点）": sc["overall"]["delta"] * 100,
        "不符合（测评记录）": sc["overall"]["findings"],
        "综合模拟得分": report["composite"]["score"],
        "正式测评预测（下限）": report["forecast"]["low"],
        "正式测评预测（上限）": report["forecast"]["high"],
        "一票否决（测评内容）": len(sc["field"]["vetoed_items"]),
        "专项预警": len(sc["field"]["alerts"]),
        "登记问题": rect["created"],
        "应整改": rect["due"],
        "已销号": rect["closed"],
        "整改率": rect["rectification_rate"],
        "按期整改率": rect["on_time_rate"],
        "逾期": rect["overdue"],
        "销号率": rect["closure_rate"],
        "一次复查通过率": rect["first_pass_rate"],
        "平均整改时长（天）": rect["mean_days_to_fix"],
        "反弹率": rect["recurrence_rate"],
        "长效整改": rect["long_term"],
        "未销号": rect["open"],
    }
    assert figures == {k: approx(v) for k, v in expected.items()}
    # the hand-made states: P001 closed, P002 extended to 20 Nov, P003 long-term, P005 overdue
    assert (rect["created"], rect["due"], rect["closed"], rect["overdue"], rect["long_term"]) == (4, 2, 1, 1, 1)
    assert figures["整改率"] == 0.5 and figures["平均整改时长（天）"] == 1
    assert figures["专项预警"] == 1 and figures["反弹率"] == 0  # the earlier round's P001 finding is the one recurred


def test_the_rankings_are_those_of_metrics_json(written):
    out, _, report = written
    wb = openpyxl.load_workbook(out)
    for dim, sheet in bulletin.RANK_SHEETS.items():
        rows = table(wb[sheet])
        expected = report["scores"][f"by_{dim}"]
        assert [r[bulletin.RANK_NAME_HEADER[dim]] for r in rows] == [g["name"] for g in expected]
        rect = {g["name"]: g for g in report["rectification"].get(f"by_{dim}", [])}
        for row, g in zip(rows, expected, strict=True):
            assert row["名次"] == g["rank"] and row["不符合"] == g["findings"] and row["测评记录"] == g["observations"]
            assert row["得分率"] == approx(g["rate"]) and row["得分"] == approx(g["score"])
            assert row["满分"] == approx(g["full"])
            assert row[bulletin.DELTA_HEADER] == approx(None if g["delta"] is None else g["delta"] * 100)
            assert (row["标记"] == "后三名") is g["bottom"]
            if dim in ("street", "unit"):
                m = rect.get(g["name"])
                assert row["应整改"] == (m["due"] if m else 0) and row["已销号"] == (m["closed"] if m else 0)
                assert row["整改率"] == approx(m["rectification_rate"] if m else None)
                assert row["逾期"] == (m["overdue"] if m else 0)
    streets = {r["街道/镇"]: r for r in table(wb["街道排名"])}
    assert streets["东城街道"][bulletin.DELTA_HEADER] == pytest.approx(-100 / 6)  # 4/6 then, 3/6 now
    assert streets["东城街道"]["逾期"] == 1 and streets["城关街道"]["已销号"] == 1
    assert sum(r["标记"] == "后三名" for r in table(wb["单位排名"])) == 3  # five units ranked


def test_the_lists_agree_with_metrics_json(written, db):
    out, _, report = written
    _, _, _, made = db
    wb = openpyxl.load_workbook(out)
    rect = report["rectification"]["overall"]
    gaps = {r["问题编号"]: r for r in table(wb[bulletin.GAP_LIST])}
    ledger = {r["问题编号"]: r for r in table(wb[bulletin.LEDGER])}
    assert len(gaps) == len(ledger) == rect["created"] == 4 and set(gaps) == set(made.values())
    assert sum(r["是否逾期"] == "是" for r in gaps.values()) == rect["overdue"]
    assert sum(r["销号日期"] is not None for r in ledger.values()) == rect["closed"]
    assert sum(r["长效整改"] == "是" for r in ledger.values()) == rect["long_term"]
    assert sum(r["按期情况"] == bulletin.ON_TIME for r in ledger.values()) == rect["closed_on_time"]
    overdue = gaps[made["P005"]]
    assert (overdue["状态"], overdue["逾期天数"], overdue["整改期限"]) == ("已交办", 8, dt.datetime(2026, 11, 2))
    assert overdue["点位"] == "P005 实验小学周边" and overdue["测评标准"].startswith("校园周边200米内")
    extended = ledger[made["P002"]]
    assert extended["整改期限"] == dt.datetime(2026, 11, 20) and extended["状态"] == "整改中"
    assert (extended["复查次数"], extended["一次复查通过"], extended["按期情况"]) == (1, "否", bulletin.NOT_DUE)
    closed = ledger[made["P001"]]
    assert (closed["交办日期"], closed["销号日期"]) == (dt.datetime(2026, 11, 2), dt.datetime(2026, 11, 3))
    assert closed["整改用时\n（天）"] == 1 and closed["按期情况"] == bulletin.ON_TIME
    assert ledger[made["P003"]]["按期情况"] == bulletin.LONG_TERM

    losses = table(wb[bulletin.LOSSES])
    assert [r["标准编号"] for r in losses] == [x["code"] for x in report["losses"]["standards"]]
    assert [r["失分"] for r in losses] == [approx(x["lost"]) for x in report["losses"]["standards"]]
    trend = table(wb[bulletin.TREND])
    assert [r["测评轮次"] for r in trend] == [p["name"] for p in report["trend"]] == [EARLIER, ROUND]
    assert [r["实地考察得分率"] for r in trend] == [approx(p["field_rate"]) for p in report["trend"]]
    assert [r["整改率"] for r in trend] == [approx(p["rectification_rate"]) for p in report["trend"]]

    by_street = {g["name"]: g for g in report["rectification"]["by_street"]}
    for street in ("城关街道", "东城街道"):
        ws = wb[street]
        points = table(ws)
        assert [p["得分率"] for p in points] == sorted(p["得分率"] for p in points)  # worst first
        found = table(ws, header_row=3 + len(points) + 3)
        assert len(found) == by_street[street]["created"]
    assert [p["点位编号"] for p in table(wb["东城街道"])] == ["P005", "P002", "P007"]  # 0%, 66.7%, 100%


# --- the layout ----------------------------------------------------------------------------------------------------


def test_every_sheet_prints_on_a4_landscape_with_frozen_headers_and_page_numbers(written):
    out, _, report = written
    wb = openpyxl.load_workbook(out)
    fixed = [bulletin.COVER, *bulletin.RANK_SHEETS.values(), bulletin.LOSSES, bulletin.TREND]
    assert wb.sheetnames == [*fixed, bulletin.GAP_LIST, bulletin.LEDGER, "城关街道", "东城街道"]
    assert [g["name"] for g in report["scores"]["by_street"]] == ["城关街道", "东城街道"]  # one sheet per street
    for ws in wb.worksheets:
        name = ws.title
        assert len(name) <= 31 and not set(name) & set("[]:*?/\\"), name
        assert ws.freeze_panes, name
        assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == "9", name
        assert ws.sheet_properties.pageSetUpPr.fitToPage and (ws.page_setup.fitToWidth or 1) == 1, name
        assert ws.print_title_rows, name  # header rows repeated on every page
        assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text, name
        if name != bulletin.COVER:
            assert ws.auto_filter.ref, name
            assert ws.page_setup.fitToHeight == 0, name  # one page wide, as many tall as needed
    assert wb[bulletin.GAP_LIST].freeze_panes == "A4" and wb[bulletin.GAP_LIST].auto_filter.ref == "A3:N7"
    assert wb[bulletin.COVER]["B8"].number_format == bulletin.PCT  # rates are numbers shown as percentages
    assert wb[bulletin.LEDGER]["I4"].is_date
    assert wb.properties.creator == "civeval" and ROUND in wb.properties.title


def test_rankings_and_trend_carry_native_charts_and_conditional_formats(written):
    out, _, _ = written
    with zipfile.ZipFile(out) as zf:
        charts = [n for n in zf.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)]
        assert len(charts) == 4  # three rankings and the trend
        kinds = "".join(zf.read(n).decode() for n in charts)
        assert kinds.count("<c:barChart>") == 3 and kinds.count("<c:lineChart>") == 1
        assert "<c:f>" in kinds  # the charts refer to the cells
    wb = openpyxl.load_workbook(out)
    for sheet in [*bulletin.RANK_SHEETS.values(), bulletin.TREND]:
        assert wb[sheet]._charts, sheet
    rules = [r for cf in wb["街道排名"].conditional_formatting for r in cf.rules]
    assert {r.type for r in rules} >= {"iconSet", "cellIs", "expression", "dataBar"}


def test_a_street_name_that_needs_sanitising_still_gives_a_valid_sheet(db):
    _, url, rid, _ = db
    engine = open_engine(url)
    with engine.connect() as conn:
        data = bulletin.gather(conn, ADMIN, rid, AS_OF)
    engine.dispose()
    odd = [
        "城关街道/开发区[管委会]:试点*?",
        "东城街道" + "（含经济技术开发区和高新技术产业开发区）" * 2,
        "封面",
        "历史'",
    ]
    parts = [dataclasses.replace(p, name=n) for p, n in zip(data.streets * 2, odd, strict=True)]
    buf = io.BytesIO()
    done = bulletin.render(dataclasses.replace(data, streets=parts), buf)
    names = openpyxl.load_workbook(io.BytesIO(buf.getvalue())).sheetnames
    assert names == done.sheet_names and len(names) == 8 + 4 and len({n.casefold() for n in names}) == 12
    assert names[8:] == [
        "城关街道_开发区_管委会__试点__",
        odd[1][:31],
        "封面(2)",
        "历史",
    ]
    for n in names:
        assert 0 < len(n) <= 31 and not set(n) & set("[]:*?/\\") and not n.startswith("'")


def test_sheet_names_and_widths():
    taken: set[str] = set()
    assert xlsx.sheet_name("a/b", taken) == "a_b" and xlsx.sheet_name("A_B", taken) == "A_B(2)"
    assert xlsx.sheet_name("", taken) == "工作表" and xlsx.sheet_name("History", taken) == "History(2)"
    long = "街" * 40
    assert xlsx.sheet_name(long, taken) == "街" * 31 and xlsx.sheet_name(long, taken) == "街" * 28 + "(2)"
    assert xlsx.text_width("城关街道") == 8 and xlsx.text_width("P001 积水") == 9 and xlsx.text_width("") == 0
    assert xlsx.text_lines("一二三四五六七八九十", 11) == 2 and xlsx.text_lines("一\n二", 20) == 2


# --- LibreOffice ---------------------------------------------------------------------------------------------------


def test_libreoffice_opens_the_bulletin_and_prints_it(written, tmp_path):
    office = shutil.which("libreoffice") or shutil.which("soffice")
    if office is None:
        skip_or_fail("LibreOffice not found (apt-get install libreoffice-calc-nogui)")
    out, _, report = written
    profile = tmp_path / "lo-profile"
    done = subprocess.run(
        [office, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf", "--outdir",
         str(tmp_path), str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    pdf = tmp_path / (out.stem + ".pdf")
    assert done.returncode == 0 and pdf.exists(), done.stderr
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, timeout=60).stdout
        pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    else:
        pages = pdf.read_bytes().count(b"/Type /Page") - pdf.read_bytes().count(b"/Type /Pages")
    assert pages >= 10  # a page at least per sheet
    if shutil.which("pdftotext") is None:
        skip_or_fail("pdftotext not found (apt-get install poppler-utils)")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, timeout=60).stdout
    rate = report["rectification"]["overall"]["rectification_rate"]
    assert ROUND in text and "创文办测评通报" in text and f"{rate:.2%}" in text  # 50.00%
    assert "第 1 页，共" in text


# --- the download button -------------------------------------------------------------------------------------------


def test_the_score_page_offers_the_bulletin_and_builds_it_only_when_clicked(db, tmp_path, monkeypatch):
    path, _, rid, _ = db
    copy = tmp_path / "c.db"
    shutil.copy(path, copy)
    url = f"sqlite:///{copy}"
    calls = []
    real = bulletin.write_bulletin
    monkeypatch.setattr(bulletin, "write_bulletin", lambda *a, **kw: calls.append(a) or real(*a, **kw))
    monkeypatch.setenv("CIVEVAL_DATABASE_URL", url)
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(APP, default_timeout=30)
        at.session_state[session.TOKEN_KEY] = seed.session_token(url, "tester")
        at.run()
        at.switch_page(f"{PAGES}round_scores.py").run()
        assert not at.exception, [e.value for e in at.exception]
        buttons = [b for b in at.get("download_button") if b.proto.label == "下载测评通报"]
        assert len(buttons) == 1 and buttons[0].proto.deferred_file_id  # the file is made on the click
        assert calls == []
        assert at.selectbox(key="rs_round").value == rid
    finally:
        st.cache_resource.clear()


def test_streamed_rows_read_back_as_xlsxwriter_writes_them():
    """StreamingWorksheet.append_rows gives the cells that one xlsxwriter write_* call per cell gives."""
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"constant_memory": True})
    pct = wb.add_format({"num_format": "0.00%"})
    day = wb.add_format({"num_format": "yyyy-mm-dd"})
    odd = ['a & b <c> "d"', "  前后空格 ", "控制\x01字符\r", "_x0041_ 字面", "换行\n第二行", "长" * 40000, ""]
    rows = [[text, i, i / 7, dt.date(2026, 11, i + 1)] for i, text in enumerate(odd)]
    rows[-1][1] = None
    streamed = wb.add_worksheet("表", worksheet_class=xlsx.StreamingWorksheet)
    streamed.write_string(0, 0, "标题")
    kinds = [xlsx.STRING, xlsx.NUMBER, xlsx.NUMBER, xlsx.DATE]
    last = streamed.append_rows(1, rows, kinds, [None, None, pct, day], [None, 30, None, None, 45, None, None])
    assert last == len(odd)
    streamed.write_string(last + 2, 0, "表后")  # xlsxwriter carries on below
    with pytest.raises(ValueError):
        streamed.append_rows(1, rows, kinds, [None] * 4)
    plain = wb.add_worksheet("对照")
    plain.write_string(0, 0, "标题")
    for r, (text, i, x, d) in enumerate(rows, 1):
        if text:
            plain.write_string(r, 0, text)
        if i is not None:
            plain.write_number(r, 1, i)
        plain.write_number(r, 2, x, pct)
        plain.write_datetime(r, 3, d, day)
    plain.write_string(last + 2, 0, "表后")
    nothing = wb.add_worksheet("非数", worksheet_class=xlsx.StreamingWorksheet)
    nothing.append_rows(0, [[float("nan"), float("inf"), 1.5]], [xlsx.NUMBER] * 3, [None, pct, None])
    wb.close()
    with zipfile.ZipFile(buf) as zf:
        for name in zf.namelist():
            if name.endswith(".xml"):
                ElementTree.fromstring(zf.read(name))  # well-formed
    book = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))
    got, want = book["表"], book["对照"]
    for a, b in zip(got.iter_rows(max_row=last + 3), want.iter_rows(max_row=last + 3), strict=True):
        for x, y in zip(a, b, strict=True):
            # numbers in full (repr) where xlsxwriter writes 16 digits
            assert (x.value, x.number_format) == (pytest.approx(y.value, rel=1e-15) if isinstance(y.value, float)
                                                  else y.value, y.number_format)  # fmt: skip
    assert got["A7"].value == "长" * 32767 and got["D2"].value == dt.datetime(2026, 11, 1)
    assert got.row_dimensions[3].height == 30 and got.row_dimensions[6].height == 45
    assert [c.value for c in book["非数"][1]] == [None, None, 1.5]  # NaN and inf are no numbers in Excel
