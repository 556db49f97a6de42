"""Backup, restore and check (civeval.maintenance) on SQLite and PostgreSQL, and through the CLI.

The world: the seeded county, a round with answers, photos (files for SQLite; in the database for PostgreSQL,
plus one photo kept as a file there too), findings with before and after photos, and two materials documents (the
same two storages). Everything a backup holds is compared row by row, photo and document byte by byte, after it is
restored.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from civeval import audit, auth, maintenance, materials, photos, rounds
from civeval.findings import FindingAction
from civeval.maintenance import MaintenanceError
from civeval.models import Answer, Quota, Result, RoundKind, RoundStatus, SamplePlan
from civeval.store import db as store_db
from civeval.store import open_engine
from civeval.store import schema as t
from tests import seed
from tests.conftest import ADMIN, skip_or_fail

ROOT = Path(__file__).resolve().parents[1]
PLAN = SamplePlan(seed=7, quotas=[Quota(point_type="农贸市场", count=2), Quota(point_type="背街小巷", count=1)])
START = dt.date(2026, 11, 2)


def jpeg(shade: int = 0) -> bytes:
    """A small JPEG; a different ``shade`` gives different bytes (photos are stored once by content)."""
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, shade % 256, (shade // 256) % 256)).save(buf, "JPEG")
    return buf.getvalue()


def require_pg_tools(engine: sa.Engine) -> None:
    """pg_dump, pg_restore and psql of the server's version; under CI=true their absence fails."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        major = int(conn.execute(sa.text("SHOW server_version_num")).scalar_one()) // 10000
    try:
        for tool in ("pg_dump", "pg_restore", "psql"):
            maintenance.find_pg_tool(tool, major)
    except MaintenanceError as e:
        skip_or_fail(str(e))


@pytest.fixture
def photo_env(request, tmp_path, monkeypatch):
    """Photo and document files of a PostgreSQL database go under tmp_path (not the project's evaluations/);
    SQLite keeps them beside its file. Each dialect's default store."""
    for name in ("CIVEVAL_PHOTO_STORAGE", "CIVEVAL_PHOTO_DIR", "CIVEVAL_DOCUMENT_DIR"):
        monkeypatch.delenv(name, raising=False)
    if "db_url" not in request.fixturenames or not request.getfixturevalue("db_url").startswith("sqlite"):
        monkeypatch.setenv("CIVEVAL_PHOTO_DIR", str(tmp_path / "pg-photos"))
        monkeypatch.setenv("CIVEVAL_DOCUMENT_DIR", str(tmp_path / "pg-documents"))
    return monkeypatch


def submit_documents(engine: sa.Engine, *texts: str) -> None:
    """Materials documents (one-page PDFs) for the seeded index's one requirement (III-4-1, 县文明办)."""
    index_id = seed.index_id(engine)
    materials.refresh_breakdown(engine, ADMIN, index_id)
    with engine.connect() as conn:
        [req] = materials.task_breakdown(conn, ADMIN, index_id)
    for text in texts:
        materials.submit_document(engine, ADMIN, req.id, materials.demo_pdf(text), f"{text}.pdf")


@pytest.fixture
def world(engine, photo_env):
    """The seeded county with a round in progress: answers, photos, a submitted point, its findings, one fixed."""
    from civeval import findings

    require_pg_tools(engine)
    seed.seed(engine)
    with engine.connect() as conn:
        admin = auth.load_actor(conn, auth.get_user(conn, "tester").id)
    rid = rounds.create_round(
        engine,
        admin,
        name="十一月模拟测评",
        kind=RoundKind.mock,
        index_id=seed.index_id(engine),
        start=START,
        end=START,
    )
    rounds.confirm_draw(engine, admin, rid, PLAN)
    rounds.assign(engine, admin, rid, ["insp"])
    rounds.set_status(engine, admin, rid, RoundStatus.in_progress)
    rounds.save_answer(
        engine, admin, rid, "P001", "III-1-1", Answer(result=Result.failed, instances=2, note="积水两处")
    )
    rounds.save_answer(engine, admin, rid, "P001", "III-1-2", Answer(result=Result.failed, note="广告破损"))
    rounds.add_photo(engine, admin, rid, "P001", "III-1-1", jpeg(1), "积水.jpg")
    rounds.add_photo(engine, admin, rid, "P001", "III-1-1", jpeg(2), "积水2.jpg")
    rounds.add_photo(engine, admin, rid, "P001", "III-1-2", jpeg(3), "广告.jpg")
    rounds.submit_point(engine, admin, rid, "P001")
    rounds.save_answer(engine, admin, rid, "P003", "III-1-2", Answer(result=Result.passed))
    submit_documents(engine, "work plan")
    if engine.dialect.name == "postgresql":
        photo_env.setenv("CIVEVAL_PHOTO_STORAGE", "file")  # one row of each storage on PostgreSQL
    rounds.save_answer(engine, admin, rid, "P003", "III-2-1", Answer(result=Result.C, note="有乱堆放"))
    rounds.add_photo(engine, admin, rid, "P003", "III-2-1", jpeg(4), "小巷.jpg")
    submit_documents(engine, "ledger")
    photo_env.delenv("CIVEVAL_PHOTO_STORAGE", raising=False)
    with engine.connect() as conn:
        code = findings.list_findings(conn, admin)[0].code
    findings.transition(engine, admin, code, FindingAction.submit, reason="已清理", photos_data=[(jpeg(5), "后.jpg")])
    return engine


def everything(engine: sa.Engine) -> dict[str, list[dict]]:
    """Every row of every table, in primary-key order, and the schema revision."""
    out: dict[str, list[dict]] = {}
    with engine.connect() as conn:
        for table in t.metadata.sorted_tables:
            q = sa.select(table).order_by(*table.primary_key.columns)
            out[table.name] = [dict(r._mapping) for r in conn.execute(q)]
        out["alembic_version"] = [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM alembic_version"))]
    return out


def photo_bytes(engine: sa.Engine) -> dict[int, bytes]:
    store = photos.photo_store(engine)
    with engine.connect() as conn:
        ids = conn.execute(sa.select(t.photos.c.id).order_by(t.photos.c.id)).scalars().all()
        return {i: store.get_bytes(conn, i) for i in ids}


def document_bytes(engine: sa.Engine) -> dict[int, bytes]:
    store = materials.document_store(engine)
    with engine.connect() as conn:
        ids = conn.execute(sa.select(t.documents.c.id).order_by(t.documents.c.id)).scalars().all()
        return {i: store.get_bytes(conn, i) for i in ids}


def counts(rows: dict[str, list[dict]]) -> dict[str, int]:
    return {name: len(v) for name, v in rows.items()}


def without_restore_record(after: dict[str, list[dict]], before: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """``after`` less what recording the restore added: the setting and its audit entry."""
    last = max(r["id"] for r in before["audit_log"])
    new_entries = [r for r in after["audit_log"] if r["id"] > last]
    assert [(r["table_name"], r["context"][:6]) for r in new_entries] == [("settings", "从备份恢复 ")]
    return {
        **after,
        "audit_log": [r for r in after["audit_log"] if r["id"] <= last],
        "settings": [r for r in after["settings"] if r["key"] != maintenance.RESTORE_SETTING],
    }


def fresh_url(db_url: str, request, tmp_path: Path, name: str = "other") -> str:
    """Another empty database of the same kind as ``db_url``."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / name / 'civeval.db'}"
    server = request.getfixturevalue("pg_server")
    db = "t_" + uuid.uuid4().hex[:12]
    if isinstance(server, str):
        engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
        engine.dispose()
        return server.rsplit("/", 1)[0] + f"/{db}"
    return server.create_database(db)


def file_photo_paths(engine: sa.Engine) -> list[Path]:
    store = photos.FileStore(photos.photo_dir(engine))
    with engine.connect() as conn:
        shas = conn.execute(sa.select(t.photos.c.sha256).where(t.photos.c.storage == "file")).scalars().all()
    return [store.path_for(s) for s in shas]


def file_document_paths(engine: sa.Engine) -> list[Path]:
    store = photos.FileStore(materials.document_dir(engine), table=t.documents, suffix=materials.DOCUMENT_SUFFIX)
    d = t.documents.c
    with engine.connect() as conn:
        shas = conn.execute(sa.select(d.sha256).where(d.storage == "file").order_by(d.id)).scalars().all()
    return [store.path_for(s) for s in shas]


# --- round trip ---------------------------------------------------------------------------------------------


def test_backup_then_damage_then_restore_gives_back_every_row_photo_and_document(world, tmp_path):
    engine = world
    sqlite = engine.dialect.name == "sqlite"
    before, before_photos, before_documents = everything(engine), photo_bytes(engine), document_bytes(engine)
    assert len(before_photos) == 5 and len(file_photo_paths(engine)) == (5 if sqlite else 1)
    assert len(before_documents) == 2 and len(file_document_paths(engine)) == (2 if sqlite else 1)
    assert set(before_documents.values()) == {materials.demo_pdf("work plan"), materials.demo_pdf("ledger")}

    report = maintenance.backup(engine, tmp_path / "b.zip")
    assert report.path == tmp_path / "b.zip" and report.size_bytes == (tmp_path / "b.zip").stat().st_size
    assert report.tables == {**counts(before), "login_sessions": 0}
    assert report.photo_rows == 5 and report.photo_files == len(file_photo_paths(engine))
    assert report.revision == maintenance.head_revision() and not report.missing_photos
    documents = report.uploads["documents"]
    pdf_bytes = sum(len(d) for d in before_documents.values())
    assert (documents.rows, documents.bytes, documents.files, documents.in_database, documents.missing) == (
        2,
        pdf_bytes,
        2 if sqlite else 1,
        0 if sqlite else 1,
        (),
    )
    assert report.lines()[0].startswith(f"已备份到 {tmp_path / 'b.zip'}（")
    assert report.lines()[3] == (
        "材料文件：2 个，共 1.1 KB（文件 2 个随备份保存）"
        if sqlite
        else "材料文件：2 个，共 1.1 KB（文件 1 个随备份保存，1 个存于数据库中）"
    )
    manifest = maintenance.verify_archive(tmp_path / "b.zip")
    in_archive = sorted(n for n in manifest["members"] if n.startswith("documents/"))
    root = materials.document_dir(engine)
    assert in_archive == sorted(f"documents/{p.relative_to(root).as_posix()}" for p in file_document_paths(engine))
    assert all(n.endswith(".bin") for n in in_archive)
    assert manifest["documents"]["files"] == len(in_archive)
    assert manifest["documents"]["file_bytes"] == sum(manifest["members"][n]["size"] for n in in_archive)
    with pytest.raises(MaintenanceError, match=r"备份文件已存在.*--force"):
        maintenance.backup(engine, tmp_path / "b.zip")

    # destroy: a row added, a photo file lost, another overwritten, bytes in the database mangled, a document
    # file lost
    with audit.writing(engine, ADMIN) as conn:
        conn.execute(sa.insert(t.units).values(code="X99", name="恢复前新增的单位", kind="department"))
        conn.execute(sa.update(t.photos).where(t.photos.c.storage == "db").values(data=b"broken"))
        conn.execute(sa.update(t.documents).where(t.documents.c.storage == "db").values(data=b"broken"))
    paths = file_photo_paths(engine)
    paths[0].unlink()
    if len(paths) > 1:
        paths[1].write_bytes(b"not a photo")
    document_paths = file_document_paths(engine)
    document_paths[0].unlink()
    damaged = everything(engine)

    with pytest.raises(MaintenanceError, match=r"目标数据库已有数据.*--force.*数据库未作任何改动"):
        maintenance.restore(engine, tmp_path / "b.zip")
    assert everything(engine) == damaged

    done = maintenance.restore(engine, tmp_path / "b.zip", force=True, actor=ADMIN)
    assert done.tables == report.tables and done.replaced_rows == sum(counts(damaged).values()) - 1  # alembic
    assert done.from_revision == done.revision == maintenance.head_revision()
    assert done.photo_files_written == min(2, len(paths)) and done.photo_files_present == len(paths) - min(
        2, len(paths)
    )
    restored_documents = done.uploads["documents"]
    assert (restored_documents.rows, restored_documents.files_written, restored_documents.files_present) == (
        2,
        1,
        len(document_paths) - 1,
    )
    assert restored_documents.root == materials.document_dir(engine)
    assert without_restore_record(everything(engine), before) == before
    assert photo_bytes(engine) == before_photos
    assert document_bytes(engine) == before_documents and document_paths[0].read_bytes() in before_documents.values()
    with engine.connect() as conn:
        last = conn.execute(sa.select(t.audit_log).order_by(t.audit_log.c.id.desc()).limit(1)).one()
    assert last.actor == ADMIN.username and last.context.startswith("从备份恢复 b.zip（备份时间 ")
    assert last.after["value"]["replaced_rows"] == done.replaced_rows
    result = maintenance.check(engine)
    assert result.ok and {c.status for c in result.checks} == {"ok"}, result.lines()


def test_restore_into_an_empty_database(world, db_url, request, tmp_path):
    engine = world
    before, before_photos, before_documents = everything(engine), photo_bytes(engine), document_bytes(engine)
    maintenance.backup(engine, tmp_path / "b.zip")
    other = fresh_url(db_url, request, tmp_path)
    done = maintenance.restore(other, tmp_path / "b.zip")  # empty: no --force needed
    assert done.replaced_rows == 0
    assert done.method == ("replace" if engine.dialect.name == "sqlite" else "pg_restore")
    target = open_engine(other)
    try:
        assert without_restore_record(everything(target), before) == before
        assert photo_bytes(target) == before_photos and document_bytes(target) == before_documents
        if engine.dialect.name == "sqlite":  # the photos and documents travel with the database file
            assert {p.parent.parent.parent for p in file_photo_paths(target)} == {tmp_path / "other" / "photos"}
            assert {p.parent.parent.parent for p in file_document_paths(target)} == {tmp_path / "other" / "documents"}
        assert maintenance.check(target).ok
    finally:
        target.dispose()


def test_a_backup_of_an_older_revision_restores_and_is_migrated_up(db_url, request, tmp_path, photo_env):
    from alembic import command

    old = store_db.create_engine(db_url)
    require_pg_tools(old)
    with old.begin() as conn:
        conn.execution_options(audit_exempt=True)
        command.upgrade(store_db._alembic_config(conn), "0004")
    with audit.writing(old, ADMIN) as conn:
        conn.execute(
            sa.insert(t.units), [{"code": f"U{i}", "name": f"单位{i}", "kind": "department"} for i in range(7)]
        )
    report = maintenance.backup(old, tmp_path / "old.zip")
    old.dispose()
    assert report.revision == "0004" and report.tables["units"] == 7 and "findings" not in report.tables
    other = fresh_url(db_url, request, tmp_path)
    done = maintenance.restore(other, tmp_path / "old.zip")
    assert (done.from_revision, done.revision) == ("0004", maintenance.head_revision())
    assert f"数据库版本：备份时为 0004，已升级到 {maintenance.head_revision()}" in done.lines()
    target = maintenance.connect(other)
    try:
        assert maintenance.check(target).ok
        with target.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(t.units)).scalar_one() == 7
    finally:
        target.dispose()


def test_an_older_backup_replaces_a_current_database_and_is_migrated_up(engine, db_url, request, tmp_path, photo_env):
    """Tables the old backup does not have are dropped with the rest, then the migrations create them again."""
    from alembic import command

    require_pg_tools(engine)
    old = store_db.create_engine(fresh_url(db_url, request, tmp_path, "old"))
    with old.begin() as conn:
        conn.execution_options(audit_exempt=True)
        command.upgrade(store_db._alembic_config(conn), "0003")
    maintenance.backup(old, tmp_path / "old.zip")
    old.dispose()
    seed.seed(engine)
    done = maintenance.restore(engine, tmp_path / "old.zip", force=True)
    assert done.from_revision == "0003" and done.revision == maintenance.head_revision()
    assert maintenance.check(engine).ok
    rows = everything(engine)
    assert rows["units"] == rows["users"] == rows["findings"] == []


# --- consistency while the app writes ------------------------------------------------------------------------


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_backup_taken_while_answers_are_written_is_consistent(world, tmp_path):
    engine = world
    with engine.connect() as conn:
        rid = conn.execute(sa.select(t.rounds.c.id)).scalar_one()
    stop, errors, writes = threading.Event(), [], [0]

    def writer():
        i = 0
        try:
            while not stop.is_set():
                i += 1
                failed = i % 2 == 0
                answer = Answer(result=Result.failed if failed else Result.passed, note=f"第{i}次" if failed else "")
                rounds.save_answer(engine, ADMIN, rid, "P003", "III-1-2", answer)
                if failed:
                    rounds.add_photo(engine, ADMIN, rid, "P003", "III-1-2", jpeg(100 + i), f"{i}.jpg")
                writes[0] += 1
        except Exception as e:  # reported by the main thread
            errors.append(e)

    thread = threading.Thread(target=writer)
    thread.start()
    archives = []
    try:
        while writes[0] < 3 and thread.is_alive():
            time.sleep(0.01)
        start = writes[0]
        while (writes[0] - start < 20 or len(archives) < 3) and len(archives) < 40 and thread.is_alive():
            archives.append(maintenance.backup(engine, tmp_path / f"b{len(archives)}.zip"))
    finally:
        stop.set()
        thread.join(60)
    assert not errors, errors
    assert writes[0] - start >= 20, "the writer did not write while the backups were taken"

    for report in archives:
        manifest = maintenance.verify_archive(report.path)
        assert manifest["photos"]["missing"] == []
        copy = tmp_path / "copy.sqlite3"
        with zipfile.ZipFile(report.path) as zf:
            copy.write_bytes(zf.read("database.sqlite3"))
            files = {n for n in zf.namelist() if n.startswith("photos/")}
        with sqlite3.connect(copy) as db:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            assert {n: db.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in tables} == manifest["tables"]
            # every row is there with its audit entry (same transaction), every photo row with its file
            versions = dict(db.execute("SELECT id, version FROM observations"))
            logged: dict[int, int] = {}
            entries = "SELECT row_key, after FROM audit_log WHERE table_name='observations' ORDER BY id"
            for key, after in db.execute(entries):
                if after:
                    logged[json.loads(key)[0]] = json.loads(after)["version"]
            assert logged == versions
            shas = [r[0] for r in db.execute("SELECT sha256 FROM photos")]
            assert files == {f"photos/{s[:2]}/{s[2:4]}/{s}.jpg" for s in shas}
        copy.unlink()
    last = tmp_path / "restored" / "c.db"
    maintenance.restore(f"sqlite:///{last}", archives[-1].path)
    restored = maintenance.connect(f"sqlite:///{last}")
    try:
        assert maintenance.check(restored, verify_photos=True).ok
    finally:
        restored.dispose()


def test_a_damaged_database_file_is_replaced_only_with_force(sqlite_world, tmp_path):
    before = everything(sqlite_world)
    maintenance.backup(sqlite_world, tmp_path / "b.zip")
    sqlite_world.dispose()
    target = tmp_path / "broken" / "civeval.db"
    target.parent.mkdir()
    target.write_bytes(b"this is no database" * 100)
    Path(f"{target}-wal").write_bytes(b"stale")  # would be replayed into the new file if left
    with pytest.raises(
        MaintenanceError, match=r"^目标数据库无法读取（file is not a database）.*--force。数据库未作任何改动$"
    ):
        maintenance.restore(f"sqlite:///{target}", tmp_path / "b.zip")
    assert target.read_bytes() == b"this is no database" * 100
    done = maintenance.restore(f"sqlite:///{target}", tmp_path / "b.zip", force=True)
    wal = Path(f"{target}-wal")
    assert done.method == "replace" and (not wal.exists() or not wal.read_bytes().startswith(b"stale"))
    restored = maintenance.connect(f"sqlite:///{target}")
    try:
        assert without_restore_record(everything(restored), before) == before and maintenance.check(restored).ok
    finally:
        restored.dispose()


# --- damaged archives ---------------------------------------------------------------------------------------


def _rewrite(src: Path, dest: Path, change) -> None:
    """Copy a zip member by member; ``change(name, data)`` returns new data, or None to leave the member out."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info.filename))
            if data is not None:
                zout.writestr(info, data)


def _flip_in_photo(src: Path, dest: Path) -> None:
    raw = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as zf:
        info = next(i for i in zf.infolist() if i.filename.startswith("photos/"))
    middle = info.header_offset + 30 + len(info.filename.encode()) + info.compress_size // 2
    raw[middle] ^= 0xFF
    dest.write_bytes(bytes(raw))


def _edit_manifest(data: bytes, *, drop: str = "", size: object = None) -> bytes:
    manifest = json.loads(data)
    manifest["members"].pop(drop, None)
    if size is not None:
        manifest["members"]["database.sqlite3"]["size"] = size
    return json.dumps(manifest).encode()


def _bad_manifest(src: Path, dest: Path) -> None:
    def change(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["format_version"] = 99
        return json.dumps(manifest).encode()

    _rewrite(src, dest, change)


CORRUPTIONS = {
    "checksum": (
        lambda src, dest: _rewrite(src, dest, lambda n, d: d[:-1] + bytes([d[-1] ^ 1]) if n.startswith("data") else d),
        r"已损坏：database\.sqlite3 的校验值不符",
    ),
    "crc": (_flip_in_photo, r"已损坏"),
    "truncated": (
        lambda src, dest: dest.write_bytes(src.read_bytes()[: src.stat().st_size // 2]),
        r"不是 civeval 备份文件",
    ),
    "not_an_archive": (lambda src, dest: dest.write_text("这不是备份\n"), r"不是 civeval 备份文件（无法作为 zip 打开"),
    "empty": (lambda src, dest: dest.write_bytes(b""), r"不是 civeval 备份文件"),
    "foreign_zip": (
        lambda src, dest: _rewrite(src, dest, lambda n, d: None if n == "manifest.json" else d),
        r"缺少 manifest",
    ),
    "missing_member": (
        lambda src, dest: _rewrite(src, dest, lambda n, d: None if n.startswith("photos/") else d),
        r"不完整：缺少 photos/",
    ),
    "newer_format": (_bad_manifest, r"格式版本 99 比本程序支持的 1 新"),
    "no_database": (
        lambda src, dest: _rewrite(
            src, dest, lambda n, d: _edit_manifest(d, drop="database.sqlite3") if n == "manifest.json" else d
        ),
        r"不是 civeval 备份文件（manifest\.json 中没有数据库 database\.sqlite3）",
    ),
    "garbled_manifest": (
        lambda src, dest: _rewrite(
            src, dest, lambda n, d: _edit_manifest(d, size="big") if n == "manifest.json" else d
        ),
        r"manifest\.json 的成员清单无法读取",
    ),
}


@pytest.fixture
def sqlite_world(tmp_path, monkeypatch):
    """A seeded SQLite database with one photo and one document, both files beside it."""
    for name in ("CIVEVAL_PHOTO_STORAGE", "CIVEVAL_PHOTO_DIR", "CIVEVAL_DOCUMENT_DIR"):
        monkeypatch.delenv(name, raising=False)
    engine = open_engine(f"sqlite:///{tmp_path / 'db' / 'civeval.db'}")
    seed.seed(engine)
    rid = rounds.create_round(
        engine, ADMIN, name="轮次", kind=RoundKind.mock, index_id=seed.index_id(engine), start=START, end=START
    )
    rounds.confirm_draw(engine, ADMIN, rid, PLAN)
    rounds.set_status(engine, ADMIN, rid, RoundStatus.in_progress)
    rounds.save_answer(engine, ADMIN, rid, "P001", "III-1-2", Answer(result=Result.failed, note="破损"))
    rounds.add_photo(engine, ADMIN, rid, "P001", "III-1-2", jpeg(9), "a.jpg")
    submit_documents(engine, "plan")
    yield engine
    engine.dispose()


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_a_damaged_archive_is_refused_and_the_database_is_untouched(sqlite_world, tmp_path, kind):
    engine = sqlite_world
    good = maintenance.backup(engine, tmp_path / "good.zip").path
    before, before_photos, before_documents = everything(engine), photo_bytes(engine), document_bytes(engine)
    files = sorted(p for p in (tmp_path / "db").rglob("*") if p.is_file() and "-" not in p.name)
    damage, message = CORRUPTIONS[kind]
    bad = tmp_path / "bad.zip"
    damage(good, bad)
    with pytest.raises(MaintenanceError, match=message) as refused:
        maintenance.restore(engine, bad, force=True)
    assert "数据库未作任何改动" in str(refused.value) and "\n" not in str(refused.value)
    assert everything(engine) == before and photo_bytes(engine) == before_photos
    assert document_bytes(engine) == before_documents
    assert sorted(p for p in (tmp_path / "db").rglob("*") if p.is_file() and "-" not in p.name) == files
    assert not list((tmp_path / "db").glob(".*.tmp"))


@pytest.mark.parametrize("folder", ["photos/", "documents/"])
def test_an_archive_whose_file_name_and_content_differ_is_refused(sqlite_world, tmp_path, folder):
    good = maintenance.backup(sqlite_world, tmp_path / "good.zip").path

    def swap(name, data):
        if name.startswith(folder):
            return jpeg(77)
        if name == "manifest.json":  # a consistent manifest: only the file's name gives it away
            manifest = json.loads(data)
            for member, meta in manifest["members"].items():
                if member.startswith(folder):
                    meta.update(sha256=hashlib.sha256(jpeg(77)).hexdigest(), size=len(jpeg(77)))
            return json.dumps(manifest).encode()
        return data

    _rewrite(good, tmp_path / "bad.zip", swap)
    with pytest.raises(MaintenanceError, match=rf"{folder}.* 的校验值与文件名不符"):
        maintenance.verify_archive(tmp_path / "bad.zip")

    # a file under another kind's name (suffix or folder), or a name with a path in it, is not ours
    with zipfile.ZipFile(good) as zf:
        [member] = [n for n in zf.namelist() if n.startswith(folder)]
    sha = member.rsplit("/", 1)[1].split(".")[0]
    other = {"photos/": ".bin", "documents/": ".jpg"}[folder]
    for renamed in (
        member.rsplit(".", 1)[0] + other,
        ("documents/" if folder == "photos/" else "photos/") + member.split("/", 1)[1],
        f"{folder}{sha[:2]}/../{sha[2:4]}/{member.rsplit('/', 1)[1]}",
        f"{folder}{sha[2:4]}/{sha[:2]}/{member.rsplit('/', 1)[1]}",
    ):

        def rename(info: zipfile.ZipInfo, data: bytes, renamed=renamed) -> tuple[str, bytes]:
            if info.filename == member:
                return renamed, data
            if info.filename == "manifest.json":
                manifest = json.loads(data)
                manifest["members"][renamed] = manifest["members"].pop(member)
                return info.filename, json.dumps(manifest).encode()
            return info.filename, data

        with zipfile.ZipFile(good) as zin, zipfile.ZipFile(tmp_path / "renamed.zip", "w") as zout:
            for info in zin.infolist():
                name, data = rename(info, zin.read(info.filename))
                zout.writestr(name, data)
        with pytest.raises(MaintenanceError, match=rf"含有不应有的成员：{re.escape(renamed)}$"):
            maintenance.verify_archive(tmp_path / "renamed.zip")

    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(tmp_path / "evil.zip", "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info.filename))
        zout.writestr("../../etc/cron.d/evil", "* * * * * root true\n")
    with pytest.raises(MaintenanceError, match=r"清单之外的成员：\.\./\.\./etc/cron\.d/evil"):
        maintenance.verify_archive(tmp_path / "evil.zip")


def test_an_archive_made_before_documents_were_backed_up_still_restores(sqlite_world, tmp_path):
    """Such an archive has no documents/ members and no "documents" entry in its manifest."""
    engine = sqlite_world
    with audit.writing(engine, ADMIN) as conn:  # as the database was before documents could be uploaded
        conn.execute(sa.delete(t.material_submissions))
        conn.execute(sa.delete(t.documents))
    before, before_photos = everything(engine), photo_bytes(engine)
    new = maintenance.backup(engine, tmp_path / "new.zip").path

    def old_manifest(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        del manifest["documents"]
        return json.dumps(manifest).encode()

    _rewrite(new, tmp_path / "old.zip", old_manifest)
    with zipfile.ZipFile(tmp_path / "old.zip") as zf:
        assert not [n for n in zf.namelist() if not n.startswith(("photos/", "database", "manifest"))]
    target = tmp_path / "restored" / "civeval.db"
    done = maintenance.restore(f"sqlite:///{target}", tmp_path / "old.zip")
    assert done.uploads["documents"].rows == 0 and done.photo_files_written == 1
    assert not any(line.startswith("材料文件") for line in done.lines())
    restored = maintenance.connect(f"sqlite:///{target}")
    try:
        assert without_restore_record(everything(restored), before) == before
        assert photo_bytes(restored) == before_photos
        report = maintenance.check(restored)
        assert report.ok and report.by_name("documents").message == "尚无材料文件", report.lines()
    finally:
        restored.dispose()


@pytest.mark.postgres
def test_on_postgresql_a_damaged_or_foreign_archive_is_refused_and_nothing_changes(pg_url, tmp_path, photo_env):
    engine = open_engine(pg_url)
    try:
        require_pg_tools(engine)
        seed.seed(engine)
        good = maintenance.backup(engine, tmp_path / "good.zip").path
        before = everything(engine)
        CORRUPTIONS["checksum"][0](good, tmp_path / "bad.zip")
        with pytest.raises(MaintenanceError, match=r"database\.pgdump 的校验值不符。数据库未作任何改动"):
            maintenance.restore(engine, tmp_path / "bad.zip", force=True)
        lite = open_engine(f"sqlite:///{tmp_path / 'lite.db'}")
        maintenance.backup(lite, tmp_path / "lite.zip")
        lite.dispose()
        with pytest.raises(MaintenanceError, match=r"备份来自 SQLite 数据库，不能恢复到 PostgreSQL 数据库"):
            maintenance.restore(engine, tmp_path / "lite.zip", force=True)
        assert everything(engine) == before
    finally:
        engine.dispose()


# --- check --------------------------------------------------------------------------------------------------


def test_check_passes_on_a_good_database(world):
    report = maintenance.check(world, verify_photos=True)
    assert [c.name for c in report.checks] == [
        "integrity",
        "revision",
        "audit_triggers",
        "photos",
        "orphans",
        "documents",
        "document_orphans",
    ]
    assert report.ok and all(c.status == "ok" for c in report.checks), report.lines()
    assert "5 张照片都在" in report.by_name("photos").message
    documents = report.by_name("documents").message
    assert documents.startswith("2 个材料文件都在：文件 ") and documents.endswith("；内容已逐一核对校验值")
    assert report.lines()[-1] == "检查完毕：7 项通过"


def test_check_reports_missing_and_damaged_photos_and_documents_and_orphaned_files(world):
    engine = world
    [lost, *_] = file_photo_paths(engine)
    orphan = lost.parent.parent.parent / "ee" / "ff" / ("eeff" + "0" * 60 + ".jpg")
    orphan.parent.mkdir(parents=True)
    shutil.copy(lost, orphan)
    lost.unlink()
    [lost_document, *_] = file_document_paths(engine)
    stray_document = lost_document.parent.parent.parent / "aa" / "bb" / ("aabb" + "1" * 60 + ".bin")
    stray_document.parent.mkdir(parents=True)
    stray_document.write_bytes(b"left over")
    lost_document.unlink()
    if engine.dialect.name == "postgresql":
        with audit.writing(engine, ADMIN) as conn:
            conn.execute(
                sa.update(t.photos)
                .where(t.photos.c.id == sa.select(sa.func.min(t.photos.c.id)).scalar_subquery())
                .values(data=b"short")
            )
    report = maintenance.check(engine)
    assert not report.ok
    photos_check = report.by_name("photos")
    assert (
        photos_check.status == "failed" and "的文件缺失" in photos_check.message and str(lost) in photos_check.message
    )
    if engine.dialect.name == "postgresql":
        assert "在数据库中的内容大小不符（5 字节" in photos_check.message
    orphans = report.by_name("orphans")
    assert orphans.status == "warning" and "1 个文件" in orphans.message and orphan.name in orphans.message
    documents = report.by_name("documents")
    assert documents.status == "failed" and documents.message.startswith("1 个材料文件有问题：#")
    assert f"的文件缺失（{lost_document}）" in documents.message
    stray = report.by_name("document_orphans")
    assert stray.status == "warning" and "1 个文件（0.0 KB）不属于任何材料文件记录" in stray.message
    assert stray_document.name in stray.message and orphan.name not in stray.message
    assert report.by_name("integrity").status == report.by_name("revision").status == "ok"
    assert "[失败] 材料文件：1 个材料文件有问题" in "\n".join(report.lines())
    assert report.lines()[-1] == "检查完毕：3 项通过，2 项警告，2 项失败"


def test_check_reports_an_out_of_date_migration(engine, photo_env):
    from alembic import command

    with engine.begin() as conn:
        conn.execution_options(audit_exempt=True)
        command.stamp(store_db._alembic_config(conn), "0004")
    report = maintenance.check(engine)
    revision = report.by_name("revision")
    assert not report.ok and revision.status == "failed"
    assert revision.message.startswith(f"0004，最新为 {maintenance.head_revision()}：请运行 python -m civeval init")
    with engine.begin() as conn:
        conn.execution_options(audit_exempt=True)
        command.stamp(store_db._alembic_config(conn), "head")
    assert maintenance.check(engine).ok


def test_check_reports_a_damaged_sqlite_file_and_a_missing_one(tmp_path):
    path = tmp_path / "c.db"
    engine = open_engine(f"sqlite:///{path}")
    seed.seed(engine)
    engine.dispose()
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name='audit_log'").fetchone()[0]
        page = db.execute("PRAGMA page_size").fetchone()[0]
    with path.open("r+b") as f:  # scribble over the audit log's root page
        f.seek((root - 1) * page + 8)
        f.write(b"\xa5" * (page - 8))
    engine = store_db.create_engine(f"sqlite:///{path}")
    try:
        report = maintenance.check(engine)
        with pytest.raises(MaintenanceError, match=r"^数据库文件已损坏，无法备份（database disk image is malformed）"):
            maintenance.backup(engine, tmp_path / "b.zip")
    finally:
        engine.dispose()
    integrity = report.by_name("integrity")
    assert not report.ok and integrity.status == "failed"
    assert integrity.message.startswith("数据库文件已损坏（database disk image is malformed）：请用最近的备份恢复")
    assert not (tmp_path / "b.zip").exists() and not list(tmp_path.glob(".civeval-backup-*"))

    missing = tmp_path / "nowhere" / "c.db"
    report = maintenance.check(store_db.create_engine(f"sqlite:///{missing}"))
    assert not report.ok and report.lines()[1] == f"[失败] 数据库：数据库文件不存在：{missing}"
    assert not missing.exists()


# --- PostgreSQL client programs -----------------------------------------------------------------------------


def _fake_tool(folder: Path, name: str, version: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / name
    script.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) {version} (fake)'\n")
    script.chmod(0o755)


def test_pg_dump_must_be_there_and_not_older_than_the_server(tmp_path, monkeypatch):
    monkeypatch.setattr(maintenance, "_pg_bin_dirs", lambda major: [tmp_path / "bin"])
    monkeypatch.setattr(maintenance, "_other_pg_bin_dirs", lambda: [tmp_path / "other"])
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(
        MaintenanceError, match=r"找不到 pg_dump（PostgreSQL 15 的客户端程序）：请安装 postgresql-client-15"
    ):
        maintenance.find_pg_tool("pg_dump", 15)
    _fake_tool(tmp_path / "bin", "pg_dump", "14.9")
    with pytest.raises(MaintenanceError, match=r"找到的 pg_dump 版本（14\.9）低于 PostgreSQL 服务器的版本 15"):
        maintenance.find_pg_tool("pg_dump", 15)
    _fake_tool(tmp_path / "other", "pg_dump", "16.2")
    assert maintenance.find_pg_tool("pg_dump", 15).version == "16.2"  # newer will do
    _fake_tool(tmp_path / "empty", "pg_dump", "15.4")
    assert maintenance.find_pg_tool("pg_dump", 15).version == "15.4"  # the same major is preferred


# --- the command line ---------------------------------------------------------------------------------------


def cli(*args: str, db: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CIVEVAL_PHOTO_STORAGE",)}
    return subprocess.run(
        [sys.executable, "-m", "civeval", *args, "--db", db],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )


def test_commands_have_help(capsys):
    from civeval import cli as civeval_cli

    for cmd in ("backup", "restore", "check"):
        with pytest.raises(SystemExit) as done:
            civeval_cli.main([cmd, "--help"])
        assert done.value.code == 0 and "--db" in capsys.readouterr().out, cmd


def test_cli_backup_check_restore_round_trip(sqlite_world, tmp_path, monkeypatch):
    """As a user types it: real processes on a real database file."""
    engine = sqlite_world
    monkeypatch.delenv("CIVEVAL_PHOTO_DIR", raising=False)
    db = engine.url.render_as_string(hide_password=False)
    before = everything(engine)
    engine.dispose()
    archive = tmp_path / "备份.zip"

    out = cli("backup", str(archive), db=db)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"已备份到 {archive}（") and "照片：1 张" in out.stdout
    assert "文件 1 个随备份保存" in out.stdout and "材料文件：1 个，共 " in out.stdout
    again = cli("backup", str(archive), db=db)
    assert again.returncode == 1 and again.stderr.strip() == f"错误：备份文件已存在：{archive}（确需覆盖请加 --force）"

    ok = cli("check", db=db)
    assert ok.returncode == 0 and ok.stdout.splitlines()[-1] == "检查完毕：7 项通过", ok.stdout
    [photo] = file_photo_paths(engine)
    photo.unlink()
    bad = cli("check", db=db)
    assert bad.returncode == 1 and "[失败] 照片：1 张照片有问题：#1 的文件缺失" in bad.stdout

    refused = cli("restore", str(archive), db=db)
    assert refused.returncode == 1 and "目标数据库已有数据" in refused.stderr and "数据库未作任何改动" in refused.stderr
    restored = cli("restore", str(archive), "--force", db=db)
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.startswith(f"已从 {archive} 恢复到 {db}") and "与备份清单一致" in restored.stdout
    assert cli("check", db=db).returncode == 0 and photo.is_file()
    assert without_restore_record(everything(engine), before) == before

    garbage = tmp_path / "x.zip"
    garbage.write_text("hello")
    out = cli("restore", str(garbage), db=db)
    assert (
        out.returncode == 1
        and out.stderr
        == "错误：x.zip 不是 civeval 备份文件（无法作为 zip 打开：文件可能不完整或已损坏）。数据库未作任何改动\n"
    )


def test_cli_options_and_errors(sqlite_world, tmp_path, capsys):
    """The same commands in-process (cheaper than a process each): --force, folders, missing files."""
    from civeval import cli as civeval_cli

    db = sqlite_world.url.render_as_string(hide_password=False)
    sqlite_world.dispose()

    def run(*args: str) -> tuple[int, str, str]:
        try:
            code = civeval_cli.main([*args, "--db", db])
        except SystemExit as e:
            code = e.code
        out = capsys.readouterr()
        return code, out.out, out.err

    archive = tmp_path / "b.zip"
    assert run("backup", str(archive))[0] == 0
    assert run("backup", str(archive), "--force")[0] == 0
    assert run("backup", str(tmp_path))[0] == 0 and len(list(tmp_path.glob("civeval-*.zip"))) == 1
    assert run("backup", f"{tmp_path / '新目录'}/")[0] == 0
    assert len(list((tmp_path / "新目录").glob("civeval-*.zip"))) == 1
    code, _, err = run("restore", str(tmp_path / "none.zip"))
    assert code == 1 and err == f"错误：找不到备份文件 {tmp_path / 'none.zip'}。数据库未作任何改动\n"
    code, out, err = run("check", "--verify-photos")
    assert code == 0 and "内容已逐一核对校验值" in out

    missing = tmp_path / "none" / "c.db"
    db = f"sqlite:///{missing}"
    for args in (["check"], ["backup", str(tmp_path / "m.zip")], ["restore", "--force", str(archive)]):
        code, out, err = run(*args)
        if args[0] == "restore":  # restoring into a new file is fine
            assert code == 0 and "已从" in out
            missing.unlink()
            continue
        assert code == 1 and err == f"错误：数据库文件不存在：{missing}\n"
        assert not missing.exists()


@pytest.mark.postgres
def test_cli_round_trip_on_postgresql(pg_url, request, tmp_path, photo_env):
    engine = open_engine(pg_url)
    try:
        require_pg_tools(engine)
        seed.seed(engine)
        before = everything(engine)
    finally:
        engine.dispose()
    archive = tmp_path / "pg.zip"
    out = cli("backup", str(archive), db=pg_url)
    assert out.returncode == 0 and "已备份到" in out.stdout, out.stderr
    other = fresh_url(pg_url, request, tmp_path)
    restored = cli("restore", str(archive), db=other)
    assert restored.returncode == 0 and "与备份清单一致" in restored.stdout, restored.stderr
    check = cli("check", db=other)
    assert check.returncode == 0, check.stdout
    target = maintenance.connect(other)
    try:
        assert without_restore_record(everything(target), before) == before
    finally:
        target.dispose()
