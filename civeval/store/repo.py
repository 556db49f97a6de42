"""Repositories: the only code that reads and writes the tables. Each function takes an engine or connection."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from civeval.models import (
    Category,
    EvaluationIndex,
    Indicator,
    Item,
    Method,
    Point,
    PointType,
    Responsibility,
    ScoringMode,
    Severity,
    Standard,
    Unit,
    UnitKind,
    Veto,
)
from civeval.store import schema as t


class StoreError(Exception):
    """A write the store refuses; the message is Chinese and says why."""


@dataclass(frozen=True)
class IndexInfo:
    id: int
    name: str
    version: str
    year: int
    edition: str
    description: str
    n_categories: int
    n_items: int
    n_standards: int

    @property
    def title(self) -> str:
        return f"{self.name}（{self.version}）"


# --- batches ---------------------------------------------------------------------------------
# Rows are written a statement per batch (executemany), not a statement per row: on PostgreSQL each statement is a
# round trip, and each audited one two or three (issue 7). Inserts whose ids are wanted, or that the audit log records
# with their ids as it does a row inserted alone, return them (return_defaults: RETURNING, in the rows' order).

_INSERT_RETURNING = {
    table: sa.insert(table).return_defaults(sort_by_parameter_order=True)
    for table in (t.units, t.point_types, t.categories, t.indicators, t.items, t.standards)
}
# An update of one row named by its id, the values to set given with each row (``_id`` and the columns).
_UPDATE_BY_ID = {
    table: sa.update(table).where(table.c.id == sa.bindparam("_id")) for table in (t.units, t.point_types, t.points)
}


IN_CHUNK = 5000  # values in one "IN (…)": PostgreSQL takes at most 65,535 parameters a statement, SQLite 32,766


def chunked(values: Sequence, size: int | None = None) -> Iterator[Sequence]:
    """``values`` a slice at a time (``IN_CHUNK`` by default), for "IN (…)" look-ups of any number of keys."""
    size = size or IN_CHUNK
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _insert_many(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` into ``table`` in one statement; their ids, in the same order."""
    if not rows:
        return []
    stmt = _INSERT_RETURNING[table]
    if len(rows) == 1 or not conn.dialect.insert_executemany_returning:  # (SQLite before 3.35: a row at a time)
        return [conn.execute(stmt, row).inserted_primary_key[0] for row in rows]
    return [pk[0] for pk in conn.execute(stmt, rows).inserted_primary_key_rows]


class _Writes:
    """Writes run in the order asked, gathered into one executemany per run of the same statement. A row that would
    change a row already waiting in the batch (the same ``key``) first sends the batch, so that each change sees
    (and the audit log records) the one before it, as when each row was written alone."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.stmt: Any = None
        self.rows: list[dict[str, Any]] = []
        self.keys: set[Any] = set()

    def add(self, stmt: Any, row: dict[str, Any], key: Any = None) -> None:
        if stmt is not self.stmt or (key is not None and key in self.keys):
            self.flush()
        self.stmt = stmt
        self.rows.append(row)
        if key is not None:
            self.keys.add(key)

    def flush(self) -> None:
        if self.rows:
            self.conn.execute(self.stmt, self.rows)
        self.stmt, self.rows, self.keys = None, [], set()


# --- units -------------------------------------------------------------------------------------


def _unit_ids(conn: sa.Connection) -> dict[str, int]:
    return {name: uid for uid, name in conn.execute(sa.select(t.units.c.id, t.units.c.name)).all()}


_UNIT_VALUES = ("name", "kind", "contact", "phone", "active")


def save_units(conn: sa.Connection, units: Iterable[Unit]) -> tuple[int, int]:
    """Insert new units and update existing ones (matched by code). Returns (added, updated).

    Parents may be given in any order: they are linked once every unit of the batch exists. A unit whose values
    (or parent) do not change is not written again.
    """
    units = list(units)
    cols = [t.units.c[k] for k in ("code", "id", "parent_id", *_UNIT_VALUES)]
    stored: dict[str, tuple] = {r[0]: tuple(r[1:]) for r in conn.execute(sa.select(*cols)).all()}
    current = {code: row[2:] for code, row in stored.items()}  # code -> the values it has now
    parents = {code: row[1] for code, row in stored.items()}  # code -> its parent's id now
    ids = {code: row[0] for code, row in stored.items()}
    writes = _Writes(conn)
    added = updated = 0
    for u in units:
        values = (u.name, u.kind.value, u.contact, u.phone, u.active)
        if u.code in current:
            if current[u.code] != values:
                uid = ids.get(u.code)
                if uid is None:  # added earlier in this batch (a repeated code): its id once it is written
                    writes.flush()
                    uid = ids[u.code] = conn.execute(sa.select(t.units.c.id).where(t.units.c.code == u.code)).scalar()
                writes.add(_UPDATE_BY_ID[t.units], {"_id": uid, **dict(zip(_UNIT_VALUES, values, strict=True))}, uid)
                current[u.code] = values
            updated += 1
        else:
            writes.add(_INSERT_RETURNING[t.units], dict(code=u.code, **dict(zip(_UNIT_VALUES, values, strict=True))))
            current[u.code], parents[u.code] = values, None
            added += 1
    writes.flush()
    by_name = _unit_ids(conn)
    by_code = {code: uid for code, uid in conn.execute(sa.select(t.units.c.code, t.units.c.id)).all()}
    for u in units:
        parent_id = by_name.get(u.parent) if u.parent else None
        if u.parent and parent_id is None:
            raise StoreError(f"单位“{u.name}”的上级单位“{u.parent}”不存在")
        if parents[u.code] != parent_id:
            uid = by_code[u.code]
            writes.add(_UPDATE_BY_ID[t.units], {"_id": uid, "parent_id": parent_id}, uid)
            parents[u.code] = parent_id
    writes.flush()
    return added, updated


def list_units(conn: sa.Connection) -> list[Unit]:
    parent = t.units.alias("parent")
    rows = conn.execute(
        sa.select(t.units, parent.c.name.label("parent_name"))
        .select_from(t.units.outerjoin(parent, t.units.c.parent_id == parent.c.id))
        .order_by(t.units.c.code)
    ).mappings()
    return [
        Unit(
            code=r["code"],
            name=r["name"],
            kind=UnitKind(r["kind"]),
            parent=r["parent_name"],
            contact=r["contact"],
            phone=r["phone"],
            active=r["active"],
        )
        for r in rows
    ]


def unit_names(conn: sa.Connection) -> set[str]:
    return set(conn.execute(sa.select(t.units.c.name)).scalars())


def unit_codes_to_names(conn: sa.Connection) -> dict[str, str]:
    return dict(conn.execute(sa.select(t.units.c.code, t.units.c.name)).all())


# --- point types -------------------------------------------------------------------------------


def save_point_types(conn: sa.Connection, types: Iterable[PointType]) -> dict[str, int]:
    """Insert point types not yet known (by name); update the description of known ones. Returns name -> id."""
    rows = conn.execute(
        sa.select(t.point_types.c.id, t.point_types.c.code, t.point_types.c.name, t.point_types.c.description)
    ).all()
    ids = {name: pid for pid, _, name, _ in rows}
    codes = {code for _, code, _, _ in rows}
    stored = {name: description for _, _, name, description in rows}  # name -> its description now
    writes = _Writes(conn)
    for pt in types:
        if pt.name in stored:
            if pt.description and pt.description != stored[pt.name]:
                if pt.name not in ids:  # added earlier in this batch (a repeated name)
                    writes.flush()
                    ids = point_type_ids(conn)
                pid = ids[pt.name]
                writes.add(_UPDATE_BY_ID[t.point_types], {"_id": pid, "description": pt.description}, pid)
                stored[pt.name] = pt.description
            continue
        code = pt.code
        n = 2
        while code in codes:  # the same code under another name in another index: keep both
            code, n = f"{pt.code}-{n}", n + 1
        codes.add(code)
        writes.add(_INSERT_RETURNING[t.point_types], dict(code=code, name=pt.name, description=pt.description))
        stored[pt.name] = pt.description
    writes.flush()
    return point_type_ids(conn) if len(stored) > len(ids) else ids


def point_type_ids(conn: sa.Connection) -> dict[str, int]:
    return {name: pid for pid, name in conn.execute(sa.select(t.point_types.c.id, t.point_types.c.name)).all()}


def list_point_types(conn: sa.Connection) -> list[PointType]:
    rows = conn.execute(sa.select(t.point_types).order_by(t.point_types.c.code)).mappings()
    return [PointType(code=r["code"], name=r["name"], description=r["description"]) for r in rows]


# --- points ------------------------------------------------------------------------------------


_POINT_VALUES = (
    "name",
    "point_type_id",
    "street_id",
    "address",
    "lat",
    "lon",
    "custodian_unit_id",
    "road_chief_unit_id",
    "owner_leader",
    "active",
)


def save_points(conn: sa.Connection, points: Iterable[Point]) -> tuple[int, int]:
    """Insert new points and update existing ones (matched by code). Returns (added, updated)."""
    units = _unit_ids(conn)
    types = point_type_ids(conn)
    # The stored values too: a point whose values did not change is counted as updated but not written again, so
    # importing the register the office exported (and edited here and there) rewrites only what changed.
    cols = [t.points.c[k] for k in ("code", "id", *_POINT_VALUES)]
    existing: dict[str, tuple | None] = {r[0]: tuple(r[1:]) for r in conn.execute(sa.select(*cols)).all()}
    added = updated = 0
    inserts = []
    updates = _Writes(conn)
    for p in points:
        if p.point_type not in types:
            raise StoreError(f"点位“{p.code}”的点位类型“{p.point_type}”不存在")
        for field in ("street", "custodian_unit", "road_chief_unit"):
            name = getattr(p, field)
            if name and name not in units:
                raise StoreError(f"点位“{p.code}”的单位“{name}”不存在")
        values = (
            p.name,
            types[p.point_type],
            units.get(p.street) if p.street else None,
            p.address,
            p.lat,
            p.lon,
            units.get(p.custodian_unit) if p.custodian_unit else None,
            units.get(p.road_chief_unit) if p.road_chief_unit else None,
            p.owner_leader,
            p.active,
        )
        if p.code in existing:
            row = existing[p.code]  # None: added earlier in this batch (a repeated code), as before a no-op
            if row is not None and row[1:] != values:
                updates.add(
                    _UPDATE_BY_ID[t.points], {"_id": row[0], **dict(zip(_POINT_VALUES, values, strict=True))}, row[0]
                )
            updated += 1
        else:
            inserts.append(dict(code=p.code, **dict(zip(_POINT_VALUES, values, strict=True))))
            existing[p.code] = None
            added += 1
    updates.flush()
    if inserts:
        conn.execute(sa.insert(t.points), inserts)
    return added, updated


def _points_query() -> sa.Select:
    street = t.units.alias("street")
    custodian = t.units.alias("custodian")
    road = t.units.alias("road_chief")
    return sa.select(
        t.points.c.id,
        t.points.c.code,
        t.points.c.name,
        t.point_types.c.name.label("point_type"),
        street.c.name.label("street"),
        t.points.c.address,
        t.points.c.lat,
        t.points.c.lon,
        custodian.c.name.label("custodian_unit"),
        road.c.name.label("road_chief_unit"),
        t.points.c.owner_leader,
        t.points.c.active,
    ).select_from(
        t.points.join(t.point_types, t.points.c.point_type_id == t.point_types.c.id)
        .outerjoin(street, t.points.c.street_id == street.c.id)
        .outerjoin(custodian, t.points.c.custodian_unit_id == custodian.c.id)
        .outerjoin(road, t.points.c.road_chief_unit_id == road.c.id)
    )


def list_points(
    conn: sa.Connection,
    *,
    point_types: Iterable[str] = (),
    streets: Iterable[str] = (),
    custodian_units: Iterable[str] = (),
    search: str = "",
    active_only: bool = False,
) -> list[Point]:
    q = _points_query()
    cols = q.selected_columns
    if point_types := list(point_types):
        q = q.where(cols.point_type.in_(point_types))
    if streets := list(streets):
        q = q.where(cols.street.in_(streets))
    if custodian_units := list(custodian_units):
        q = q.where(cols.custodian_unit.in_(custodian_units))
    if search := search.strip():
        like = f"%{search}%"
        q = q.where(sa.or_(t.points.c.code.like(like), t.points.c.name.like(like), t.points.c.address.like(like)))
    if active_only:
        q = q.where(t.points.c.active)
    rows = conn.execute(q.order_by(t.points.c.code)).mappings()
    return [Point(**{k: v for k, v in r.items() if k != "id"}) for r in rows]


def get_point(conn: sa.Connection, code: str) -> Point | None:
    r = conn.execute(_points_query().where(t.points.c.code == code)).mappings().first()
    return Point(**{k: v for k, v in r.items() if k != "id"}) if r else None


def count_rows(conn: sa.Connection) -> dict[str, int]:
    """How many of each thing the database holds (for the home page and `civeval init`)."""
    tables = {
        "indexes": t.indexes,
        "standards": t.standards,
        "units": t.units,
        "points": t.points,
        "point_types": t.point_types,
    }
    return {k: conn.execute(sa.select(sa.func.count()).select_from(v)).scalar_one() for k, v in tables.items()}


# --- evaluation indexes ------------------------------------------------------------------------


def find_index(conn: sa.Connection, name: str, version: str) -> int | None:
    return conn.execute(
        sa.select(t.indexes.c.id).where(t.indexes.c.name == name, t.indexes.c.version == version)
    ).scalar_one_or_none()


def save_index(conn: sa.Connection, index: EvaluationIndex, *, replace: bool = False) -> int:
    """Store a whole, already validated index. Point types it names are added to the register.

    Refuses an index whose name and version are already stored, unless ``replace``.
    """
    old = find_index(conn, index.name, index.version)
    if old is not None:
        if not replace:
            raise StoreError(f"测评体系“{index.name}”版本“{index.version}”已存在")
        delete_index(conn, old)
    types = save_point_types(conn, index.point_types)
    units = _unit_ids(conn)
    referenced = {n for _, _, s in index.standards() for n in [s.lead_unit, *s.supporting_units] if n}
    if missing := sorted(referenced - units.keys()):
        raise StoreError("以下单位不在单位名录中：" + "、".join(missing))
    if missing := sorted({p for _, _, s in index.standards() for p in s.point_types} - types.keys()):
        raise StoreError("以下点位类型不存在：" + "、".join(missing))

    index_id = conn.execute(
        sa.insert(t.indexes).values(
            name=index.name,
            version=index.version,
            year=index.year,
            edition=index.edition,
            description=index.description,
        )
    ).inserted_primary_key[0]
    if index.point_types:
        conn.execute(
            sa.insert(t.index_point_types),
            [
                dict(index_id=index_id, point_type_id=types[pt.name], position=i)
                for i, pt in enumerate(index.point_types)
            ],
        )
    # Level by level, each level's rows in one statement (issue 7).
    cat_ids = _insert_many(
        conn,
        t.categories,
        [dict(index_id=index_id, code=c.code, name=c.name, position=ci) for ci, c in enumerate(index.categories)],
    )
    ind_rows = [
        dict(index_id=index_id, category_id=cat_id, code=ind.code, name=ind.name, position=ii)
        for cat, cat_id in zip(index.categories, cat_ids, strict=True)
        for ii, ind in enumerate(cat.indicators)
    ]
    ind_ids = iter(_insert_many(conn, t.indicators, ind_rows))
    item_rows = []
    for cat, cat_id in zip(index.categories, cat_ids, strict=True):
        indicator_ids = {ind.code: next(ind_ids) for ind in cat.indicators}  # a repeated code: its last indicator
        item_rows += [
            dict(
                index_id=index_id,
                category_id=cat_id,
                indicator_id=indicator_ids.get(item.indicator),
                code=item.code,
                name=item.name,
                position=ii,
            )
            for ii, item in enumerate(cat.items)
        ]
    item_ids = iter(_insert_many(conn, t.items, item_rows))
    standards: list[Standard] = []
    std_rows = []
    for cat in index.categories:
        for item in cat.items:
            item_id = next(item_ids)
            for si, s in enumerate(item.standards):
                standards.append(s)
                std_rows.append(
                    dict(
                        index_id=index_id,
                        item_id=item_id,
                        code=s.code,
                        text=s.text,
                        methods=[m.value for m in s.methods],
                        full_marks=s.full_marks,
                        scoring_mode=s.scoring_mode.value,
                        per_instance=s.per_instance,
                        cap=s.cap,
                        responsibility=s.responsibility.value,
                        veto=s.veto.value,
                        instructions=s.instructions,
                        severity=s.severity.value,
                        deadline_days=s.deadline_days,
                        position=si,
                    )
                )
    type_rows, unit_rows = [], []
    for s, sid in zip(standards, _insert_many(conn, t.standards, std_rows), strict=True):
        type_rows += [dict(standard_id=sid, point_type_id=types[p], position=i) for i, p in enumerate(s.point_types)]
        if s.lead_unit:
            unit_rows.append(dict(standard_id=sid, unit_id=units[s.lead_unit], role="lead", position=0))
        unit_rows += [
            dict(standard_id=sid, unit_id=units[u], role="support", position=i + 1)
            for i, u in enumerate(s.supporting_units)
            if u != s.lead_unit
        ]
    if type_rows:
        conn.execute(sa.insert(t.standard_point_types), type_rows)
    if unit_rows:
        conn.execute(sa.insert(t.standard_units), unit_rows)
    return index_id


def list_indexes(conn: sa.Connection) -> list[IndexInfo]:
    def count(table: sa.Table) -> sa.ScalarSelect:
        return sa.select(sa.func.count()).select_from(table).where(table.c.index_id == t.indexes.c.id).scalar_subquery()

    rows = conn.execute(
        sa.select(
            t.indexes, count(t.categories).label("nc"), count(t.items).label("ni"), count(t.standards).label("ns")
        ).order_by(t.indexes.c.year.desc(), t.indexes.c.name, t.indexes.c.version)
    ).mappings()
    return [
        IndexInfo(
            r["id"], r["name"], r["version"], r["year"], r["edition"], r["description"], r["nc"], r["ni"], r["ns"]
        )
        for r in rows
    ]


def delete_index(conn: sa.Connection, index_id: int) -> None:
    """Remove an index; refused while a round scores against it (its records would lose their standards)."""
    used = conn.execute(sa.select(t.rounds.c.name).where(t.rounds.c.index_id == index_id)).scalars().all()
    if used:
        raise StoreError(
            f"该测评体系已被 {len(used)} 个测评轮次使用（如“{used[0]}”），不能删除或替换；请用新的版本号导入"
        )
    conn.execute(sa.delete(t.indexes).where(t.indexes.c.id == index_id))


def load_index(conn: sa.Connection, index_id: int) -> EvaluationIndex:
    head = conn.execute(sa.select(t.indexes).where(t.indexes.c.id == index_id)).mappings().first()
    if head is None:
        raise StoreError(f"测评体系 {index_id} 不存在")
    pt_rows = conn.execute(
        sa.select(t.point_types)
        .join(t.index_point_types, t.index_point_types.c.point_type_id == t.point_types.c.id)
        .where(t.index_point_types.c.index_id == index_id)
        .order_by(t.index_point_types.c.position)
    ).mappings()
    types = [PointType(code=r["code"], name=r["name"], description=r["description"]) for r in pt_rows]

    std_types: dict[int, list[str]] = {}
    for sid, name in conn.execute(
        sa.select(t.standard_point_types.c.standard_id, t.point_types.c.name)
        .join(t.point_types, t.point_types.c.id == t.standard_point_types.c.point_type_id)
        .join(t.standards, t.standards.c.id == t.standard_point_types.c.standard_id)
        .where(t.standards.c.index_id == index_id)
        .order_by(t.standard_point_types.c.standard_id, t.standard_point_types.c.position)
    ):
        std_types.setdefault(sid, []).append(name)
    std_units: dict[int, list[tuple[str, str]]] = {}
    for sid, role, name in conn.execute(
        sa.select(t.standard_units.c.standard_id, t.standard_units.c.role, t.units.c.name)
        .join(t.units, t.units.c.id == t.standard_units.c.unit_id)
        .join(t.standards, t.standards.c.id == t.standard_units.c.standard_id)
        .where(t.standards.c.index_id == index_id)
        .order_by(t.standard_units.c.standard_id, t.standard_units.c.position)
    ):
        std_units.setdefault(sid, []).append((role, name))

    standards_by_item: dict[int, list[Standard]] = {}
    for r in conn.execute(
        sa.select(t.standards).where(t.standards.c.index_id == index_id).order_by(t.standards.c.position)
    ).mappings():
        roles = std_units.get(r["id"], [])
        standards_by_item.setdefault(r["item_id"], []).append(
            Standard(
                code=r["code"],
                text=r["text"],
                methods=[Method(m) for m in r["methods"]],
                full_marks=r["full_marks"],
                scoring_mode=ScoringMode(r["scoring_mode"]),
                per_instance=r["per_instance"],
                cap=r["cap"],
                point_types=std_types.get(r["id"], []),
                lead_unit=next((n for role, n in roles if role == "lead"), None),
                supporting_units=[n for role, n in roles if role == "support"],
                responsibility=Responsibility(r["responsibility"]),
                veto=Veto(r["veto"]),
                instructions=r["instructions"],
                severity=Severity(r["severity"]),
                deadline_days=r["deadline_days"],
            )
        )
    indicator_codes = dict(
        conn.execute(sa.select(t.indicators.c.id, t.indicators.c.code).where(t.indicators.c.index_id == index_id)).all()
    )
    items_by_cat: dict[int, list[Item]] = {}
    for r in conn.execute(
        sa.select(t.items).where(t.items.c.index_id == index_id).order_by(t.items.c.position)
    ).mappings():
        items_by_cat.setdefault(r["category_id"], []).append(
            Item(
                code=r["code"],
                name=r["name"],
                indicator=indicator_codes.get(r["indicator_id"]),
                standards=standards_by_item.get(r["id"], []),
            )
        )
    indicators_by_cat: dict[int, list[Indicator]] = {}
    for r in conn.execute(
        sa.select(t.indicators).where(t.indicators.c.index_id == index_id).order_by(t.indicators.c.position)
    ).mappings():
        indicators_by_cat.setdefault(r["category_id"], []).append(Indicator(code=r["code"], name=r["name"]))
    cats = [
        Category(
            code=r["code"],
            name=r["name"],
            indicators=indicators_by_cat.get(r["id"], []),
            items=items_by_cat.get(r["id"], []),
        )
        for r in conn.execute(
            sa.select(t.categories).where(t.categories.c.index_id == index_id).order_by(t.categories.c.position)
        ).mappings()
    ]
    return EvaluationIndex(
        name=head["name"],
        version=head["version"],
        year=head["year"],
        edition=head["edition"],
        description=head["description"],
        point_types=types,
        categories=cats,
    )


# --- settings ----------------------------------------------------------------------------------


def get_setting(conn: sa.Connection, key: str, default: Any = None) -> Any:
    value = conn.execute(sa.select(t.settings.c.value).where(t.settings.c.key == key)).scalar_one_or_none()
    return default if value is None else value


def set_setting(conn: sa.Connection, key: str, value: Any) -> None:
    if conn.execute(sa.select(t.settings.c.key).where(t.settings.c.key == key)).first():
        conn.execute(sa.update(t.settings).where(t.settings.c.key == key).values(value=value))
    else:
        conn.execute(sa.insert(t.settings).values(key=key, value=value))
