"""A believable demo city, deterministic for a seed.

``build_demo`` fills an empty database with the sample unit list and sample index from ``criteria/``,
then streets and towns, their communities, and a point register that uses every point type of the
index: a few hundred points at county scale, about 6,000 at city scale.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
import yaml

from civeval import archive, audit, auth, materials, suggestions, survey
from civeval.models import (
    Actor,
    Answer,
    EvaluationIndex,
    FindingStatus,
    Grant,
    Point,
    Role,
    Standard,
    Unit,
    UnitKind,
)
from civeval.store import repo

CRITERIA_DIR = Path(__file__).resolve().parents[1] / "criteria"
SAMPLE_INDEX = CRITERIA_DIR / "sample-county.yaml"
SAMPLE_UNITS = CRITERIA_DIR / "sample-units.yaml"

# A fictional county seat: the centre of the map (WGS-84).
CENTRE_LAT, CENTRE_LON = 34.762, 113.658


@dataclass(frozen=True)
class Scale:
    urban_streets: int
    towns: int
    communities_per_street: tuple[int, int]
    villages_per_town: tuple[int, int]
    points: int


SCALES = {
    "county": Scale(urban_streets=4, towns=8, communities_per_street=(5, 8), villages_per_town=(2, 4), points=420),
    "city": Scale(urban_streets=24, towns=18, communities_per_street=(8, 14), villages_per_town=(4, 8), points=6000),
}

_STREET_NAMES = [
    "城关",
    "东城",
    "西城",
    "南关",
    "北关",
    "新华",
    "解放",
    "人民",
    "文化",
    "建设",
    "朝阳",
    "胜利",
    "和平",
    "光明",
    "五里堡",
    "紫荆",
    "桐柏",
    "金水",
    "花园",
    "未来",
    "龙湖",
    "滨河",
    "铁西",
    "站前",
    "工业园",
    "高新",
    "凤凰",
    "白鹭",
]
_TOWN_NAMES = [
    "河口",
    "柳林",
    "石桥",
    "白沙",
    "黄庄",
    "李村",
    "马寨",
    "新店",
    "官庄",
    "杨集",
    "双河",
    "古城",
    "桃园",
    "青龙",
    "孟庄",
    "郭店",
    "大王",
    "小李",
    "张桥",
    "北岗",
    "南湾",
    "西峡",
    "东坡",
    "陈庄",
]
_COMMUNITY_WORDS = [
    "幸福",
    "和谐",
    "康宁",
    "兴业",
    "阳光",
    "锦绣",
    "翠园",
    "书香",
    "安居",
    "丰收",
    "银河",
    "明珠",
    "春晖",
    "瑞祥",
    "福泽",
    "金桥",
    "长青",
    "颐和",
    "嘉禾",
    "天润",
    "振兴",
    "桂苑",
    "荷塘",
    "梧桐",
    "松柏",
    "望湖",
    "观澜",
    "永安",
]
_ROAD_WORDS = [
    "人民",
    "解放",
    "建设",
    "文化",
    "中山",
    "新华",
    "胜利",
    "和平",
    "民主",
    "工农",
    "光明",
    "健康",
    "迎宾",
    "滨河",
    "环城",
    "长江",
    "黄河",
    "嵩山",
    "伏牛",
    "育才",
    "花园",
    "车站",
    "工业",
    "农业",
    "政通",
    "兴华",
    "商城",
    "东风",
]
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
_LEADER_TITLES = ["副县长", "县委常委", "县人大副主任", "县政协副主席"]

# Which departments typically look after which kinds of point (matched on words of the type's name).
_SECTOR_HINTS: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (("市场", "商场", "超市", "商业", "宾馆", "饭店"), ("市场监督", "商务")),
    (("医院", "卫生"), ("卫生健康",)),
    (("学校", "未成年人"), ("教育",)),
    (("网吧", "文化", "图书", "景区", "旅游"), ("文化广电", "文化和旅游", "文旅")),
    (("车站", "公交", "停车"), ("交通运输",)),
    (("路口",), ("交通管理", "交警")),
    (("政务", "窗口"), ("政务服务",)),
    (("工地",), ("住房和城乡建设", "住建")),
    (("厕所", "干道", "背街", "广场", "公园", "出入口"), ("城市管理", "城管")),
    (("银行",), ("金融",)),
    (("加油",), ("商务", "应急")),
]


def load_sample_units(path: Path = SAMPLE_UNITS) -> list[Unit]:
    return [Unit.model_validate(u) for u in yaml.safe_load(path.read_text(encoding="utf-8"))]


def load_sample_index(path: Path = SAMPLE_INDEX) -> EvaluationIndex:
    return EvaluationIndex.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def is_empty(conn: sa.Connection) -> bool:
    counts = repo.count_rows(conn)
    return counts["indexes"] == 0 and counts["points"] == 0


def _spread(rng: random.Random, lat: float, lon: float, km: float) -> tuple[float, float]:
    """A point within ``km`` of (lat, lon), denser towards the middle."""
    r = km * math.sqrt(rng.random())
    a = rng.uniform(0, 2 * math.pi)
    return (
        round(lat + r * math.sin(a) / 111.0, 6),
        round(lon + r * math.cos(a) / (111.0 * math.cos(math.radians(lat))), 6),
    )


def _weight(type_name: str) -> float:
    """How common a point type is in a register (communities and lanes far outnumber stations)."""
    for words, w in (
        (("社区", "小区"), 8),
        (("背街", "小巷"), 6),
        (("干道", "道路"), 4),
        (("厕所",), 3),
        (("公交",), 3),
        (("学校", "市场", "商业", "窗口", "政务", "银行", "文明实践"), 2),
    ):
        if any(x in type_name for x in words):
            return w
    return 1


def _sector_unit(rng: random.Random, type_name: str, departments: list[Unit]) -> str:
    for words, hints in _SECTOR_HINTS:
        if any(w in type_name for w in words):
            matches = [d.name for d in departments if any(h in d.name for h in hints)]
            if matches:
                return rng.choice(matches)
    return rng.choice(departments).name


def _point_name(rng: random.Random, type_name: str, place: str, serial: int) -> str:
    road = rng.choice(_ROAD_WORDS)
    word = rng.choice(_COMMUNITY_WORDS)
    if "干道" in type_name or "道路" in type_name:
        return f"{road}{rng.choice(['路', '大道', '大街'])}（{place}段）"
    if "背街" in type_name or "小巷" in type_name:
        return f"{place}{word}巷"
    if "路口" in type_name:
        return f"{road}路与{rng.choice(_ROAD_WORDS)}街交叉口"
    if "社区" in type_name or "小区" in type_name:
        return f"{word}{rng.choice(['苑', '家园', '小区', '花园'])}"
    if "学校" in type_name:
        return f"{place}{rng.choice(['第一', '第二', '实验', '育才', '希望'])}{rng.choice(['小学', '初级中学'])}周边"
    if "医院" in type_name:
        return f"{place}{rng.choice(['卫生院', '社区卫生服务中心', '中医院分院', '妇幼保健站'])}"
    if "厕所" in type_name:
        return f"{road}路{serial % 9 + 1}号公厕"
    if "公交" in type_name:
        return f"{road}路{word}站"
    return f"{place}{word}{type_name.split('(')[0].split('（')[0]}"


DEMO_PASSWORD = "demo2025"  # the demo's logins are printed and shown on the login page: never use it for real data


def demo_logins(engine: sa.Engine) -> list[tuple[str, str, str]]:
    """(username, password, role label) of the demo users, when this database holds the demo; else []."""
    with engine.connect() as conn:
        demo = repo.get_setting(conn, "demo")
    return [tuple(x) for x in demo["logins"]] if demo else []


def _demo_users(engine: sa.Engine, street: str, unit: str) -> list[tuple[str, str, str]]:
    """One user per role, with the demo password, and the marker that tells the interface it is a demo."""
    people = [
        ("office", "王主任", Grant(role=Role.admin)),
        ("inspector", "李测评", Grant(role=Role.inspector)),
        ("liaison", "赵联络", Grant(role=Role.liaison, scope=unit)),
        ("street", "孙协调", Grant(role=Role.coordinator, scope=street)),
        ("leader", "周领导", Grant(role=Role.leader)),
    ]
    actor = Actor.system("演示数据")
    auth.create_users(engine, actor, [auth.NewUser(u, n, (g,), DEMO_PASSWORD) for u, n, g in people])
    logins = [(u, DEMO_PASSWORD, g.label) for u, _, g in people]
    with audit.writing(engine, actor) as conn:
        repo.set_setting(conn, "demo", {"logins": logins})
    return logins


def _demo_photo(rng: random.Random) -> tuple[bytes, str]:
    """A small, distinct stand-in for an inspector's photo."""
    import io

    from PIL import Image, ImageDraw

    img = Image.new("RGB", (320, 240), (rng.randint(90, 200), rng.randint(90, 200), rng.randint(90, 200)))
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x, y = rng.randint(0, 300), rng.randint(0, 220)
        draw.rectangle((x, y, x + rng.randint(10, 60), y + rng.randint(10, 40)), fill=(rng.randint(0, 255), 40, 40))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=70)
    return buf.getvalue(), f"IMG_{rng.randint(1000, 9999)}.jpg"


FAIL_NOTES = [
    "地面有积水和垃圾",
    "公益广告破损",
    "占道经营",
    "非机动车乱停放",
    "设施损坏未修复",
    "宣传栏内容过期",
    "卫生死角",
    "无障碍通道被占用",
    "乱贴乱画",
    "消防通道堵塞",
]


def _answer_for(rng: random.Random, standard: Standard, quality: float) -> Answer:
    """A believable answer: passes with probability ``quality``; failures carry a note."""
    from civeval.models import Result, ScoringMode

    if rng.random() < 0.04:
        return Answer(result=Result.na)
    ok = rng.random() < quality
    note = "" if ok else rng.choice(FAIL_NOTES)
    if standard.scoring_mode is ScoringMode.graded:
        grade = Result.A if ok else rng.choice([Result.B, Result.B, Result.C, Result.D])
        return Answer(result=grade, note=note)
    if standard.scoring_mode is ScoringMode.deduction:
        n = 0 if ok else rng.choice([1, 1, 2, 3, 5])
        return Answer(result=Result.passed if n == 0 else Result.failed, instances=n, note=note)
    return Answer(result=Result.passed if ok else Result.failed, note=note)


def _demo_rounds(engine: sa.Engine, rng: random.Random, scale: str) -> int:
    """Three finished monthly mock evaluations, results improving, and one in progress, each told on its own dates
    through the round and findings services: drawn, scored by the demo inspector (photos of failures), submitted
    (failures go onto the gap list), fixed, re-inspected, some extended, some late, some still open."""
    import datetime as dt

    from civeval import rounds
    from civeval.models import Quota, RoundKind, RoundStatus, SamplePlan

    office = Actor.system("演示数据")
    with engine.connect() as conn:
        inspector = auth.load_actor(conn, auth.get_user(conn, "inspector").id)
        index_id = repo.list_indexes(conn)[0].id
        index, _ = rounds.round_index(conn, index_id)
    per_type = 2 if scale == "county" else 8
    plan_types = [pt.name for pt in index.point_types]
    now = audit.now()
    today = now.date()
    starts = []
    for back in (3, 2, 1, 0):
        y, m = divmod(today.month - 1 - back, 12)
        starts.append(dt.date(today.year + y, m + 1, 5) if back else today - dt.timedelta(days=2))
    quality_by_street: dict[str, float] = {}
    for n, (start, base) in enumerate(zip(starts, (0.70, 0.76, 0.82, 0.86), strict=True)):
        finished = n < 3
        at = dt.datetime.combine(start, dt.time(9)) - dt.timedelta(days=3)
        with audit.clock_at(at):
            rid = rounds.create_round(
                engine,
                office,
                name=f"{start.year}年{start.month}月模拟测评",
                kind=RoundKind.mock,
                index_id=index_id,
                start=start,
                end=start + dt.timedelta(days=4),
            )
            plan = SamplePlan(
                seed=rng.randint(1, 10**6),
                exclude_last_rounds=1,
                quotas=[Quota(point_type=t, count=per_type) for t in plan_types],
            )
            rounds.confirm_draw(engine, office, rid, plan)
            rounds.assign(engine, office, rid, ["inspector"])
            rounds.set_status(engine, office, rid, RoundStatus.in_progress)
        with engine.connect() as conn:
            points = rounds.round_points(conn, office, rid)
        todo = points if finished else points[: len(points) // 2]
        for k, rp in enumerate(todo):
            moment = dt.datetime.combine(
                start + dt.timedelta(days=min(4, k * 5 // max(1, len(todo)))), dt.time(9)
            ) + dt.timedelta(minutes=7 * (k % 60))
            moment = min(moment, now - dt.timedelta(minutes=1))
            street = rp.point.street or ""
            quality = min(0.97, base + quality_by_street.setdefault(street, rng.uniform(-0.12, 0.08)))
            with audit.clock_at(moment):
                for _, _, standard in rounds.applicable_standards(index, rp.point.point_type):
                    answer = _answer_for(rng, standard, quality)
                    rounds.save_answer(engine, inspector, rid, rp.point.code, standard.code, answer)
                    if answer.note:  # a failure: photographed
                        data, filename = _demo_photo(rng)
                        rounds.add_photo(engine, inspector, rid, rp.point.code, standard.code, data, filename)
                if finished or rng.random() < 0.6:
                    rounds.submit_point(engine, inspector, rid, rp.point.code)
        if finished:
            with audit.clock_at(dt.datetime.combine(start + dt.timedelta(days=4), dt.time(17))):
                with engine.connect() as conn:
                    sheets = rounds.materials_sheets(conn, office, rid)
                for sheet in sheets:
                    for a in sheet.answers:
                        rounds.save_unit_answer(
                            engine, office, rid, sheet.unit, a.standard.code, _answer_for(rng, a.standard, base + 0.05)
                        )
                rounds.set_status(engine, office, rid, RoundStatus.closed)
        _demo_rectification(engine, rng, rid, inspector, now, diligence=(0.97, 0.93, 0.8, 0.35)[n])
    return len(starts)


def _demo_rectification(
    engine: sa.Engine, rng: random.Random, round_id: int, inspector: Actor, now, diligence: float
) -> None:
    """Units work on a round's findings: most fixed in time, some late, some failing re-inspection first, a few
    extended or long-term; what lies in the future (after ``now``) is left undone."""
    import datetime as dt

    from civeval import findings
    from civeval.findings import FindingAction as A

    office = Actor.system("演示数据")
    with engine.connect() as conn:
        todo = findings.list_findings(conn, office, round_id=round_id)

    def act(moment: dt.datetime, who: Actor, code: str, action: A, **kw) -> bool:
        if moment >= now:
            return False
        with audit.clock_at(moment):
            findings.transition(engine, who, code, action, **kw)
        return True

    for f in todo:
        if f.status is not FindingStatus.assigned:
            continue
        t0 = f.created_at
        allowed = max(1, (f.deadline - t0.date()).days)
        roll = rng.random()
        if roll > diligence:  # not yet done (overdue once the deadline passes)
            if rng.random() < 0.3:
                act(t0 + dt.timedelta(days=1, hours=2), office, f.code, A.start)
            continue
        if roll < 0.03:
            act(t0 + dt.timedelta(days=1), office, f.code, A.mark_long_term, reason="需纳入年度改造计划，无法短期完成")
            continue
        if not act(t0 + dt.timedelta(hours=20), office, f.code, A.start):
            continue
        days = max(0, rng.choice([allowed - 2, allowed - 1, allowed - 1, allowed - 1, allowed, allowed + 2]))
        if rng.random() < 0.08:
            asked = f.deadline + dt.timedelta(days=7)
            if act(
                t0 + dt.timedelta(days=1), office, f.code, A.request_extension, reason="需等待材料到货", deadline=asked
            ):
                act(t0 + dt.timedelta(days=1, hours=3), office, f.code, A.grant_extension)
                days = allowed + 5
        submit_at = t0 + dt.timedelta(days=days, hours=2)
        photo = [_demo_photo(rng)]
        if not act(submit_at, office, f.code, A.submit, reason="已按要求整改完毕", photos_data=photo):
            continue
        if rng.random() < 0.12:
            if not act(
                submit_at + dt.timedelta(hours=20), inspector, f.code, A.fail_reinspection, reason="复查时问题仍存在"
            ):
                continue
            submit_at += dt.timedelta(days=2)
            if not act(submit_at, office, f.code, A.submit, reason="已再次整改", photos_data=[_demo_photo(rng)]):
                continue
        act(submit_at + dt.timedelta(hours=4), inspector, f.code, A.pass_reinspection)


def build_demo(engine: sa.Engine, seed: int = 1, scale: str = "county", *, with_rounds: bool = True) -> dict[str, int]:
    """Fill an empty database with the sample index and a demo city, and (unless ``with_rounds`` is False) four
    monthly mock evaluations, three finished and one in progress. Returns what was added.

    Deterministic: the same seed and scale give the same city.
    """
    if scale not in SCALES:
        raise ValueError(f"未知规模“{scale}”，可选：{'、'.join(SCALES)}")
    sc = SCALES[scale]
    rng = random.Random(f"{seed}:{scale}")
    index = load_sample_index()
    departments = load_sample_units()
    with audit.writing(engine, Actor.system("演示数据"), context=f"演示城市 种子{seed} {scale}") as conn:
        if not is_empty(conn):
            raise repo.StoreError("数据库已有数据，演示城市只能装入空数据库")
        repo.save_units(conn, departments)
        index_id = repo.save_index(conn, index)

        areas: list[tuple[Unit, float, float]] = []  # street/town, centre
        communities: dict[str, list[Unit]] = {}
        street_names = rng.sample(_STREET_NAMES, sc.urban_streets)
        town_names = rng.sample(_TOWN_NAMES, sc.towns)
        for i, name in enumerate(street_names):
            ang = 2 * math.pi * i / sc.urban_streets
            rad = 1.2 + 1.3 * (i % 3)
            areas.append(
                (
                    Unit(code=f"S{i + 1:02d}", name=f"{name}街道", kind=UnitKind.street),
                    CENTRE_LAT + rad * math.sin(ang) / 111,
                    CENTRE_LON + rad * math.cos(ang) / 92,
                )
            )
        for i, name in enumerate(town_names):
            ang = 2 * math.pi * i / sc.towns + 0.3
            rad = 9 + 7 * (i % 3)
            areas.append(
                (
                    Unit(code=f"T{i + 1:02d}", name=f"{name}镇", kind=UnitKind.town),
                    CENTRE_LAT + rad * math.sin(ang) / 111,
                    CENTRE_LON + rad * math.cos(ang) / 92,
                )
            )
        new_units: list[Unit] = [a for a, _, _ in areas]
        used_names = {u.name for u in departments} | {u.name for u in new_units}
        serial = 0
        for area, _, _ in areas:
            lo, hi = sc.communities_per_street if area.kind is UnitKind.street else sc.villages_per_town
            suffix = "社区" if area.kind is UnitKind.street else "村"
            for _ in range(rng.randint(lo, hi)):
                serial += 1
                base = rng.choice(_COMMUNITY_WORDS) + rng.choice(["", "东", "西", "南", "北", "新"])
                name = f"{base}{suffix}"
                if name in used_names:
                    name = f"{area.name[:-2] if area.kind is UnitKind.street else area.name[:-1]}{base}{suffix}"
                if name in used_names:
                    name = f"{base}{serial}{suffix}"
                used_names.add(name)
                c = Unit(code=f"C{serial:04d}", name=name, kind=UnitKind.community, parent=area.name)
                communities.setdefault(area.name, []).append(c)
                new_units.append(c)
        repo.save_units(conn, new_units)

        types = [pt.name for pt in index.point_types]
        weights = [_weight(t) for t in types]
        # Every type at least twice, the rest by weight.
        plan = [t for t in types for _ in range(2)]
        plan += rng.choices(types, weights=weights, k=max(0, sc.points - len(plan)))
        rng.shuffle(plan)
        leaders = [
            f"{rng.choice(_SURNAMES)}{rng.choice(['明', '华', '强', '静', '伟', '军', '丽', '涛'])}"
            f"（{rng.choice(_LEADER_TITLES)}）"
            for _ in range(max(6, len(areas) // 2))
        ]
        area_leader = {a.name: leaders[i % len(leaders)] for i, (a, _, _) in enumerate(areas)}
        urban = [a for a in areas if a[0].kind is UnitKind.street]
        points: list[Point] = []
        seen: set[str] = set()
        for n, type_name in enumerate(plan, start=1):
            # Urban streets hold most points; towns fewer.
            area, lat, lon = rng.choice(urban) if rng.random() < 0.7 else rng.choice(areas)
            comms = communities.get(area.name, [])
            if ("社区" in type_name or "小区" in type_name) and comms:
                custodian = rng.choice(comms).name
            elif rng.random() < 0.35 and comms:
                custodian = rng.choice(comms).name
            else:
                custodian = _sector_unit(rng, type_name, departments)
            road_chief = rng.choice(departments).name if any(w in type_name for w in ("干道", "背街", "路口")) else None
            name = _point_name(rng, type_name, area.name[:2], n)
            if name in seen:
                name = f"{name}（{n}）"
            seen.add(name)
            plat, plon = _spread(rng, lat, lon, 1.6 if area.kind is UnitKind.street else 3.0)
            points.append(
                Point(
                    code=f"P{n:05d}",
                    name=name,
                    point_type=type_name,
                    street=area.name,
                    address=f"{area.name}{rng.choice(_ROAD_WORDS)}路{rng.randint(1, 399)}号",
                    lat=plat,
                    lon=plon,
                    custodian_unit=custodian,
                    road_chief_unit=road_chief,
                    owner_leader=area_leader[area.name],
                    active=rng.random() > 0.02,
                )
            )
        repo.save_points(conn, points)
    urban_street = next(a.name for a, _, _ in areas if a.kind is UnitKind.street)
    liaison_unit = next((d.name for d in departments if "城市管理" in d.name), departments[0].name)
    _demo_users(engine, urban_street, liaison_unit)
    n_rounds = _demo_rounds(engine, rng, scale) if with_rounds else 0
    materials.demo_materials(engine, index_id, liaison_unit)  # task breakdown; a few units' uploads, reviewed
    surveyed = survey.demo_survey(engine, seed) if with_rounds else {}  # answers imported from a 问卷星-style xlsx
    suggested = suggestions.demo_suggestions(engine, seed) if with_rounds else {}  # intake → handed → answered
    if with_rounds:  # the history above was written with past dates, after the rounds closed: record them again
        archive.backfill(engine, again=True)
    return {
        "rounds": n_rounds,
        "units": len(departments) + len(new_units),
        "streets": len(areas),
        "communities": sum(len(v) for v in communities.values()),
        "points": len(points),
        "standards": len(index.standards()),
        "survey_responses": surveyed.get("responses", 0),
        "suggestions": suggested.get("suggestions", 0),
    }
