"""Backup, restore and health check of a civeval database, its photos and its materials documents.

A backup is one zip file::

    manifest.json                what is inside: format version, schema revision, dialect, when, rows per table,
                                 photos and documents, and the SHA-256 and size of every other member
    database.sqlite3             SQLite: a copy made with SQLite's online backup API (consistent while the app writes)
    database.pgdump              PostgreSQL: ``pg_dump -Fc``, taken on a snapshot exported by the transaction that
                                 also counts the rows and lists the photos and documents, so manifest and dump agree
    photos/ab/cd/<sha256>.jpg    the photo files the database's rows point to (storage "file"); photos stored in
                                 the database (storage "db", the PostgreSQL default) travel inside the dump
    documents/ab/cd/<sha256>.bin the materials documents (``civeval.materials``) kept as files, the same way

Photos and documents are both kept by content by a ``civeval.photos`` store, each in its own table and folder;
everything here handles them alike, one :data:`KINDS` entry each. An archive made before documents were backed up
(no ``documents/`` members, no ``documents`` entry in its manifest) restores as before.

:func:`restore` checks the whole archive (manifest, every checksum, the database inside it) before it touches
anything, refuses to replace a database that holds data unless told to (``force``), and afterwards the target
holds exactly the rows the manifest counts, its migrations are current (a backup made by an older civeval is
migrated up), and every photo and document file is in place.

SQLite: the database is unpacked, checked and migrated in a temporary file beside the target, then copied into
the target with the backup API (one write transaction: other connections, the running app's included, see the
old or the new database, never a mixture) or, when the target is missing or unreadable, renamed over it after
its stale ``-wal``/``-shm``/``-journal`` files are removed. PostgreSQL: ``pg_restore --clean --if-exists
--no-owner`` piped into one ``psql --single-transaction`` that first drops civeval's tables: all or nothing.
Photo and document files are added to their folders by content (an existing identical file is kept, a damaged
one replaced); files the restored rows do not use are left alone and :func:`check` reports them.

A restore replaces the whole database, the append-only audit log included: entries written after the backup
was made are gone with the rest of that period (the log cannot be edited, but a restore goes back in time).
The restore itself is then recorded as the newest entry: the setting ``last_restore`` is written by the acting
user, naming the archive, when it was made and how many rows it replaced.

:func:`check` reports named checks, each ok, warning or failed, with a Chinese message: the database's own
integrity check, the append-only triggers, the schema revision against the newest migration, and for photos and
for documents every row's bytes (file or database) and the files in their folder no row uses (a warning).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa

from civeval import audit, logs, materials, photos
from civeval.models import Actor
from civeval.store import db as store_db
from civeval.store import repo
from civeval.store import schema as t

FORMAT = "civeval-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
RESTORE_SETTING = "last_restore"
# Bookkeeping, not data: a database holding rows only here counts as empty (nothing to lose by replacing it).
BOOKKEEPING_TABLES = {"alembic_version", "login_sessions"}
CHUNK = 1024 * 1024
EXAMPLES = 5  # problems named in one message

TABLE_NAMES = {
    "units": "单位",
    "points": "点位",
    "standards": "测评标准",
    "users": "用户",
    "rounds": "测评轮次",
    "observations": "测评记录",
    "photos": "照片",
    "findings": "问题",
    "audit_log": "操作日志",
}


class MaintenanceError(Exception):
    """A backup, restore or check that cannot go on; the message is one Chinese line."""


@dataclass(frozen=True)
class Kind:
    """One kind of upload kept by content (a ``civeval.photos`` store): its table, where its files live, and the
    words for it. Its files travel in an archive as ``<table>/ab/cd/<sha256><suffix>``, named as on disk."""

    table: sa.Table  # its name is also the folder in an archive, the manifest entry and the check's name
    folder: Callable[[sa.Engine | None], Path]  # where its files live for a database
    suffix: str
    orphans: str  # the name of the check of its folder
    noun: str  # 照片 / 材料文件
    measure: str  # the measure word that counts it: 张 / 个
    file_noun: str  # its files: 照片文件 / 材料文件
    compress: int = zipfile.ZIP_DEFLATED  # how its members are written

    @property
    def name(self) -> str:
        return self.table.name

    def store(self, engine: sa.Engine | None) -> photos.FileStore:
        """Its files (rows with storage "file"), whichever store is the default for new uploads."""
        return photos.FileStore(self.folder(engine), table=self.table, suffix=self.suffix, noun=self.noun)

    def member(self, sha256: str) -> str:
        return f"{self.name}/{sha256[:2]}/{sha256[2:4]}/{sha256}{self.suffix}"

    def sha_of(self, member: str) -> str | None:
        """The SHA-256 an archive member of this kind is named by; None when the name is not exactly one."""
        sha = member.rpartition("/")[2].removesuffix(self.suffix)
        return sha if re.fullmatch(r"[0-9a-f]{64}", sha) and member == self.member(sha) else None


KINDS = (
    Kind(
        t.photos,
        photos.photo_dir,
        ".jpg",
        orphans="orphans",
        noun="照片",
        measure="张",
        file_noun="照片文件",
        compress=zipfile.ZIP_STORED,  # JPEGs do not compress
    ),
    Kind(
        t.documents,
        materials.document_dir,
        materials.DOCUMENT_SUFFIX,
        orphans="document_orphans",
        noun="材料文件",
        measure="个",
        file_noun="材料文件",
    ),
)
PHOTOS = KINDS[0]


# --- small helpers ------------------------------------------------------------------------------------------


def _mb(n: int) -> str:
    """A size for people: MB, or KB below one MB."""
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def _short(error: BaseException) -> str:
    """The first line of an error's message (the driver's own message for database errors)."""
    text = str(getattr(error, "orig", None) or error).strip()
    return (text.splitlines() or [type(error).__name__])[0][:300]


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _examples(items: list[str]) -> str:
    text = "；".join(items[:EXAMPLES])
    return text + (f" 等 {len(items)} 处" if len(items) > EXAMPLES else "")


def _describe_rows(tables: dict[str, int]) -> str:
    """'单位 11 个、点位 8 个 …' style: the tables people know, then the total."""
    named = [f"{label} {tables[k]}" for k, label in TABLE_NAMES.items() if tables.get(k)]
    return f"{len(tables)} 张表共 {_data_rows(tables)} 行" + (f"（{'、'.join(named)}）" if named else "")


def _data_rows(tables: dict[str, int]) -> int:
    return sum(v for k, v in tables.items() if k not in BOOKKEEPING_TABLES)


def _local(moment: dt.datetime) -> str:
    """A naive-UTC store timestamp as the office's local time."""
    return moment.replace(tzinfo=dt.UTC).astimezone(audit.local_zone()).strftime("%Y-%m-%d %H:%M:%S")


def _parse_url(url: str) -> sa.URL:
    try:
        return sa.engine.make_url(store_db._normalise(url))
    except sa.exc.ArgumentError:
        raise MaintenanceError(f"数据库 URL 无效：{url}") from None


def _sqlite_file(url: sa.URL) -> Path:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise MaintenanceError("内存数据库不能备份、恢复或检查，请用数据库文件")
    return Path(database)


def _url_text(url: sa.URL) -> str:
    return url.render_as_string(hide_password=True)


def connect(url: str | None = None) -> sa.Engine:
    """An engine on an existing database, as it is: not migrated (backup and check must see the real state),
    and for SQLite never creating an empty file where none was. Raises MaintenanceError."""
    url = url or store_db.default_url()
    parsed = _parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_file(parsed)
        if not path.is_file():
            raise MaintenanceError(f"数据库文件不存在：{path}")
    return store_db.create_engine(url)


# --- migrations ---------------------------------------------------------------------------------------------


def _script():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(store_db.MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg)


def head_revision() -> str:
    """The newest migration this civeval has."""
    return _script().get_current_head()


def known_revisions() -> set[str]:
    return {r.revision for r in _script().walk_revisions()}


def _current_revision(conn: sa.Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    heads = MigrationContext.configure(conn).get_current_heads()
    return ",".join(heads) if heads else None


# --- what a database holds ----------------------------------------------------------------------------------


@dataclass
class _Contents:
    revision: str | None
    tables: dict[str, int]
    uploads: dict[str, list[tuple[int, str, str, int]]]  # per kind: id, sha256, storage, size_bytes of every row


def _table_names(conn: sa.Connection) -> list[str]:
    return sorted(sa.inspect(conn).get_table_names())


def _contents(conn: sa.Connection) -> _Contents:
    """Schema revision, rows per table and the photo and document rows, read on ``conn`` (one snapshot when it is
    one). A kind whose table the database does not have yet (an older revision) has no rows."""
    quote = conn.dialect.identifier_preparer.quote
    names = _table_names(conn)
    tables = {n: conn.execute(sa.text(f"SELECT count(*) FROM {quote(n)}")).scalar_one() for n in names}
    revision = _current_revision(conn) if "alembic_version" in tables else None
    uploads: dict[str, list[tuple[int, str, str, int]]] = {}
    for kind in KINDS:
        query = f"SELECT id, sha256, storage, size_bytes FROM {quote(kind.name)} ORDER BY id"
        rows = conn.execute(sa.text(query)) if kind.name in tables else []
        uploads[kind.name] = [(r.id, r.sha256, r.storage, r.size_bytes) for r in rows]
    return _Contents(revision=revision, tables=tables, uploads=uploads)


def _sqlite_contents(path: Path) -> _Contents:
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return _contents(conn)
    finally:
        engine.dispose()


def _compare_counts(expected: dict[str, int], actual: dict[str, int]) -> None:
    if expected == actual:
        return
    diffs = [
        f"{name} 应为 {expected.get(name, '无此表')}，实为 {actual.get(name, '无此表')}"
        for name in sorted(set(expected) | set(actual))
        if expected.get(name) != actual.get(name)
    ]
    raise MaintenanceError(f"恢复的数据与备份清单不符：{_examples(diffs)}")


# --- PostgreSQL client programs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PgTool:
    path: str
    major: int
    version: str


def _pg_bin_dirs(major: int) -> list[Path]:
    """Where to look before PATH: env CIVEVAL_PG_BIN, then Debian's versioned directory for the server's major."""
    dirs = []
    if env := os.environ.get("CIVEVAL_PG_BIN", "").strip():
        dirs.append(Path(env))
    dirs.append(Path(f"/usr/lib/postgresql/{major}/bin"))
    return dirs


def _other_pg_bin_dirs() -> list[Path]:
    return sorted(Path("/usr/lib/postgresql").glob("*/bin"))


def _tool_version(path: str) -> tuple[int, str] | None:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"\(PostgreSQL\)\s+((\d+)(?:\.\d+)*)", out.stdout)
    return (int(m.group(2)), m.group(1)) if m else None


def find_pg_tool(name: str, server_major: int) -> PgTool:
    """``pg_dump``, ``pg_restore`` or ``psql`` of the server's major version (a newer one will do, an older one
    will not: it cannot read what a newer server or pg_dump writes). Raises MaintenanceError saying what to install.
    """
    candidates: list[str] = [str(d / name) for d in _pg_bin_dirs(server_major)]
    if on_path := shutil.which(name):
        candidates.append(on_path)
    candidates += [str(d / name) for d in _other_pg_bin_dirs()]
    seen: dict[str, tuple[int, str]] = {}
    for path in dict.fromkeys(candidates):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            continue
        version = _tool_version(path)
        if version is not None:
            seen[path] = version
    usable = [(major != server_major, major, path) for path, (major, _) in seen.items() if major >= server_major]
    if usable:
        _, major, path = min(usable)
        return PgTool(path=path, major=major, version=seen[path][1])
    package = f"postgresql-client-{server_major}"
    hint = f"请安装 {package}（apt-get install {package}），或用环境变量 CIVEVAL_PG_BIN 指定其 bin 目录"
    if seen:
        found = "、".join(sorted({v for _, v in seen.values()}))
        raise MaintenanceError(f"找到的 {name} 版本（{found}）低于 PostgreSQL 服务器的版本 {server_major}：{hint}")
    raise MaintenanceError(f"找不到 {name}（PostgreSQL {server_major} 的客户端程序）：{hint}")


def _pg_server_version(conn: sa.Connection) -> tuple[int, str]:
    num = int(conn.execute(sa.text("SHOW server_version_num")).scalar_one())
    text = str(conn.execute(sa.text("SHOW server_version")).scalar_one()).split()[0]
    return num // 10000, text


def _pg_connection(url: sa.URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string for the client programs, and their environment (the password goes there,
    never on a command line)."""
    from psycopg.conninfo import make_conninfo

    params: dict[str, str] = {}
    for key, value in url.query.items():
        params[key] = value if isinstance(value, str) else value[-1]
    if url.host:
        params["host"] = url.host
    if url.port:
        params["port"] = str(url.port)
    if url.username:
        params["user"] = url.username
    if url.database:
        params["dbname"] = url.database
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return make_conninfo("", **params), env


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    except OSError as e:
        raise MaintenanceError(f"{what}失败：无法运行 {cmd[0]}（{e.strerror or e}）") from e
    if done.returncode != 0:
        raise MaintenanceError(f"{what}失败：{_first_error(done.stderr)}")


def _first_error(stderr: str) -> str:
    lines = [line.strip() for line in (stderr or "").splitlines() if line.strip()]
    for line in lines:
        if "ERROR" in line or "error" in line or "FATAL" in line:
            return line[:300]
    return (lines[0] if lines else "未知错误")[:300]


# Drops what civeval keeps in the target before the dump recreates it, inside the same transaction as the
# restore; --clean only drops what the dump names, and a newer target may hold tables an older dump lacks.
_PG_PRELUDE = """
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT viewname FROM pg_views WHERE schemaname = 'public' LOOP
    EXECUTE format('DROP VIEW IF EXISTS public.%I CASCADE', r.viewname);
  END LOOP;
  FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
    EXECUTE format('DROP TABLE IF EXISTS public.%I CASCADE', r.tablename);
  END LOOP;
  FOR r IN SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' LOOP
    EXECUTE format('DROP SEQUENCE IF EXISTS public.%I CASCADE', r.sequencename);
  END LOOP;
END $$;
DROP FUNCTION IF EXISTS public.audit_log_append_only() CASCADE;
"""


# --- backup -------------------------------------------------------------------------------------------------


@dataclass
class _Snapshot:
    db_file: Path
    member: str
    contents: _Contents
    database: dict[str, Any]


@dataclass(frozen=True)
class UploadsBackedUp:
    """One kind's uploads in a backup: the manifest's entry of the same name."""

    rows: int
    bytes: int  # all of them, wherever their bytes are kept
    files: int  # files put in the archive
    in_database: int
    missing: tuple[str, ...] = ()  # rows whose file was missing or damaged: not in the archive


@dataclass(frozen=True)
class BackupReport:
    path: Path
    size_bytes: int
    dialect: str
    revision: str | None
    created_at: dt.datetime  # naive UTC
    tables: dict[str, int]
    uploads: dict[str, UploadsBackedUp]  # per kind: "photos", "documents"

    @property
    def rows(self) -> int:
        return _data_rows(self.tables)

    @property
    def photo_rows(self) -> int:
        return self.uploads[PHOTOS.name].rows

    @property
    def photo_files(self) -> int:
        return self.uploads[PHOTOS.name].files

    @property
    def missing_photos(self) -> tuple[str, ...]:
        return self.uploads[PHOTOS.name].missing

    def lines(self) -> list[str]:
        out = [
            f"已备份到 {self.path}（{_mb(self.size_bytes)}），备份时间 {_local(self.created_at)}",
            f"数据：{_describe_rows(self.tables)}；数据库版本 {self.revision or '无'}",
        ]
        for kind in KINDS:
            u = self.uploads[kind.name]
            if not u.rows:
                out.append(f"{kind.noun}：无")
                continue
            where = [f"文件 {u.files} 个随备份保存"] if u.files else []
            if u.in_database:
                where.append(f"{u.in_database} {kind.measure}存于数据库中")
            out.append(f"{kind.noun}：{u.rows} {kind.measure}，共 {_mb(u.bytes)}（{'，'.join(where) or '无文件'}）")
        for kind in KINDS:
            if missing := self.uploads[kind.name].missing:
                out.append(
                    f"警告：{len(missing)} {kind.measure}{kind.noun}的文件缺失或已损坏，未能备份："
                    f"{_examples(list(missing))}（运行 python -m civeval check 查看）"
                )
        return out


def default_archive_name() -> str:
    now = dt.datetime.now(audit.local_zone())
    return f"civeval-{now:%Y%m%d-%H%M%S}.zip"


def backup(engine: sa.Engine, out: Path | str, *, force: bool = False) -> BackupReport:
    """Write the database and its photo and document files to one zip archive at ``out`` (a directory, or a name
    ending in "/": a dated file in it).

    Consistent while the app writes (SQLite's backup API; pg_dump on an exported snapshot). Refuses to replace an
    existing file unless ``force``. A photo or document whose file is missing or damaged is reported, not fatal: a
    backup is most wanted when something is already wrong.
    """
    as_dir = isinstance(out, str) and out.endswith(("/", os.sep))  # "备份/": a folder, made if missing
    out = Path(out)
    if as_dir or out.is_dir():
        out = out / default_archive_name()
    if out.exists() and not force:
        raise MaintenanceError(f"备份文件已存在：{out}（确需覆盖请加 --force）")
    dialect = engine.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        raise MaintenanceError(f"不支持备份 {dialect} 数据库")
    if dialect == "sqlite" and not _sqlite_file(engine.url).is_file():
        raise MaintenanceError(f"数据库文件不存在：{engine.url.database}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".civeval-backup-", dir=out.parent))
    except OSError as e:
        raise MaintenanceError(f"无法写入 {out.parent}（{e.strerror or e}）") from e
    try:
        created = audit.now().replace(microsecond=0)
        try:
            snap = _snapshot_sqlite(engine, staging) if dialect == "sqlite" else _snapshot_postgresql(engine, staging)
        except sa.exc.DBAPIError as e:
            raise MaintenanceError(f"无法读取数据库：{_short(e)}") from e
        tmp = staging / "archive.zip"
        report = _write_archive(tmp, snap, engine, created)
        try:
            os.replace(tmp, out)
        except OSError as e:
            raise MaintenanceError(f"无法写入备份文件 {out}（{e.strerror or e}）") from e
        photos._fsync_dir(out.parent)
        logs.event("backup", action="备份", detail=f"{out}（{_mb(report.size_bytes)}，{report.rows} 行）")
        return dataclasses.replace(report, path=out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _snapshot_sqlite(engine: sa.Engine, staging: Path) -> _Snapshot:
    copy = staging / SQLITE_MEMBER
    raw = engine.raw_connection()
    try:
        source = raw.driver_connection
        target = sqlite3.connect(copy)
        try:
            source.backup(target)  # all pages in one step: one read transaction, one consistent state
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            try:
                problems = [r[0] for r in target.execute("PRAGMA quick_check")]
            except sqlite3.DatabaseError as e:
                problems = [_short(e)]
        finally:
            target.close()
    except sqlite3.Error as e:
        raise MaintenanceError(f"数据库备份失败：{_short(e)}") from e
    finally:
        raw.close()
    if problems != ["ok"]:  # such a copy could not be restored: say so now, not on the day it is needed
        raise MaintenanceError(
            f"数据库文件已损坏，无法备份（{_examples(problems)}）：请运行 python -m civeval check，并保留此前的备份"
        )
    database = {"format": "sqlite3", "sqlite": sqlite3.sqlite_version}
    return _Snapshot(copy, SQLITE_MEMBER, _sqlite_contents(copy), database)


def _snapshot_postgresql(engine: sa.Engine, staging: Path) -> _Snapshot:
    dump = staging / PG_MEMBER
    conninfo, env = _pg_connection(engine.url)
    try:
        with engine.connect() as conn:
            major, server_version = _pg_server_version(conn)
            conn.rollback()
            tool = find_pg_tool("pg_dump", major)
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                # pg_dump reads the very snapshot this transaction reads: the manifest describes the dump.
                snapshot = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
                _run(
                    [
                        tool.path,
                        "--format=custom",
                        "--no-owner",
                        "--no-privileges",
                        f"--snapshot={snapshot}",
                        f"--file={dump}",
                        f"--dbname={conninfo}",
                    ],
                    env,
                    "pg_dump 备份",
                )
                contents = _contents(conn)
    except sa.exc.DBAPIError as e:
        raise MaintenanceError(f"无法读取数据库：{_short(e)}") from e
    database = {
        "format": "pg_dump custom",
        "server_version": server_version,
        "server_major": major,
        "pg_dump_version": tool.version,
        "pg_dump_major": tool.major,
    }
    return _Snapshot(dump, PG_MEMBER, contents, database)


def _zip_info(name: str, compress: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=dt.datetime.now().timetuple()[:6])
    info.compress_type = compress
    info.external_attr = 0o644 << 16
    return info


def _add_file(zf: zipfile.ZipFile, src: Path, name: str) -> dict[str, Any]:
    h, size = hashlib.sha256(), 0
    with src.open("rb") as f, zf.open(_zip_info(name, zipfile.ZIP_DEFLATED), "w", force_zip64=True) as w:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
            w.write(chunk)
    return {"sha256": h.hexdigest(), "size": size}


def _add_uploads(zf: zipfile.ZipFile, kind: Kind, engine: sa.Engine, rows: list, members: dict) -> dict[str, Any]:
    """Put the files of one kind's "file" rows in the archive; its manifest entry."""
    store = kind.store(engine)
    missing: list[str] = []
    files = file_bytes = 0
    for row_id, sha, storage, _size in rows:
        if storage != "file":
            continue
        try:
            data = store.path_for(sha).read_bytes()
        except (OSError, ValueError):
            missing.append(f"#{row_id} 文件缺失")
            continue
        if hashlib.sha256(data).hexdigest() != sha:
            missing.append(f"#{row_id} 文件已损坏")
            continue
        name = kind.member(sha)
        zf.writestr(_zip_info(name, kind.compress), data)
        members[name] = {"sha256": sha, "size": len(data)}
        files, file_bytes = files + 1, file_bytes + len(data)
    return {
        "rows": len(rows),
        "bytes": sum(r[3] for r in rows),
        "in_database": sum(1 for r in rows if r[2] == "db"),
        "files": files,
        "file_bytes": file_bytes,
        "missing": missing,
    }


def _write_archive(tmp: Path, snap: _Snapshot, engine: sa.Engine, created: dt.datetime) -> BackupReport:
    members: dict[str, dict[str, Any]] = {}
    try:
        with zipfile.ZipFile(tmp, "w", allowZip64=True) as zf:
            members[snap.member] = _add_file(zf, snap.db_file, snap.member)
            uploads = {k.name: _add_uploads(zf, k, engine, snap.contents.uploads[k.name], members) for k in KINDS}
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "created_at": created.isoformat() + "Z",
                "dialect": engine.dialect.name,
                "revision": snap.contents.revision,
                "source": _url_text(engine.url),
                "database": {"member": snap.member, **snap.database},
                "tables": snap.contents.tables,
                **uploads,  # "photos", "documents"
                "members": members,
            }
            zf.writestr(
                _zip_info(MANIFEST, zipfile.ZIP_DEFLATED), json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
            )
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
    except OSError as e:
        raise MaintenanceError(f"写备份文件失败（{e.strerror or e}）") from e
    return BackupReport(
        path=tmp,
        size_bytes=tmp.stat().st_size,
        dialect=engine.dialect.name,
        revision=snap.contents.revision,
        created_at=created,
        tables=snap.contents.tables,
        uploads={
            name: UploadsBackedUp(
                rows=u["rows"],
                bytes=u["bytes"],
                files=u["files"],
                in_database=u["in_database"],
                missing=tuple(u["missing"]),
            )
            for name, u in uploads.items()
        },
    )


# --- reading an archive -------------------------------------------------------------------------------------

_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError, RuntimeError, KeyError)


def verify_archive(archive: Path | str) -> dict[str, Any]:
    """The manifest of a backup archive whose every member is present and matches its checksum.

    Reads the whole archive; touches nothing else. Raises MaintenanceError (Chinese, naming the file).
    """
    archive = Path(archive)
    name = archive.name
    if not archive.is_file():
        raise MaintenanceError(f"找不到备份文件 {archive}")
    not_ours = f"{name} 不是 civeval 备份文件"
    try:
        with zipfile.ZipFile(archive) as zf:
            manifest = _read_manifest(zf, not_ours)
            names = [i.filename for i in zf.infolist()]
            if len(names) != len(set(names)):
                raise MaintenanceError(f"备份文件 {name} 已损坏：有重名的成员")
            members: dict[str, dict[str, Any]] = manifest["members"]
            extra = sorted(set(names) - set(members) - {MANIFEST})
            if extra:
                raise MaintenanceError(f"备份文件 {name} 含有清单之外的成员：{_examples(extra)}")
            for member, meta in members.items():
                _check_member_name(member, manifest, name)
                if member not in names:
                    raise MaintenanceError(f"备份文件 {name} 不完整：缺少 {member}")
                h, size = hashlib.sha256(), 0
                try:
                    with zf.open(member) as f:
                        while chunk := f.read(CHUNK):
                            h.update(chunk)
                            size += len(chunk)
                except _ZIP_ERRORS as e:
                    raise MaintenanceError(f"备份文件 {name} 已损坏：{member} 无法读取（{_short(e)}）") from e
                if h.hexdigest() != meta.get("sha256") or size != meta.get("size"):
                    raise MaintenanceError(f"备份文件 {name} 已损坏：{member} 的校验值不符")
    except zipfile.BadZipFile as e:
        raise MaintenanceError(f"{not_ours}（无法作为 zip 打开：文件可能不完整或已损坏）") from e
    except _ZIP_ERRORS as e:
        raise MaintenanceError(f"备份文件 {name} 已损坏：读取时出错（{_short(e)}）") from e
    except OSError as e:
        raise MaintenanceError(f"无法读取备份文件 {archive}（{e.strerror or e}）") from e
    return manifest


def _read_manifest(zf: zipfile.ZipFile, not_ours: str) -> dict[str, Any]:
    try:
        manifest = json.loads(zf.read(MANIFEST).decode("utf-8"))
    except KeyError:
        raise MaintenanceError(f"{not_ours}（缺少 {MANIFEST}）") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MaintenanceError(f"{not_ours}（{MANIFEST} 无法读取）") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise MaintenanceError(f"{not_ours}（{MANIFEST} 不是 civeval 的备份清单）")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise MaintenanceError(f"备份文件格式版本 {version} 比本程序支持的 {FORMAT_VERSION} 新：请先升级 civeval")
    required = {"dialect": str, "tables": dict, "members": dict, "database": dict, "created_at": str}
    for key, kind in required.items():
        if not isinstance(manifest.get(key), kind):
            raise MaintenanceError(f"{not_ours}（{MANIFEST} 缺少 {key}）")
    if manifest["dialect"] not in ("sqlite", "postgresql"):
        raise MaintenanceError(f"{not_ours}（未知的数据库类型 {manifest['dialect']}）")
    db_member = SQLITE_MEMBER if manifest["dialect"] == "sqlite" else PG_MEMBER
    if db_member not in manifest["members"]:
        raise MaintenanceError(f"{not_ours}（{MANIFEST} 中没有数据库 {db_member}）")
    for meta in manifest["members"].values():
        if not (isinstance(meta, dict) and isinstance(meta.get("sha256"), str) and isinstance(meta.get("size"), int)):
            raise MaintenanceError(f"{not_ours}（{MANIFEST} 的成员清单无法读取）")
    if not all(isinstance(n, int) for n in manifest["tables"].values()):
        raise MaintenanceError(f"{not_ours}（{MANIFEST} 的行数无法读取）")
    return manifest


def _check_member_name(member: str, manifest: dict[str, Any], name: str) -> None:
    expected_db = SQLITE_MEMBER if manifest["dialect"] == "sqlite" else PG_MEMBER
    if member == expected_db:
        return
    sha = next((s for k in KINDS if (s := k.sha_of(member))), None)
    if sha is None:
        raise MaintenanceError(f"备份文件 {name} 含有不应有的成员：{member}")
    if manifest["members"][member].get("sha256") != sha:
        raise MaintenanceError(f"备份文件 {name} 已损坏：{member} 的校验值与文件名不符")


def _extract(zf: zipfile.ZipFile, member: str, dest: Path, manifest: dict[str, Any]) -> None:
    """Unpack one member, checking its checksum once more as it is written."""
    h = hashlib.sha256()
    with zf.open(member) as src, dest.open("wb") as out:
        while chunk := src.read(CHUNK):
            h.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if h.hexdigest() != manifest["members"][member]["sha256"]:
        raise MaintenanceError(f"备份文件已损坏：{member} 的校验值不符")


@dataclass(frozen=True)
class _FilesPut:
    root: Path
    written: int  # files written
    present: int  # identical files already there


def _restore_files(zf: zipfile.ZipFile, manifest: dict[str, Any], engine: sa.Engine) -> dict[str, _FilesPut]:
    """Put the archive's photo and document files in the folders of the database ``engine`` is on (an archive
    without documents, made before they were backed up, puts none)."""
    return {kind.name: _restore_kind(zf, manifest, kind, kind.store(engine)) for kind in KINDS}


def _restore_kind(zf: zipfile.ZipFile, manifest: dict[str, Any], kind: Kind, store: photos.FileStore) -> _FilesPut:
    written = present = 0
    for member in manifest["members"]:
        sha = kind.sha_of(member)
        if sha is None:
            continue
        path = store.path_for(sha)
        try:
            if path.is_file() and _sha256_file(path) == sha:
                present += 1
                continue
            data = zf.read(member)
            if hashlib.sha256(data).hexdigest() != sha:
                raise MaintenanceError(f"备份文件已损坏：{member} 的校验值不符")
            photos._write_atomically(path, data)
        except OSError as e:
            raise MaintenanceError(f"{kind.file_noun}写入失败：{path}（{e.strerror or e}）") from e
        written += 1
    return _FilesPut(store.root, written, present)


# --- restore ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadsRestored:
    """One kind's uploads after a restore."""

    rows: int  # rows of its table, as restored
    files_written: int
    files_present: int  # identical files that were there already
    root: Path  # where its files are


@dataclass(frozen=True)
class RestoreReport:
    archive: Path
    target: str
    dialect: str
    method: str  # "backup-api" / "replace" (SQLite), "pg_restore"
    backup_created_at: dt.datetime  # naive UTC
    from_revision: str | None  # the backup's
    revision: str  # the database's now
    tables: dict[str, int]  # as restored, equal to the manifest
    uploads: dict[str, UploadsRestored]  # per kind: "photos", "documents"
    replaced_rows: int  # data rows the target held before

    @property
    def rows(self) -> int:
        return _data_rows(self.tables)

    @property
    def photo_rows(self) -> int:
        return self.uploads[PHOTOS.name].rows

    @property
    def photo_files_written(self) -> int:
        return self.uploads[PHOTOS.name].files_written

    @property
    def photo_files_present(self) -> int:
        return self.uploads[PHOTOS.name].files_present

    @property
    def photo_root(self) -> Path:
        return self.uploads[PHOTOS.name].root

    def lines(self) -> list[str]:
        out = [
            f"已从 {self.archive} 恢复到 {self.target}",
            f"数据：{_describe_rows(self.tables)}，与备份清单一致；备份时间 {_local(self.backup_created_at)}",
        ]
        for kind in KINDS:
            u = self.uploads[kind.name]
            if not u.rows:
                continue
            text = f"{kind.noun}：{u.rows} {kind.measure}"
            if files := u.files_written + u.files_present:
                text += f"；文件 {files} 个在 {u.root}"
                text += f"（新写入 {u.files_written} 个，原已存在 {u.files_present} 个）"
            out.append(text)
        if self.from_revision != self.revision:
            out.append(f"数据库版本：备份时为 {self.from_revision}，已升级到 {self.revision}")
        else:
            out.append(f"数据库版本：{self.revision}（最新）")
        if self.replaced_rows:
            out.append(f"原数据库中的 {self.replaced_rows} 行数据已被替换；本次恢复已记入操作日志")
        else:
            out.append("本次恢复已记入操作日志")
        return out


@dataclass
class _Target:
    exists: bool
    readable: bool
    tables: dict[str, int] = field(default_factory=dict)
    problem: str = ""


UNTOUCHED = "数据库未作任何改动"


@contextlib.contextmanager
def _untouched():
    """Errors raised inside happen before the target is changed: their messages say so."""
    try:
        yield
    except MaintenanceError as e:
        if UNTOUCHED in str(e):
            raise
        raise MaintenanceError(f"{str(e).rstrip('。')}。{UNTOUCHED}") from e.__cause__


def _require_empty_or_force(target: _Target, force: bool) -> None:
    if force:
        return
    if target.exists and not target.readable:
        raise MaintenanceError(f"目标数据库无法读取（{target.problem}）：恢复会用备份替换它。确需替换请加 --force")
    if _data_rows(target.tables):
        raise MaintenanceError(
            f"目标数据库已有数据，{_describe_rows(target.tables)}：恢复会替换其中全部数据，"
            "确需替换请加 --force（建议先用 backup 备份当前数据库）"
        )


def restore(
    target: str | sa.Engine | None,
    archive: Path | str,
    *,
    force: bool = False,
    actor: Actor | None = None,
) -> RestoreReport:
    """Replace the database at ``target`` (a URL or an engine; None: the default) with the backup in ``archive``.

    The archive is checked whole before anything is touched; a database holding data is replaced only with
    ``force``. Afterwards the rows equal the manifest's counts, the migrations are current and the photo and
    document files are in place; the restore is recorded in the audit log as ``actor``'s (default: the system).
    Raises MaintenanceError.
    """
    actor = actor or Actor.system("恢复备份")
    archive = Path(archive)
    engine = target if isinstance(target, sa.Engine) else None
    url = engine.url.render_as_string(hide_password=False) if engine else (target or store_db.default_url())
    parsed = _parse_url(url)
    with _untouched():
        manifest = verify_archive(archive)
        dialect = parsed.get_backend_name()
        if dialect != manifest["dialect"]:
            labels = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
            raise MaintenanceError(
                f"备份来自 {labels.get(manifest['dialect'], manifest['dialect'])} 数据库，"
                f"不能恢复到 {labels.get(dialect, dialect)} 数据库"
            )
        revision = manifest.get("revision")
        if revision and revision not in known_revisions():
            raise MaintenanceError(
                f"备份的数据库版本 {revision} 不是本程序已知的版本（备份可能来自更新的 civeval）：请先升级 civeval"
            )
    try:
        if dialect == "sqlite":
            report = _restore_sqlite(parsed, url, archive, manifest, force, actor)
        else:
            report = _restore_postgresql(url, archive, manifest, force, actor)
    finally:
        if engine is not None:
            engine.dispose()  # pooled connections may point at the replaced file
    return report


def _sqlite_target(path: Path) -> _Target:
    if not path.exists() or (path.is_file() and path.stat().st_size == 0):
        return _Target(exists=False, readable=False)
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=store_db.SQLITE_BUSY_TIMEOUT_MS / 1000)) as c:
            check = c.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                return _Target(exists=True, readable=False, problem=str(check)[:200])
            names = [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            names = [n for n in names if not n.startswith("sqlite_")]
            tables = {n: c.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    except sqlite3.Error as e:
        return _Target(exists=True, readable=False, problem=_short(e))
    return _Target(exists=True, readable=True, tables=tables)


def _single_file(path: Path) -> None:
    """Fold a SQLite file's WAL into it and leave it in rollback-journal mode: one file, nothing beside it."""
    with contextlib.closing(sqlite3.connect(path)) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        c.execute("PRAGMA journal_mode=DELETE")


def _sidecars(path: Path) -> list[Path]:
    return [Path(f"{path}{suffix}") for suffix in ("-wal", "-shm", "-journal")]


def _restore_sqlite(
    parsed: sa.URL, url: str, archive: Path, manifest: dict[str, Any], force: bool, actor: Actor
) -> RestoreReport:
    path = _sqlite_file(parsed)
    tmp = path.with_name(f".{path.name}.restore-{uuid.uuid4().hex[:12]}.tmp")
    try:
        with _untouched():  # the target changes only in _install_sqlite, all at once
            target = _sqlite_target(path)
            _require_empty_or_force(target, force)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with zipfile.ZipFile(archive) as zf:
                    _extract(zf, SQLITE_MEMBER, tmp, manifest)
                    restored = _check_restored_sqlite(tmp, manifest)
                    _migrate_file(tmp)
                    beside = sa.create_engine(f"sqlite:///{path}")  # never connected: where its folders are
                    put = _restore_files(zf, manifest, beside)  # before the rows that use them
                method = _install_sqlite(tmp, path, target)
            except (OSError, *_ZIP_ERRORS) as e:
                raise MaintenanceError(f"恢复失败：{_short(e)}") from e
    finally:
        for leftover in [tmp, *_sidecars(tmp)]:
            leftover.unlink(missing_ok=True)
    return _finish(url, archive, manifest, actor, restored, method, put, target)


def _check_restored_sqlite(tmp: Path, manifest: dict[str, Any]) -> _Contents:
    try:
        with contextlib.closing(sqlite3.connect(tmp)) as c:
            problems = [r[0] for r in c.execute("PRAGMA integrity_check")]
    except sqlite3.Error as e:
        raise MaintenanceError(f"备份中的数据库无法打开：{_short(e)}") from e
    if problems != ["ok"]:
        raise MaintenanceError(f"备份中的数据库未通过完整性检查：{_examples(problems)}")
    restored = _sqlite_contents(tmp)
    _compare_counts(manifest["tables"], restored.tables)
    return restored


def _migrate_file(path: Path) -> None:
    engine = store_db.create_engine(f"sqlite:///{path}")
    try:
        store_db.migrate(engine)
    except Exception as e:
        raise MaintenanceError(f"备份中的数据库升级到最新版本失败：{_short(e)}") from e
    finally:
        engine.dispose()
    _single_file(path)


def _install_sqlite(tmp: Path, path: Path, target: _Target) -> str:
    """Put the restored file's contents in place of the target's."""
    if target.readable:
        # Copy into the live file through SQLite: one write transaction, safe for connections that have it open.
        try:
            with (
                contextlib.closing(sqlite3.connect(tmp)) as src,
                contextlib.closing(sqlite3.connect(path, timeout=store_db.SQLITE_BUSY_TIMEOUT_MS / 1000)) as dst,
            ):
                dst.execute(f"PRAGMA busy_timeout={store_db.SQLITE_BUSY_TIMEOUT_MS}")
                page_size = dst.execute("PRAGMA page_size").fetchone()[0]
                if src.execute("PRAGMA page_size").fetchone()[0] != page_size:  # a WAL file cannot change it
                    src.execute(f"PRAGMA page_size={int(page_size)}")
                    src.execute("VACUUM")
                src.backup(dst)
        except sqlite3.Error as e:
            raise MaintenanceError(f"写入数据库 {path} 失败：{_short(e)}") from e
        return "backup-api"
    # Missing or unreadable: nothing can be copied into it. Stale sidecars would be replayed into the new file.
    for sidecar in _sidecars(path):
        sidecar.unlink(missing_ok=True)
    os.replace(tmp, path)
    photos._fsync_dir(path.parent)
    return "replace"


def _restore_postgresql(url: str, archive: Path, manifest: dict[str, Any], force: bool, actor: Actor) -> RestoreReport:
    engine = store_db.create_engine(url)
    staging = Path(tempfile.mkdtemp(prefix="civeval-restore-"))
    try:
        with _untouched():  # the target changes only inside psql's single transaction
            try:
                with engine.connect() as conn:
                    major, _ = _pg_server_version(conn)
                    target = _Target(exists=True, readable=True, tables=_contents(conn).tables)
            except sa.exc.DBAPIError as e:
                raise MaintenanceError(f"无法连接目标数据库：{_short(e)}") from e
            _require_empty_or_force(target, force)
            dump_major = int(manifest["database"].get("pg_dump_major") or major)
            pg_restore = find_pg_tool("pg_restore", max(major, dump_major))
            psql_path = Path(pg_restore.path).with_name("psql")
            psql = str(psql_path) if psql_path.is_file() else find_pg_tool("psql", major).path
            conninfo, env = _pg_connection(engine.url)
            dump = staging / PG_MEMBER
            try:
                with zipfile.ZipFile(archive) as zf:
                    _extract(zf, PG_MEMBER, dump, manifest)
                    _run([pg_restore.path, "--list", str(dump)], env, "读取备份中的 PostgreSQL 转储")
                    put = _restore_files(zf, manifest, engine)  # before the rows that use them
                prelude = staging / "prelude.sql"
                prelude.write_text(_PG_PRELUDE, encoding="utf-8")
            except (OSError, *_ZIP_ERRORS) as e:
                raise MaintenanceError(f"恢复失败：{_short(e)}") from e
            engine.dispose()
            psql_files = ["-f", str(prelude), "-f", "-"]  # the prelude, then the dump from stdin
            _pipe_restore(
                [pg_restore.path, "--clean", "--if-exists", "--no-owner", "--no-privileges", "--file=-", str(dump)],
                [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-d", conninfo, *psql_files],
                env,
                staging,
            )
        with engine.connect() as conn:
            restored = _contents(conn)
        _compare_counts(manifest["tables"], restored.tables)
    finally:
        engine.dispose()
        shutil.rmtree(staging, ignore_errors=True)
    return _finish(url, archive, manifest, actor, restored, "pg_restore", put, target)


def _pipe_restore(producer: list[str], consumer: list[str], env: dict[str, str], staging: Path) -> None:
    """``producer | consumer``; the consumer runs everything in one transaction, so a failure changes nothing."""
    with (staging / "pg_restore.err").open("w+") as err:
        try:
            p1 = subprocess.Popen(producer, stdout=subprocess.PIPE, stderr=err, env=env)
        except OSError as e:
            raise MaintenanceError(f"恢复失败：无法运行 {producer[0]}（{e.strerror or e}）") from e
        try:
            done = subprocess.run(consumer, stdin=p1.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        except OSError as e:
            p1.kill()
            raise MaintenanceError(f"恢复失败：无法运行 {consumer[0]}（{e.strerror or e}）") from e
        finally:
            if p1.stdout:
                p1.stdout.close()
            p1.wait()
        if done.returncode != 0:
            stderr = done.stderr.decode("utf-8", "replace")
            raise MaintenanceError(f"恢复失败，数据库未作任何改动：{_first_error(stderr)}")
        if p1.returncode != 0:
            err.seek(0)
            raise MaintenanceError(f"恢复失败，数据库未作任何改动：{_first_error(err.read())}")


def _finish(
    url: str,
    archive: Path,
    manifest: dict[str, Any],
    actor: Actor,
    restored: _Contents,
    method: str,
    put: dict[str, _FilesPut],
    target: _Target,
) -> RestoreReport:
    """Migrations current, and the restore recorded as the newest audit entry."""
    created = dt.datetime.fromisoformat(manifest["created_at"].removesuffix("Z"))
    engine = store_db.create_engine(url)
    try:
        store_db.migrate(engine)
        with audit.writing(
            engine, actor, context=f"从备份恢复 {archive.name}（备份时间 {_local(created)}）"[:300]
        ) as conn:
            repo.set_setting(
                conn,
                RESTORE_SETTING,
                {
                    "archive": archive.name,
                    "backup_created_at": manifest["created_at"],
                    "backup_revision": manifest.get("revision"),
                    "restored_at": audit.now().replace(microsecond=0).isoformat() + "Z",
                    "restored_by": actor.username,
                    "replaced_rows": _data_rows(target.tables),
                },
            )
        with engine.connect() as conn:
            revision = _current_revision(conn) or ""
    except sa.exc.DBAPIError as e:
        raise MaintenanceError(f"恢复后升级数据库失败：{_short(e)}") from e
    finally:
        engine.dispose()
    return RestoreReport(
        archive=archive,
        target=_url_text(_parse_url(url)),
        dialect=manifest["dialect"],
        method=method,
        backup_created_at=created,
        from_revision=restored.revision,
        revision=revision,
        tables=restored.tables,
        uploads={
            k.name: UploadsRestored(
                rows=len(restored.uploads[k.name]),
                files_written=put[k.name].written,
                files_present=put[k.name].present,
                root=put[k.name].root,
            )
            for k in KINDS
        },
        replaced_rows=_data_rows(target.tables),
    )


# --- check --------------------------------------------------------------------------------------------------

Status = Literal["ok", "warning", "failed"]
_STATUS_LABELS = {"ok": "通过", "warning": "警告", "failed": "失败"}


@dataclass(frozen=True)
class Check:
    name: str  # database / integrity / audit_triggers / revision / photos / orphans / documents / document_orphans
    title: str
    status: Status
    message: str

    @property
    def line(self) -> str:
        return f"[{_STATUS_LABELS[self.status]}] {self.title}：{self.message}"


@dataclass(frozen=True)
class CheckReport:
    target: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.status != "failed" for c in self.checks)

    def by_name(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def lines(self) -> list[str]:
        counts = {s: sum(1 for c in self.checks if c.status == s) for s in _STATUS_LABELS}
        summary = f"检查完毕：{counts['ok']} 项通过"
        if counts["warning"]:
            summary += f"，{counts['warning']} 项警告"
        if counts["failed"]:
            summary += f"，{counts['failed']} 项失败"
        return [f"检查数据库 {self.target}", *(c.line for c in self.checks), summary]


def check(engine: sa.Engine, *, verify_photos: bool = False) -> CheckReport:
    """Check the database as it is (nothing is migrated or repaired). ``verify_photos`` also hashes every photo and
    every document."""
    target = _url_text(engine.url)
    if engine.dialect.name == "sqlite":
        path = _sqlite_file(engine.url)
        if not path.is_file():
            return CheckReport(target, (Check("database", "数据库", "failed", f"数据库文件不存在：{path}"),))
    try:
        with engine.connect() as conn:
            tables = _table_names(conn)
    except sa.exc.DBAPIError as e:
        return CheckReport(target, (Check("database", "数据库", "failed", f"无法打开数据库：{_short(e)}"),))
    checks = [
        _guarded("integrity", "数据库完整性", _check_integrity, engine, tables),
        _guarded("revision", "数据库版本", _check_revision, engine, tables),
        _guarded("audit_triggers", "操作日志只可追加", _check_audit_triggers, engine, tables),
    ]
    for kind in KINDS:
        checks.append(_guarded(kind.name, kind.noun, _check_uploads, engine, tables, kind, verify_photos))
        checks.append(_guarded(kind.orphans, f"{kind.noun}目录", _check_orphans, engine, tables, kind))
    return CheckReport(target, tuple(checks))


def _guarded(name: str, title: str, fn, engine: sa.Engine, *args: Any) -> Check:
    try:
        status, message = fn(engine, *args)
    except (sa.exc.DBAPIError, sqlite3.Error, OSError) as e:
        status, message = "failed", f"检查时出错：{_short(e)}"
    return Check(name, title, status, message)


def _check_integrity(engine: sa.Engine, tables: list[str]) -> tuple[Status, str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            try:
                problems = [r[0] for r in conn.execute(sa.text("PRAGMA integrity_check"))]
            except sa.exc.DatabaseError as e:
                return "failed", f"数据库文件已损坏（{_short(e)}）：请用最近的备份恢复（python -m civeval restore）"
            if problems != ["ok"]:
                return (
                    "failed",
                    f"PRAGMA integrity_check 报告 {len(problems)} 处问题：{_examples(problems)}（可用最近的备份恢复）",
                )
            fk = conn.execute(sa.text("PRAGMA foreign_key_check")).fetchall()
            if fk:
                items = [f"{r[0]} 第 {r[1]} 行引用的 {r[2]} 不存在" for r in fk]
                return "failed", f"外键引用不一致 {len(fk)} 处：{_examples(items)}"
            return "ok", f"PRAGMA integrity_check 正常，外键引用一致（{len(tables)} 张表）"
        quote = conn.dialect.identifier_preparer.quote
        rows = 0
        for name in tables:
            rows += conn.execute(sa.text(f"SELECT count(*) FROM {quote(name)}")).scalar_one()
        return "ok", f"{len(tables)} 张表均可完整读取（共 {rows} 行）"


def _check_revision(engine: sa.Engine, tables: list[str]) -> tuple[Status, str]:
    head = head_revision()
    with engine.connect() as conn:
        current = _current_revision(conn) if "alembic_version" in tables else None
    if current is None:
        return "failed", "数据库尚未初始化（没有版本记录）：请运行 python -m civeval init"
    if current not in known_revisions():
        return "failed", f"{current} 不是本程序已知的版本（数据库可能来自更新的 civeval）"
    if current != head:
        return "failed", f"{current}，最新为 {head}：请运行 python -m civeval init 升级（应用启动时也会自动升级）"
    from civeval.store.schema import metadata

    missing = sorted(set(metadata.tables) - set(tables))
    if missing:
        return "failed", f"版本为最新（{head}），但缺少表：{'、'.join(missing)}"
    return "ok", f"{head}，已是最新"


def _check_audit_triggers(engine: sa.Engine, tables: list[str]) -> tuple[Status, str]:
    if "audit_log" not in tables:
        return "ok", "尚无操作日志表"
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            names = set(
                conn.execute(
                    sa.text("SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='audit_log'")
                ).scalars()
            )
            missing = sorted({"audit_log_no_update", "audit_log_no_delete"} - names)
        else:
            found = conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_trigger WHERE tgname = 'audit_log_append_only' AND NOT tgisinternal "
                    "AND tgrelid = to_regclass('audit_log')"
                )
            ).scalar_one()
            missing = [] if found else ["audit_log_append_only"]
    if missing:
        return "failed", f"缺少禁止修改、删除操作日志的触发器：{'、'.join(missing)}"
    return "ok", "禁止修改、删除操作日志的触发器都在"


def _check_uploads(engine: sa.Engine, tables: list[str], kind: Kind, verify: bool) -> tuple[Status, str]:
    """Every row of a kind has its bytes, in its file or in the database, of the right size (and hash)."""
    noun, measure = kind.noun, kind.measure
    if kind.name not in tables:
        return "ok", f"尚无{noun}表"
    store = kind.store(engine)
    p = kind.table
    problems: list[str] = []
    n_file = n_db = 0
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(p.c.id, p.c.sha256, p.c.storage, p.c.size_bytes, sa.func.length(p.c.data).label("n")).order_by(
                p.c.id
            )
        ).all()
        for r in rows:
            if r.storage == "file":
                n_file += 1
                problems += _file_problem(store, r, verify)
            else:
                n_db += 1
                if r.n is None:
                    problems.append(f"#{r.id} 在数据库中没有内容")
                elif r.n != r.size_bytes:
                    problems.append(f"#{r.id} 在数据库中的内容大小不符（{r.n} 字节，应为 {r.size_bytes}）")
                elif verify:
                    data = conn.execute(sa.select(p.c.data).where(p.c.id == r.id)).scalar_one()
                    if hashlib.sha256(bytes(data)).hexdigest() != r.sha256:
                        problems.append(f"#{r.id} 在数据库中的内容与校验值不符")
    if problems:
        return "failed", f"{len(problems)} {measure}{noun}有问题：{_examples(problems)}"
    if not rows:
        return "ok", f"尚无{noun}"
    parts = [f"文件 {n_file} 个在 {store.root}"] if n_file else []
    if n_db:
        parts.append(f"{n_db} {measure}存于数据库")
    how = "内容已逐一核对校验值" if verify else "大小无误"
    return "ok", f"{len(rows)} {measure}{noun}都在：{'，'.join(parts)}；{how}"


def _file_problem(store: photos.FileStore, r: Any, verify: bool) -> list[str]:
    try:
        path = store.path_for(r.sha256)
    except ValueError:
        return [f"#{r.id} 的校验值无效"]
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return [f"#{r.id} 的文件缺失（{path}）"]
    if size != r.size_bytes:
        return [f"#{r.id} 的文件大小不符（{size} 字节，应为 {r.size_bytes}）：{path}"]
    if verify and _sha256_file(path) != r.sha256:
        return [f"#{r.id} 的文件内容与校验值不符：{path}"]
    return []


def _stored_files(root: Path) -> Iterable[Path]:
    if not root.is_dir():
        return []
    return (p for p in root.glob("*/*/*") if p.is_file())


def _check_orphans(engine: sa.Engine, tables: list[str], kind: Kind) -> tuple[Status, str]:
    """Files in a kind's folder that no row uses. Kinds sharing one folder (both env variables naming the same
    one) are checked there together, once."""
    root = kind.folder(engine)
    sharing = [k for k in KINDS if k.folder(engine) == root]
    if sharing[0] is not kind:
        return "ok", f"与{sharing[0].noun}目录相同（{root}），已一并检查"
    known: set[str] = set()
    with engine.connect() as conn:
        for k in sharing:
            if k.name in tables:
                shas = conn.execute(sa.select(k.table.c.sha256).where(k.table.c.storage == "file")).scalars()
                known.update(f"{sha}{k.suffix}" for sha in shas)
    orphans = [p for p in _stored_files(root) if p.name not in known]
    if not orphans:
        return "ok", f"{root} 中没有多余的文件"
    size = sum(p.stat().st_size for p in orphans)
    names = [str(p.relative_to(root)) for p in sorted(orphans)]
    nouns = "或".join(k.noun for k in sharing)
    return (
        "warning",
        f"{root} 中有 {len(orphans)} 个文件（{_mb(size)}）不属于任何{nouns}记录（未完成的上传或恢复前的旧{nouns}，"
        f"可在备份后删除）：{_examples(names)}",
    )
