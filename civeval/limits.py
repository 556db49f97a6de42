"""How long a text (and how large a whole number) may be, checked before anything is written.

The schema's ``String(n)`` columns hold at most n characters and its ``Integer`` columns 32-bit numbers on
PostgreSQL, which raises on overflow, while SQLite would store anything. So that both refuse the same input,
with the same Chinese message and before any row is written:

* the functions that take people's text check it against the limits below (:func:`check_text`) and refuse
  with their own error class, naming the field as the form does;
* a listener installed on every engine (:func:`install`, by ``civeval.store.db.create_engine``) refuses any
  INSERT or UPDATE whose values would not fit their columns, with :class:`OutOfBounds` (a ``StoreError``), as
  a last line for whatever the first checks did not cover.

Free text has no column limit (``Text``); these are the limits chosen for it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.dml import Insert, Update
from sqlalchemy.sql.elements import BindParameter

from civeval.store.repo import StoreError

NOTE = 2000  # an inspector's note on an answer (the tablet form allows 500; paper sheets may say more)
REASON = 2000  # the reason given for a change, the measures reported, a re-inspection's opinion
DESCRIPTION = 5000  # a finding's description
NAME = 200  # names: rounds, units, points, index levels (the schema's String(200))
INT_MAX = 2**31 - 1  # PostgreSQL INTEGER


class OutOfBounds(StoreError):
    """A value that does not fit its column; the message is Chinese and names the field."""


def too_long(text: str | None, limit: int, label: str) -> str | None:
    """The Chinese message for a text longer than ``limit`` characters, or None when it fits."""
    n = len(text or "")
    if n <= limit:
        return None
    return f"「{label}」过长：最多 {limit} 个字，现有 {n} 个字"


def check_text(text: Any, limit: int, label: str, error: type[Exception] = StoreError) -> str:
    """``text`` (None as ""); ``error`` with a Chinese message when it is not text or longer than ``limit``."""
    if text is None:
        return ""
    if not isinstance(text, str):
        raise error(f"「{label}」应为文字")
    if message := too_long(text, limit, label):
        raise error(message)
    return text


def column_limit(column: sa.Column) -> int | None:
    """The character limit of a ``String(n)`` column (None for Text and other types)."""
    kind = column.type
    return kind.length if isinstance(kind, sa.String) and not isinstance(kind, sa.Text) and kind.length else None


# --- the listener ------------------------------------------------------------------------------------------

_TABLES = {
    "units": "单位",
    "point_types": "点位类型",
    "points": "点位",
    "indexes": "测评体系",
    "categories": "测评项目",
    "indicators": "测评指标",
    "items": "测评内容",
    "standards": "测评标准",
    "users": "用户",
    "rounds": "测评轮次",
    "observations": "测评记录",
    "findings": "问题",
    "finding_events": "问题处理记录",
}
_COLUMNS = {
    "code": "编码",
    "name": "名称",
    "kind": "类型",
    "contact": "联系人",
    "phone": "电话",
    "address": "地址",
    "owner_leader": "责任领导",
    "version": "版本",
    "edition": "类型",
    "year": "年份",
    "deadline_days": "整改天数",
    "username": "用户名",
    "display_name": "姓名",
    "email": "邮箱",
    "instances": "问题处数",
    "position": "序号",
}
_BOUNDS: dict[sa.Table, dict[str, tuple[bool, int, str]]] = {}


def _bounds(table: sa.Table) -> dict[str, tuple[bool, int, str]]:
    """Column key -> (is text, limit, label): String(n) columns (limit n) and Integer ones (not BigInteger, limit
    INT_MAX). Worked out once per table: the listener runs on every write."""
    found = _BOUNDS.get(table)
    if found is None:
        found = {}
        for column in table.columns:
            if (n := column_limit(column)) is not None:
                found[column.key] = (True, n, _label(table, column.key))
            elif isinstance(column.type, sa.Integer) and not isinstance(column.type, sa.BigInteger):
                found[column.key] = (False, INT_MAX, _label(table, column.key))
        _BOUNDS[table] = found
    return found


def _label(table: sa.Table, key: str) -> str:
    return _TABLES.get(table.name, "") + _COLUMNS.get(key, key)


def _check_value(bound: tuple[bool, int, str], value: Any) -> None:
    text, limit, label = bound
    if text:
        if isinstance(value, str) and len(value) > limit:
            raise OutOfBounds(too_long(value, limit, label))
    elif isinstance(value, int) and not isinstance(value, bool) and not -limit - 1 <= value <= limit:
        raise OutOfBounds(f"「{label}」数值过大：{value}")


def _check_row(bounds: dict[str, tuple[bool, int, str]], row: Any) -> None:
    """A row of values keyed by column key (or Column), as given to execute() or to ``.values()``."""
    for key, value in row.items():
        if value is None:
            continue
        bound = bounds.get(key if isinstance(key, str) else getattr(key, "key", None))
        if bound is not None:
            _check_value(bound, value)


def _check_inline(bounds: dict[str, tuple[bool, int, str]], values: Any, params: dict[str, Any]) -> None:
    """The values written into the statement itself (``.values(...)``): literal values as bound parameters,
    named parameters given at execution (``.values(name=bindparam("n"))``), SQL expressions (not checked)."""
    for key, value in values.items():
        bound = bounds.get(key if isinstance(key, str) else getattr(key, "key", None))
        if bound is None or not isinstance(value, BindParameter):
            continue
        if value.value is not None or value.callable is not None:
            value = value.effective_value
        elif value.key in params:
            value = params[value.key]
        else:
            continue
        if value is not None:
            _check_value(bound, value)


def _before_execute(conn, clause, multiparams, params, execution_options):
    """Refuse an INSERT or UPDATE whose values do not fit their columns. Reads the values where they are (the
    parameters passed, the statement's ``.values()``) without compiling the statement: this runs on every write,
    and compiling costs more than the write itself (issue 7)."""
    if not isinstance(clause, Insert | Update) or execution_options.get("audit_exempt"):
        return
    table = clause.table
    if not isinstance(table, sa.Table):
        return
    bounds = _BOUNDS.get(table)
    if bounds is None:
        bounds = _bounds(table)
    if not bounds:
        return
    if conn.get_execution_options().get("audit_exempt"):
        return  # migrations and restores write what they were given
    for row in multiparams or ():
        if isinstance(row, dict):
            _check_row(bounds, row)
    if params:
        _check_row(bounds, params)
    if clause._values:
        _check_inline(bounds, clause._values, params or {})
    for rows in getattr(clause, "_multi_values", None) or ():  # insert().values([{...}, {...}])
        for row in rows:
            if isinstance(row, dict):
                _check_row(bounds, row)
            else:  # positional: in the table's column order
                _check_row(bounds, dict(zip(table.columns.keys(), row, strict=False)))


def install(engine: sa.Engine) -> None:
    """Refuse, on this engine, writes whose values do not fit their columns (see the module's text)."""
    sa.event.listen(engine, "before_execute", _before_execute)
