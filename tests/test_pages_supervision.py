"""AppTest: the supervision notice built on request, the red/black list shown and exported."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from civeval import audit, findings
from civeval.findings import NewFinding
from civeval.models import FindingSource
from civeval.store import open_engine
from civeval.ui import session
from tests import seed
from tests.conftest import ADMIN
from tests.test_pages import APP, PAGES


@pytest.fixture
def app(tmp_path, monkeypatch):
    url = seed.seeded_url(tmp_path / "civeval.db")
    engine = open_engine(url)
    with audit.clock_at(audit.now() - dt.timedelta(days=20)):  # reported 20 days ago: overdue now
        for point in ("P004", "P001"):
            new = NewFinding(source=FindingSource.patrol, description="乱堆杂物", point_code=point, unit="县城市管理局")
            findings.create_finding(engine, ADMIN, new)
    monkeypatch.setenv("CIVEVAL_DATABASE_URL", url)
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state[session.TOKEN_KEY] = seed.session_token(url, "tester")
    yield at.run().switch_page(f"{PAGES}supervision.py").run()
    st.cache_resource.clear()


def test_the_notice_is_built_for_the_chosen_unit(app):
    assert not app.exception
    app.selectbox(key="notice_unit").select("县城市管理局").run()
    app.button(key="notice_build").click().run()
    assert not app.exception
    assert "县城市管理局：未销号问题 2 件" in [s.value for s in app.success]
    [download] = app.get("download_button")
    assert download.proto.label == "下载督办单.xlsx"


def test_the_red_black_list_is_shown_with_its_reasons(app):
    assert not app.exception
    assert [h.value for h in app.subheader] == ["红榜（0 个单位）", "黑榜（0 个单位）"]  # 2 overdue: not > 5
    app.text_area(key="rb_rules").input("black:\n  overdue_more_than: 1\n").run()
    assert [h.value for h in app.subheader] == ["红榜（0 个单位）", "黑榜（1 个单位）"]
    [black] = [t.value for t in app.dataframe]
    assert black.iloc[0]["单位"] == "县城市管理局" and "逾期 2 件" in black.iloc[0]["理由"]
    app.text_area(key="rb_rules").input("red:\n  min_rate: 120%\n").run()
    assert "red.min_rate" in app.error[0].value


def test_the_workbook_helper_writes_a_readable_sheet(tmp_path):
    from civeval import redblack

    engine = open_engine(seed.seeded_url(tmp_path / "c.db"))
    result = redblack.red_black(engine, ADMIN, as_of=dt.date.today())
    buf = tmp_path / "rb.xlsx"
    redblack.write_red_black(result, buf)
    assert openpyxl.load_workbook(io.BytesIO(buf.read_bytes())).worksheets
