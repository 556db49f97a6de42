"""A small, known data set for page and browser tests: one index, a dozen units, eight points.

``seed(engine)`` writes it through the repositories; the constants below are what tests look for.
"""

from __future__ import annotations

import sqlalchemy as sa

from civeval import audit, auth
from civeval.models import (
    Actor,
    Category,
    EvaluationIndex,
    Grant,
    Indicator,
    Item,
    Method,
    Point,
    PointType,
    Responsibility,
    Role,
    ScoringMode,
    Severity,
    Standard,
    Unit,
    UnitKind,
    Veto,
)
from civeval.store import repo

INDEX_NAME = "示例县测评体系"
INDEX_VERSION = "2025版"

UNITS = [
    Unit(code="S01", name="城关街道", kind=UnitKind.street),
    Unit(code="S02", name="东城街道", kind=UnitKind.street),
    Unit(code="T01", name="河口镇", kind=UnitKind.town),
    Unit(code="C01", name="和平社区", kind=UnitKind.community, parent="城关街道", contact="王芳", phone="0371-1234567"),
    Unit(code="D04", name="县文明办", kind=UnitKind.department),
    Unit(code="D09", name="县教育局", kind=UnitKind.department),
    Unit(code="D19", name="县城市管理局", kind=UnitKind.department, contact="李强"),
    Unit(code="D25", name="县卫生健康委员会", kind=UnitKind.department),
    Unit(code="D28", name="县市场监督管理局", kind=UnitKind.department),
    Unit(code="D46", name="县税务局", kind=UnitKind.department),  # answers for nothing
    Unit(code="G01", name="环境整治组", kind=UnitKind.work_group),
]

POINT_TYPES = ["农贸市场", "背街小巷", "主次干道", "学校周边", "公园广场", "医院"]

# Searching "wifi" must find this one (its text is full-width).
WIFI_CODE = "III-5-1"
WIFI_TEXT = "窗口单位提供免费ＷｉＦｉ和饮用水"


def index() -> EvaluationIndex:
    def field(code, text, types, lead, support=(), **kw):
        return Standard(
            code=code,
            text=text,
            methods=[Method.field],
            point_types=list(types),
            lead_unit=lead,
            supporting_units=list(support),
            **kw,
        )

    return EvaluationIndex(
        name=INDEX_NAME,
        version=INDEX_VERSION,
        year=2025,
        edition="县级",
        point_types=[PointType(code=f"PT{i + 1:02d}", name=n) for i, n in enumerate(POINT_TYPES)],
        categories=[
            Category(
                code="I-1",
                name="公共环境",
                indicators=[Indicator(code="II-1", name="市容环境")],
                items=[
                    Item(
                        code="III-1",
                        name="农贸市场",
                        indicator="II-1",
                        standards=[
                            field(
                                "III-1-1",
                                "市场内地面干净，无积水、无垃圾堆积",
                                ["农贸市场"],
                                "县市场监督管理局",
                                ["县城市管理局"],
                                full_marks=2,
                                scoring_mode=ScoringMode.deduction,
                                per_instance=0.5,
                                cap=2,
                                instructions="从正门进入，步行200米，查看两个摊区",
                                severity=Severity.urgent,
                            ),
                            field(
                                "III-1-2",
                                "公益广告张贴在醒目位置，无破损、无遮挡",
                                ["农贸市场", "背街小巷", "主次干道"],
                                "县文明办",
                                ["县城市管理局", "县市场监督管理局"],
                                full_marks=1,
                            ),
                        ],
                    ),
                    Item(
                        code="III-2",
                        name="背街小巷",
                        indicator="II-1",
                        standards=[
                            field(
                                "III-2-1",
                                "路面平整，无乱堆乱放、无私搭乱建",
                                ["背街小巷"],
                                "县城市管理局",
                                ["城关街道", "东城街道"],
                                full_marks=3,
                                scoring_mode=ScoringMode.graded,
                                instructions="每条背街小巷步行不少于100米",
                            )
                        ],
                    ),
                ],
            ),
            Category(
                code="I-2",
                name="公共秩序",
                items=[
                    Item(
                        code="III-3",
                        name="校园周边",
                        standards=[
                            field(
                                "III-3-1",
                                "校园周边200米内无流动摊贩、无营业性网吧",
                                ["学校周边"],
                                "县教育局",
                                ["县市场监督管理局"],
                                full_marks=2,
                                responsibility=Responsibility.lead,
                                veto=Veto.alert,
                                severity=Severity.immediate,
                            )
                        ],
                    ),
                    Item(
                        code="III-5",
                        name="窗口单位",
                        standards=[field(WIFI_CODE, WIFI_TEXT, ["医院"], "县卫生健康委员会", full_marks=1)],
                    ),
                ],
            ),
            Category(
                code="I-3",
                name="诚信建设",
                items=[
                    Item(
                        code="III-4",
                        name="诚信宣传",
                        standards=[
                            Standard(
                                code="III-4-1",
                                text="开展诚信主题宣传活动，有方案、有记录",
                                methods=[Method.materials],
                                full_marks=1.5,
                                lead_unit="县文明办",
                                responsibility=Responsibility.lead,
                                deadline_days=10,
                            ),
                            Standard(
                                code="III-4-2",
                                text="群众对诚信建设的知晓率",
                                methods=[Method.survey],
                                full_marks=1,
                                lead_unit="县文明办",
                                supporting_units=["环境整治组"],
                                veto=Veto.zero_item,
                            ),
                        ],
                    )
                ],
            ),
        ],
    )


def _p(code, name, type_, street, custodian, lat=None, lon=None, **kw) -> Point:
    return Point(
        code=code, name=name, point_type=type_, street=street, custodian_unit=custodian, lat=lat, lon=lon, **kw
    )


POINTS = [
    _p(
        "P001",
        "城关农贸市场",
        "农贸市场",
        "城关街道",
        "县市场监督管理局",
        34.7621,
        113.6512,
        road_chief_unit="县城市管理局",
    ),
    _p("P002", "东城农贸市场", "农贸市场", "东城街道", "县市场监督管理局", 34.7655, 113.6702, address="东城路18号"),
    _p("P003", "和平路背街小巷", "背街小巷", "城关街道", "和平社区", 34.7590, 113.6555),
    _p("P004", "人民路", "主次干道", "城关街道", "县城市管理局", 34.7610, 113.6580, owner_leader="张副县长"),
    _p("P005", "实验小学周边", "学校周边", "东城街道", "县教育局", 34.7680, 113.6650),
    _p("P006", "人民公园", "公园广场", "城关街道", "县城市管理局"),  # no coordinates
    _p("P007", "县人民医院", "医院", "东城街道", "县卫生健康委员会", 34.7700, 113.6600),
    _p("P008", "河口镇集贸市场", "农贸市场", "河口镇", "河口镇", 34.7300, 113.6100, active=False),
]


PASSWORD = "Test-pass-2025"
# username -> (role, scope): one user per role, the scoped ones inside the seeded city
USERS = {
    "tester": (Role.admin, None),
    "insp": (Role.inspector, None),
    "liai": (Role.liaison, "县城市管理局"),
    "coord": (Role.coordinator, "城关街道"),
    "boss": (Role.leader, None),
}


def add_users(engine: sa.Engine, users: dict[str, tuple[Role, str | None]] = USERS) -> None:
    """Accounts with PASSWORD, no password change pending."""
    auth.create_users(
        engine,
        Actor.system("测试数据"),
        [auth.NewUser(name, name, (Grant(role=role, scope=scope),), PASSWORD) for name, (role, scope) in users.items()],
    )


def seed(engine: sa.Engine) -> dict[str, int]:
    """Write the units, the index (with its point types), the points and one user per role. Returns counts."""
    with audit.writing(engine, Actor.system("测试数据")) as conn:
        repo.save_units(conn, UNITS)
        index_id = repo.save_index(conn, index())
        repo.save_points(conn, POINTS)
    add_users(engine)
    return {"index_id": index_id, "units": len(UNITS), "points": len(POINTS)}


def seeded_url(path) -> str:
    """A SQLite URL for a fresh seeded database at ``path``."""
    from civeval.store import open_engine

    url = f"sqlite:///{path}"
    engine = open_engine(url)
    seed(engine)
    engine.dispose()
    return url


def demo_url(path, *, seed: int = 1, scale: str = "county") -> tuple[str, dict[str, int]]:
    """A SQLite URL for a fresh database filled by civeval.demo.build_demo (the sample index and a demo county),
    and build_demo's counts."""
    from civeval.demo import build_demo
    from civeval.store import open_engine

    url = f"sqlite:///{path}"
    engine = open_engine(url)
    counts = build_demo(engine, seed=seed, scale=scale)
    engine.dispose()
    return url, counts


def session_token(url: str, username: str) -> str:
    """A live log-in session for ``username`` (as the login page starts one): the token a browser would hold."""
    from civeval.store import open_engine

    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            actor = auth.load_actor(conn, auth.get_user(conn, username).id)
        return auth.start_session(engine, actor)
    finally:
        engine.dispose()


def index_id(engine: sa.Engine) -> int:
    """The id of the seeded index."""
    with engine.connect() as conn:
        return repo.find_index(conn, INDEX_NAME, INDEX_VERSION)
