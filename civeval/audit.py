"""The audit trail: every write to the store appends who, when, what, and before/after values to ``audit_log``.

One mechanism, installed on every engine by ``civeval.store.db.create_engine``: a listener on the engine sees
each INSERT, UPDATE and DELETE before it runs. A write on a connection that does not say who is acting is
refused, so code cannot skip the log by accident. Open such a connection with :func:`writing`::

    with audit.writing(engine, actor, context="导入测评体系 x.xlsx") as conn:
        repo.save_index(conn, index)

UPDATE and DELETE on ``audit_log`` itself are refused here and by database triggers (migration 0002).
Raw SQL text that writes is refused unless the connection is opened with ``audit_exempt=True`` (migrations
and the backup tool only). Password hashes are never copied into the log.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.sql import operators
from sqlalchemy.sql.dml import Delete, Insert, Update
from sqlalchemy.sql.elements import BinaryExpression, BindParameter

from civeval.models import Actor
from civeval.store import schema as t

REDACTED = "***"
SECRET_COLUMNS = {"password_hash"}
# Bookkeeping, not records: schema version, and browser-session activity (written every minute a user is
# active; the log-ins themselves are recorded through users.last_login_at).
UNAUDITED_TABLES = {"alembic_version", "login_sessions"}
_PENDING_KEY = "civeval_audit_pending"  # statement id -> rows before it ran (on the DBAPI connection)


class AuditError(Exception):
    """A write that would escape the audit trail."""


_CLOCK: ContextVar[dt.datetime | None] = ContextVar("civeval_clock", default=None)


def now() -> dt.datetime:
    """The store's clock: naive UTC (or the moment set by ``clock_at``)."""
    return _CLOCK.get() or dt.datetime.now(dt.UTC).replace(tzinfo=None)


def local_zone() -> ZoneInfo:
    """The office's time zone for dates (deadlines, "today", days in reports): CIVEVAL_TIMEZONE, default Beijing."""
    return ZoneInfo(os.environ.get("CIVEVAL_TIMEZONE", "Asia/Shanghai"))


def local_date(moment: dt.datetime | None = None) -> dt.date:
    """The office's calendar date of a store timestamp (naive UTC); of now without one."""
    return (moment or now()).replace(tzinfo=dt.UTC).astimezone(local_zone()).date()


def today() -> dt.date:
    return local_date()


def local_day_start(day: dt.date) -> dt.datetime:
    """The store timestamp (naive UTC) at which the office's ``day`` begins."""
    return dt.datetime.combine(day, dt.time(), tzinfo=local_zone()).astimezone(dt.UTC).replace(tzinfo=None)


@contextmanager
def clock_at(moment: dt.datetime) -> Iterator[None]:
    """Record what happens inside as happening at ``moment``: for loading history (the demo's past months)."""
    token = _CLOCK.set(moment)
    try:
        yield
    finally:
        _CLOCK.reset(token)


def write_lock(engine: sa.Engine) -> AbstractContextManager:
    """What a write transaction on ``engine`` holds while it runs: on SQLite, the engine's in-process lock
    (``civeval.store.db`` gives each SQLite engine one); elsewhere nothing.

    SQLite lets one transaction write at a time. Threads of one process (the app serving many inspectors at once)
    queue on this lock and are woken the moment it is free, rather than in SQLite's busy handler, which sleeps
    between retries for up to 100 ms at a time: measured with 50 threads saving answers, the difference between
    ~140 and several hundred answers a second (benchmarks/, issue 7). Other processes (the CLI) still meet SQLite's
    busy timeout. Re-entrant, so a write nested in another on the same thread works as before."""
    lock = getattr(engine, "civeval_write_lock", None)
    return lock if lock is not None else nullcontext()


@contextmanager
def writing(engine: sa.Engine, actor: Actor, *, context: str = "", reason: str = "") -> Iterator[sa.Connection]:
    """A transaction whose writes are recorded as ``actor``'s. Commits on success, rolls back on error."""
    with write_lock(engine), engine.begin() as conn:
        conn.info.pop(_PENDING_KEY, None)  # left over from a statement that failed on this pooled connection
        conn.execution_options(civeval_actor=actor, civeval_context=context[:300], civeval_reason=reason)
        yield conn


def install(engine: sa.Engine) -> None:
    sa.event.listen(engine, "before_execute", _before_execute)
    sa.event.listen(engine, "after_execute", _after_execute)


_PLAIN = (str, int, float, type(None))  # kept as they are (bool is an int)


def _jsonable(value: Any) -> Any:
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _row_dict(row: Any) -> dict[str, Any]:
    d = dict(row._mapping) if hasattr(row, "_mapping") else dict(row)
    return {k: (REDACTED if k in SECRET_COLUMNS else _jsonable(v)) for k, v in d.items()}


def _is_text_write(clause: Any) -> bool:
    if not isinstance(clause, sa.TextClause):
        return False
    head = clause.text.lstrip().split(None, 1)[:1]
    return bool(head) and head[0].upper() in {"INSERT", "UPDATE", "DELETE", "REPLACE", "TRUNCATE", "DROP", "ALTER"}


def _before_execute(conn, clause, multiparams, params, execution_options):
    options = {**conn.get_execution_options(), **execution_options}
    if _is_text_write(clause) and not options.get("audit_exempt"):
        raise AuditError("不允许绕过审计日志用原始 SQL 写入")
    if not isinstance(clause, Insert | Update | Delete):
        return
    table = clause.table
    if table.name in UNAUDITED_TABLES or options.get("audit_exempt"):
        return
    if table.name == t.audit_log.name:
        if not isinstance(clause, Insert):
            raise AuditError("操作日志只能追加，不能修改或删除")
        return
    if not isinstance(options.get("civeval_actor"), Actor):
        raise AuditError(f"写入“{table.name}”未指明操作人：请用 civeval.audit.writing(engine, actor)")
    before: list[dict[str, Any]] = []
    if isinstance(clause, Update | Delete):
        query = sa.select(table)
        if clause.whereclause is not None:
            query = query.where(clause.whereclause)
        if multiparams:  # executemany: the rows of every parameter set, before any of them is changed
            before = _rows_before_many(conn, table, clause.whereclause, query, multiparams)
        else:  # (the parameters too: a statement may name its row by one, ``where(t.c.id == bindparam("_id"))``)
            before = [_row_dict(r) for r in conn.execute(query, params or None)]
    conn.info.setdefault(_PENDING_KEY, {})[id(clause)] = before


_CHUNK = 500  # keys in one "IN (…)" look-up


def _single_pk(table: sa.Table) -> sa.Column | None:
    """The table's primary key column when it is a single whole number (looked up by "IN"), else None."""
    pk = list(table.primary_key.columns)
    return pk[0] if len(pk) == 1 and isinstance(pk[0].type, sa.Integer) else None


def _rows_before_many(conn, table: sa.Table, where: Any, query: sa.Select, multiparams) -> list[dict[str, Any]]:
    """The rows an UPDATE or DELETE run with many parameter sets will change, in the order of the sets. A statement
    that names its row by primary key (``where(t.c.id == bindparam("_id"))``, how a batch of updates is written)
    is looked up in a few queries rather than one a row."""
    pk = _single_pk(table)
    if (
        pk is not None
        and isinstance(where, BinaryExpression)
        and where.operator is operators.eq
        and where.left is pk
        and isinstance(where.right, BindParameter)
        and where.right.value is None
        and where.right.callable is None
        and all(where.right.key in p for p in multiparams)
    ):
        keys = [p[where.right.key] for p in multiparams]
        found = _rows_by_pk(conn, table, pk, keys)
        return [found[k] for k in keys if k in found]
    return [_row_dict(r) for p in multiparams for r in conn.execute(query, p)]


def _rows_by_pk(conn, table: sa.Table, pk: sa.Column, keys: list[Any]) -> dict[Any, dict[str, Any]]:
    """Primary key -> the row (as logged), of those of ``keys`` that exist."""
    found: dict[Any, dict[str, Any]] = {}
    unique = list(dict.fromkeys(keys))
    for i in range(0, len(unique), _CHUNK):
        for r in conn.execute(sa.select(table).where(pk.in_(unique[i : i + _CHUNK]))).all():
            values = _row_dict(r)
            found[values[pk.name]] = values
    return found


def _pk_key(table: sa.Table, values: dict[str, Any]) -> str:
    pk = [c.name for c in table.primary_key.columns]
    if pk and all(values.get(c) is not None for c in pk):
        return json.dumps([values[c] for c in pk], ensure_ascii=False, default=str)
    for natural in ("code", "username", "key"):
        if values.get(natural) is not None:
            return f"{natural}={values[natural]}"
    return ""


def inserted_nothing(result: sa.CursorResult) -> bool:
    """Whether a one-row INSERT inserted nothing (``… ON CONFLICT DO NOTHING`` that met an existing row): SQLite
    says so by its row count, PostgreSQL (whose count is unknown, -1) by returning no primary key."""
    if result.rowcount == 0:
        return True
    try:
        return result.inserted_primary_key is None
    except sa.exc.InvalidRequestError:
        return False


def _after_execute(conn, clause, multiparams, params, execution_options, result):
    if not isinstance(clause, Insert | Update | Delete):
        return
    table = clause.table
    options = {**conn.get_execution_options(), **execution_options}
    if table.name in UNAUDITED_TABLES or table.name == t.audit_log.name or options.get("audit_exempt"):
        return
    before = conn.info.get(_PENDING_KEY, {}).pop(id(clause), [])
    actor: Actor = options["civeval_actor"]
    entries: list[dict[str, Any]] = []

    def entry(operation: str, key: str, old: dict | None, new: dict | None) -> None:
        entries.append(
            dict(
                at=now(),
                actor_id=actor.user_id,
                actor=actor.username,
                operation=operation,
                table_name=table.name,
                row_key=key[:200],
                before=old,
                after=new,
                context=options.get("civeval_context", ""),
                reason=options.get("civeval_reason", ""),
            )
        )

    if isinstance(clause, Insert):
        if not multiparams and inserted_nothing(result):
            return  # nothing to record
        if multiparams and result.returned_defaults_rows is not None:
            # A batch inserted with return_defaults(): each row logged as one inserted alone is (its id included).
            bound = result.context.compiled_parameters
            pk = list(table.primary_key.columns)
            rows = []
            for values, p, pk_values in zip(bound, multiparams, result.inserted_primary_key_rows, strict=True):
                row = {**values, **p}
                row.update({c.name: v for c, v in zip(pk, pk_values, strict=False)})
                rows.append(row)
        elif multiparams:
            rows = [dict(p) for p in multiparams]
        else:
            # The values as bound for this execution (compiling the statement again to read them costs more than
            # the insert itself); the compiled statement's own parameters when the context does not hold them.
            bound = getattr(result.context, "compiled_parameters", None)
            values = bound[0] if bound and len(bound) == 1 else clause.compile(dialect=conn.dialect).params
            rows = [{**values, **(params or {})}]
            try:
                pk_values = result.inserted_primary_key
                rows[0].update({c.name: v for c, v in zip(table.primary_key.columns, pk_values, strict=False)})
            except sa.exc.InvalidRequestError:
                pass
        for r in rows:
            values = _row_dict(r)
            entry("insert", _pk_key(table, values), None, values)
    elif isinstance(clause, Update):
        pk = list(table.primary_key.columns)
        single = _single_pk(table)
        after = _rows_by_pk(conn, table, single, [old[single.name] for old in before]) if single is not None else {}
        for old in before:
            if single is not None:
                new = after.get(old[single.name])
            else:
                new_row = conn.execute(sa.select(table).where(*[c == old[c.name] for c in pk])).first()
                new = _row_dict(new_row) if new_row is not None else None
            if new == old:
                continue  # nothing changed: nothing to record
            entry("update", _pk_key(table, old), old, new)
    else:
        for old in before:
            entry("delete", _pk_key(table, old), old, None)
    if entries:
        conn.execute(_INSERT_ENTRY, entries)


_INSERT_ENTRY = sa.insert(t.audit_log)


def data_version(conn: sa.Connection, *, excluding: Sequence[str] = ()) -> int:
    """A number that grows with every audited write (the last audit entry's id): a cache of figures keyed by it is
    stale as soon as anything it was computed from changes. ``excluding``: tables whose writes the figures do not
    depend on (a sign-in updates ``users``), so that they leave the number as it was."""
    a = t.audit_log.c
    if not excluding:
        return conn.execute(sa.select(sa.func.coalesce(sa.func.max(a.id), 0))).scalar_one()
    # the newest entry of another table: walked back from the newest id, so it stops at the first one
    q = sa.select(a.id).where(a.table_name.not_in(list(excluding))).order_by(a.id.desc()).limit(1)
    return conn.execute(q).scalar_one_or_none() or 0


def read_log(
    conn: sa.Connection,
    actor: Actor,
    *,
    author: str | None = None,
    table: str | None = None,
    operation: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    search: str = "",
    limit: int | None = 1000,
) -> list[dict[str, Any]]:
    """Entries of the log, newest first, filtered. Only those allowed to view the log may read it."""
    from civeval.permissions import Action, require

    require(actor, Action.view_audit)
    q = sa.select(t.audit_log).order_by(t.audit_log.c.id.desc())
    if author:
        q = q.where(t.audit_log.c.actor == author)
    if table:
        q = q.where(t.audit_log.c.table_name == table)
    if operation:
        q = q.where(t.audit_log.c.operation == operation)
    if since:
        q = q.where(t.audit_log.c.at >= since)
    if until:
        q = q.where(t.audit_log.c.at < until)
    if search:
        like = f"%{search}%"
        q = q.where(
            sa.or_(t.audit_log.c.row_key.like(like), t.audit_log.c.context.like(like), t.audit_log.c.reason.like(like))
        )
    if limit:
        q = q.limit(limit)
    return [dict(r._mapping) for r in conn.execute(q)]


_OPERATION_LABELS = {"insert": "新增", "update": "修改", "delete": "删除"}
TABLE_LABELS = {
    "units": "单位",
    "points": "点位",
    "point_types": "点位类型",
    "indexes": "测评体系",
    "categories": "测评项目",
    "indicators": "测评指标",
    "items": "测评内容",
    "standards": "测评标准",
    "standard_point_types": "标准适用点位类型",
    "standard_units": "标准责任单位",
    "index_point_types": "体系点位类型",
    "users": "用户",
    "role_grants": "用户角色",
    "settings": "设置",
    "rounds": "测评轮次",
    "round_points": "轮次点位",
    "observations": "测评记录",
    "photos": "照片",
    "observation_photos": "测评记录照片",
    "findings": "问题",
    "finding_events": "问题处理记录",
    "finding_photos": "问题照片",
    "questionnaires": "问卷",
    "survey_questions": "问卷题目",
    "survey_responses": "问卷答卷",
    "survey_answers": "问卷答案",
    "survey_populations": "问卷人口基数",
    "material_requirements": "材料任务",
    "documents": "材料文件",
    "material_submissions": "材料申报",
    "suggestions": "意见建议",
    "composite_settings": "综合得分设置",
    "round_results": "测评结果归档",
}


def _changes(entry: dict[str, Any]) -> str:
    """What changed, in words: the fields whose values differ (an update), or the values written (an insert)."""
    old, new = entry.get("before") or {}, entry.get("after") or {}
    if entry["operation"] == "update":
        keys = [k for k in new if old.get(k) != new.get(k)]
        return "；".join(f"{k}：{old.get(k)!s} → {new.get(k)!s}" for k in keys)
    values = new if entry["operation"] == "insert" else old
    return "；".join(f"{k}={v}" for k, v in values.items() if v not in (None, "") and k != "id")


def write_log_workbook(entries: list[dict[str, Any]], out: Any) -> None:
    """The log entries as an Excel sheet (a path or a binary file object), newest first, with filters."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(out, {"in_memory": True})
    ws = wb.add_worksheet("操作日志")
    bold = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    headers = [
        ("时间（UTC）", 20),
        ("操作人", 16),
        ("操作", 8),
        ("对象", 14),
        ("记录", 22),
        ("变更内容", 70),
        ("事由", 24),
        ("来源", 28),
    ]
    for c, (h, w) in enumerate(headers):
        ws.write_string(0, c, h, bold)
        ws.set_column(c, c, w, wrap if c == 5 else None)
    for r, e in enumerate(entries, start=1):
        row = [
            e["at"].strftime("%Y-%m-%d %H:%M:%S"),
            e["actor"],
            _OPERATION_LABELS.get(e["operation"], e["operation"]),
            TABLE_LABELS.get(e["table_name"], e["table_name"]),
            e["row_key"],
            _changes(e)[:32000],
            e.get("reason") or "",
            e.get("context") or "",
        ]
        for c, v in enumerate(row):
            ws.write_string(r, c, str(v), wrap if c == 5 else None)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(1, len(entries)), len(headers) - 1)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    wb.close()
