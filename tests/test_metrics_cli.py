"""`python -m civeval metrics --round R --json` (and the `findings` commands) as real processes on a SQLite file
holding the hand-computed round of tests/test_rounds.py, submitted, so that its failures became findings; the JSON
is checked against rounds.round_scores and metrics.rectification computed here: the same numbers, exactly."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from civeval import audit, auth, findings, metrics, rounds
from civeval.findings import FindingAction
from civeval.models import Role, RoundKind
from civeval.store import open_engine
from tests import seed
from tests.conftest import ADMIN
from tests.test_findings import Clock
from tests.test_findings import jpeg as after_photo
from tests.test_rounds import PLAN, START, answer_everything, jpeg, owner

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 11, 10)
FAILURES = {"P001": "III-1-1", "P002": "III-1-2", "P003": "III-2-1", "P005": "III-3-1"}


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """The round scored and every point submitted on 2 Nov; on 3 Nov one finding closed, one failed re-inspection."""
    path = tmp_path_factory.mktemp("metrics") / "c.db"
    url = seed.seeded_url(path)
    engine = open_engine(url)
    seed.add_users(engine, {"insp2": (Role.inspector, None)})
    clock = Clock()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(audit, "now", lambda: clock.now)
        with engine.connect() as conn:
            actors = {u: auth.load_actor(conn, auth.get_user(conn, u).id) for u in ("tester", "insp", "insp2")}
        admin = actors["tester"]
        rid = rounds.create_round(
            engine,
            admin,
            name="十一月模拟测评",
            kind=RoundKind.mock,
            index_id=seed.index_id(engine),
            start=START,
            end=START + dt.timedelta(days=4),
        )
        rounds.confirm_draw(engine, admin, rid, PLAN)
        plan = rounds.assign(engine, admin, rid, ["insp", "insp2"])
        rounds.set_status(engine, admin, rid, rounds.RoundStatus.in_progress)
        answer_everything(engine, actors, rid, plan)
        for point, standard in FAILURES.items():
            rounds.add_photo(engine, actors[owner(plan, point)], rid, point, standard, jpeg(), f"{point}.jpg")
        for point in ("P001", "P002", "P003", "P004", "P005", "P007"):
            rounds.submit_point(engine, actors[owner(plan, point)], rid, point)
        with engine.connect() as conn:
            made = {f.point_code: f.code for f in findings.list_findings(conn, admin, round_id=rid)}
        assert set(made) == set(FAILURES)
        clock.day(3)
        for point in ("P001", "P002"):
            findings.transition(
                engine, admin, made[point], FindingAction.submit, reason="已整改", photos_data=[after_photo()]
            )
        findings.transition(engine, actors["insp"], made["P001"], FindingAction.pass_reinspection)
        findings.transition(engine, actors["insp"], made["P002"], FindingAction.fail_reinspection, reason="仍遮挡")
    engine.dispose()
    assert rid == 1
    return path, url, made


def run(db_path, *args: str) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [sys.executable, "-m", "civeval", *args, "--db", f"sqlite:///{db_path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return out


def ranked(groups) -> list[dict]:
    ranked_n = sum(g.rank is not None for g in groups)
    last = {g.key for g in groups if g.rank is not None and g.rank > ranked_n - 3} if ranked_n > 3 else set()
    return [
        {
            "name": g.key,
            "rank": g.rank,
            "rate": g.rate,
            "score": g.group.score,
            "full": g.group.full,
            "findings": g.group.findings,
            "observations": g.group.observations,
            "delta": None,  # no earlier round of the same kind
            "bottom": g.key in last,
        }
        for g in groups
    ]


def rect(m: metrics.RectificationMetrics) -> dict:
    d = m.as_dict()
    del d["as_of"]
    return d


def test_metrics_json_matches_the_library(db):
    path, url, _ = db
    report = json.loads(run(path, "metrics", "--round", "1", "--as-of", AS_OF.isoformat(), "--json").stdout)
    engine = open_engine(url)
    with engine.connect() as conn:
        s = rounds.round_scores(conn, ADMIN, 1)
        facts = metrics.finding_facts(conn, ADMIN, AS_OF, round_id=1)
    engine.dispose()

    assert set(report) == {
        "report", "version", "as_of", "round", "previous_round", "scores", "losses", "composite", "forecast", "trend",
        "rectification", "definitions",
    }  # fmt: skip
    assert report["previous_round"] is None  # the only mock round
    assert report["version"] == metrics.REPORT_VERSION and report["as_of"] == "2026-11-10"
    assert report["round"] == {
        "id": 1,
        "name": "十一月模拟测评",
        "kind": "mock",
        "kind_label": "模拟测评",
        "status": "in_progress",
        "status_label": s.round.status.label,
        "start_date": "2026-11-02",
        "end_date": "2026-11-06",
        "points": 6,
        "points_submitted": 6,
    }
    sc = report["scores"]
    assert sc["overall"] == {
        "rate": s.overall.rate,
        "score": s.overall.score,
        "full": s.overall.full,
        "findings": s.overall.findings,
        "observations": s.overall.observations,
        "delta": None,
    }
    assert sc["field"]["delta"] is None
    assert (sc["overall"]["score"], sc["overall"]["full"], sc["overall"]["findings"]) == (pytest.approx(7.48), 13, 4)
    assert sc["field"]["score"] == s.field.score and sc["field"]["full"] == s.field.full == 9
    assert sc["field"]["rate"] == s.field.rate and sc["field"]["standards"] == 5
    assert sc["field"]["vetoed_items"] == [] and [a["standard_code"] for a in sc["field"]["alerts"]] == ["III-3-1"]
    assert sc["field"]["alerts"][0]["points"] == ["P005"]
    assert sc["by_street"] == ranked(s.by_street)
    assert [g["name"] for g in sc["by_street"]] == ["城关街道", "东城街道"]
    assert sc["by_unit"] == ranked(s.by_unit)
    assert {g["name"]: g["score"] for g in sc["by_unit"]}["县教育局"] == 0
    assert sc["by_point_type"] == ranked(s.by_point_type)
    assert [x["code"] for x in report["losses"]["standards"]][:1] and report["trend"][-1]["round_id"] == 1
    assert report["trend"][-1]["field_rate"] == pytest.approx(s.field.rate)
    comp = report["composite"]  # field part only: no materials answered, no questionnaire
    assert comp["parts"]["field"]["rate"] == pytest.approx(s.field.rate) and comp["missing"] == ["materials", "survey"]
    assert comp["score"] == pytest.approx(40 * s.field.rate)
    fc = report["forecast"]  # six points in five types: the interval is around the round's own field rate
    assert fc["estimate"] == pytest.approx(s.field.rate) and fc["low"] <= fc["high"] and fc["points"] == 6
    assert fc["sentence"].startswith("按本轮抽取的 6 个点位推算")

    rc = report["rectification"]
    assert rc["overall"] == rect(metrics.rectification(facts, AS_OF))
    assert (rc["overall"]["created"], rc["overall"]["due"], rc["overall"]["closed"], rc["overall"]["overdue"]) == (
        4,
        4,
        1,
        3,
    )
    assert rc["overall"]["rectification_rate"] == 0.25 and rc["overall"]["first_pass_rate"] == 0.5
    assert rc["overall"]["recurrence_rate"] == 0 and rc["overall"]["mean_days_to_fix"] == 1
    for group in ("street", "unit", "point_type"):
        expected = [{"name": k, **rect(m)} for k, m in metrics.by_group(facts, AS_OF, group).items()]
        assert rc[f"by_{group}"] == expected
    assert [g["name"] for g in rc["by_unit"]] == ["县市场监督管理局", "县教育局", "和平社区"]  # by name (code point)
    assert {d["term"] for d in report["definitions"]} >= {"得分率", "整改率", "逾期", "销号率"}


def test_metrics_json_rates_are_null_when_undefined(db):
    path, _, _ = db
    report = json.loads(run(path, "metrics", "--round", "十一月模拟测评", "--as-of", "2026-11-01", "--json").stdout)
    # before anything was reported: no findings, so every rate is undefined
    assert report["rectification"]["overall"]["created"] == 0
    assert report["rectification"]["overall"]["rectification_rate"] is None
    assert report["rectification"]["overall"]["mean_days_to_fix"] is None
    assert report["rectification"]["by_unit"] == []


def test_metrics_summary_in_chinese(db):
    path, _, _ = db
    out = run(path, "metrics", "--round", "1", "--as-of", AS_OF.isoformat()).stdout
    assert "总得分率 57.54%（得分 7.48 / 满分 13，不符合 4 条）" in out
    assert "  1. 城关街道 64%（4.48 / 7，不符合 2 条）" in out
    assert "预警：III-3-1 不符合 1 处（P005）" in out
    assert "本轮问题整改：登记 4 件，应整改 4 件，已销号 1 件，整改率 25%" in out
    bad = subprocess.run(
        [sys.executable, "-m", "civeval", "metrics", "--round", "9", "--db", f"sqlite:///{path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1 and "找不到测评轮次“9”" in bad.stderr


def test_findings_commands(db, tmp_path):
    path, _, made = db
    listed = run(path, "findings", "list", "--unit", "县市场监督管理局", "--status", "未销号").stdout
    assert made["P002"] in listed and made["P001"] not in listed and "共 1 件" in listed
    out = tmp_path / "督办单.xlsx"
    printed = run(path, "findings", "notice", "--unit", "县市场监督管理局", "--out", str(out), "--as-of", "2026-11-10")
    assert "未销号问题 1 件" in printed.stdout
    ws = openpyxl.load_workbook(out)["督办单"]
    assert len(ws._images) == 1  # the inspector's photo of the failure is the before-photo
    rules = tmp_path / "rules.toml"
    rules.write_text("[black]\nbottom = 1\n", encoding="utf-8")
    rb_out = tmp_path / "红黑榜.xlsx"
    text = run(
        path,
        "findings",
        "redblack",
        "--round",
        "1",
        "--as-of",
        "2026-11-10",
        "--rules",
        str(rules),
        "--out",
        str(rb_out),
    ).stdout
    assert "黑榜（1 个单位）" in text and "县教育局：得分率 0%，排名倒数第 1（共 5 个单位）" in text
    assert rb_out.exists()
    rules.write_text("[red]\nmin_rate = 2\n", encoding="utf-8")
    bad = subprocess.run(
        [sys.executable, "-m", "civeval", "findings", "redblack", "--rules", str(rules), "--db", f"sqlite:///{path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1 and "red.min_rate" in bad.stderr
