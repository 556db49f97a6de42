"""`python -m civeval …`: a thin layer over the library. Every command takes --db URL (default: the embedded SQLite)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import sqlalchemy as sa

from civeval.models import Actor
from civeval.store import default_url, open_engine, repo


class CliError(Exception):
    """A failure to report in one Chinese line, exit status 1."""


def _engine(args: argparse.Namespace) -> sa.Engine:
    return open_engine(args.db)


# The CLI runs on the server, by whoever operates the database: it acts as the system, with an
# administrator's rights, and says so in every audit entry it causes.
CLI_ACTOR = Actor.system("命令行")


def _find_index_id(engine: sa.Engine, ref: str) -> int:
    """An index named by id, by name, or by ``name:version``."""
    with engine.connect() as conn:
        infos = repo.list_indexes(conn)
    if ref.isdigit() and any(i.id == int(ref) for i in infos):
        return int(ref)
    name, _, version = ref.partition(":")
    matches = [i for i in infos if i.name == name and (not version or i.version == version)]
    if len(matches) == 1:
        return matches[0].id
    if not matches:
        known = "；".join(f"{i.id}={i.name}:{i.version}" for i in infos) or "无"
        raise CliError(f"找不到测评体系“{ref}”。已有：{known}")
    raise CliError(f"“{ref}”对应多个版本，请写成 名称:版本 或编号")


# --- commands ----------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> None:
    from civeval import auth

    engine = _engine(args)
    with engine.connect() as conn:
        counts = repo.count_rows(conn)
    print(f"数据库已就绪：{engine.url.render_as_string(hide_password=True)}")
    from civeval import archive

    if recorded := archive.backfill(engine):
        print(f"已归档 {recorded} 个已结束轮次的测评结果（供趋势和环比使用）")
    if first := auth.ensure_first_admin(engine):
        print("首次运行：已创建管理员账户。以下一次性密码只显示这一次，首次登录后须修改：")
        print(f"  用户名 {first[0]}  一次性密码 {first[1]}")
    print(
        f"测评体系 {counts['indexes']} 套，测评标准 {counts['standards']} 条，单位 {counts['units']} 个，"
        f"点位类型 {counts['point_types']} 类，点位 {counts['points']} 个"
    )


def cmd_criteria_validate(args: argparse.Namespace) -> None:
    from civeval import criteria
    from civeval.workbook import WorkbookInvalid

    engine = _engine(args)
    with engine.connect() as conn:
        known_units = repo.unit_names(conn)
        known_types = set(repo.point_type_ids(conn))
    try:
        result = criteria.read_index(Path(args.file), known_units=known_units, known_point_types=known_types)
    except WorkbookInvalid as e:
        for p in e.problems:
            print(p)
        raise SystemExit(1) from None
    idx = result.index
    print(
        f"{args.file}: 有效。{idx.title}：测评项目 {len(idx.categories)} 个，"
        f"测评内容 {sum(len(c.items) for c in idx.categories)} 项，测评标准 {len(idx.standards())} 条"
    )


def cmd_criteria_import(args: argparse.Namespace) -> None:
    from civeval import criteria
    from civeval.workbook import WorkbookInvalid

    try:
        index_id, idx = criteria.import_index(_engine(args), CLI_ACTOR, Path(args.file), replace=args.replace)
    except WorkbookInvalid as e:
        for p in e.problems:
            print(p)
        print("未导入任何内容。", file=sys.stderr)
        raise SystemExit(1) from None
    except repo.StoreError as e:
        raise CliError(f"{e}。未导入任何内容。") from None
    print(f"已导入 {idx.title}（编号 {index_id}）：测评标准 {len(idx.standards())} 条")


def cmd_criteria_export(args: argparse.Namespace) -> None:
    from civeval import criteria

    engine = _engine(args)
    index_id = _find_index_id(engine, args.index)
    criteria.export_index(engine, CLI_ACTOR, index_id, Path(args.out))
    print(f"已导出到 {args.out}")


def cmd_criteria_template(args: argparse.Namespace) -> None:
    from civeval import criteria

    criteria.write_template(Path(args.out))
    print(f"已写出测评体系模板 {args.out}")


def cmd_criteria_list(args: argparse.Namespace) -> None:
    with _engine(args).connect() as conn:
        infos = repo.list_indexes(conn)
    if not infos:
        print("尚无测评体系。用 `python -m civeval criteria import 文件.xlsx` 导入。")
    for i in infos:
        print(f"{i.id}\t{i.name}\t{i.version}\t{i.year}\t{i.edition}\t测评标准 {i.n_standards} 条")


def _register_commands(kind: str) -> dict[str, Callable[[argparse.Namespace], None]]:
    """import / export / template for the unit or point register (same shape for both)."""
    from civeval import registers

    label = {"units": "单位", "points": "点位"}[kind]

    def do_import(args: argparse.Namespace) -> None:
        from civeval.workbook import WorkbookInvalid

        try:
            added, updated = getattr(registers, f"import_{kind}")(_engine(args), CLI_ACTOR, Path(args.file))
        except WorkbookInvalid as e:
            for p in e.problems:
                print(p)
            print("未导入任何内容。", file=sys.stderr)
            raise SystemExit(1) from None
        except repo.StoreError as e:
            raise CliError(f"{e}。未导入任何内容。") from None
        print(f"{label}：新增 {added} 个，更新 {updated} 个")

    def do_export(args: argparse.Namespace) -> None:
        n = getattr(registers, f"export_{kind}")(_engine(args), CLI_ACTOR, Path(args.out))
        print(f"已导出{label} {n} 个到 {args.out}")

    def do_template(args: argparse.Namespace) -> None:
        getattr(registers, f"write_{kind}_template")(Path(args.out))
        print(f"已写出{label}模板 {args.out}")

    return {"import": do_import, "export": do_export, "template": do_template}


def cmd_demo(args: argparse.Namespace) -> None:
    from civeval import demo

    engine = _engine(args)
    with engine.connect() as conn:
        empty = demo.is_empty(conn)
    if not empty:
        if not args.if_empty:
            raise CliError("数据库已有数据，演示城市只能装入空数据库（可用 --db 指定另一个数据库）")
        print("数据库已有数据，未装入演示城市。")
    else:
        added = demo.build_demo(engine, seed=args.seed, scale=args.scale)
        print(
            f"已装入演示城市（种子 {args.seed}，规模 {args.scale}）：街道/镇 {added['streets']} 个，"
            f"社区/村 {added['communities']} 个，单位共 {added['units']} 个，点位 {added['points']} 个，"
            f"测评标准 {added['standards']} 条，模拟测评 {added['rounds']} 轮（3 轮已结束，1 轮进行中）"
        )
        if added.get("survey_responses"):
            print(
                f"问卷调查：从问卷星格式的演示表格导入答卷 {added['survey_responses']} 份"
                "（查看：survey rates --questionnaire 1 --by street）"
            )
    if logins := demo.demo_logins(engine):
        print("演示账户（仅供演示，切勿用于真实数据）：")
        for username, password, role in logins:
            print(f"  用户名 {username:<10} 密码 {password}   {role}")


def cmd_users_create_admin(args: argparse.Namespace) -> None:
    from civeval import auth

    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    try:
        pw = auth.create_admin(_engine(args), args.username, password, args.name)
    except auth.AccountError as e:
        raise CliError(str(e)) from None
    if password:
        print(f"已创建管理员 {args.username}（首次登录后须修改密码）")
    else:
        print(f"已创建管理员 {args.username}。一次性密码（只显示这一次，首次登录后须修改）：{pw}")


def cmd_users_add(args: argparse.Namespace) -> None:
    from civeval import auth
    from civeval.models import Grant, Role

    grants = []
    for spec in args.role:
        role_text, _, scope = spec.partition("@")
        role = Role.parse(role_text)
        if role is None:
            raise CliError(f"角色“{role_text}”无效，可选：{'、'.join(Role.labels())}")
        grants.append(Grant(role=role, scope=scope or None))
    try:
        pw = auth.create_user(
            _engine(args),
            CLI_ACTOR,
            auth.NewUser(args.username, args.name or args.username, tuple(grants), None, args.email, args.phone),
        )
    except auth.AccountError as e:
        raise CliError(str(e)) from None
    print(f"已创建用户 {args.username}（{'、'.join(g.label for g in grants)}）。一次性密码（只显示这一次）：{pw}")


def cmd_users_import(args: argparse.Namespace) -> None:
    from civeval import users_workbook
    from civeval.workbook import WorkbookInvalid

    try:
        passwords = users_workbook.import_users(_engine(args), CLI_ACTOR, Path(args.file))
    except WorkbookInvalid as e:
        for p in e.problems:
            print(p)
        print("未导入任何内容。", file=sys.stderr)
        raise SystemExit(1) from None
    print(f"已导入用户 {len(passwords)} 名。初始密码（只显示这一次，首次登录后须修改的为一次性密码）：")
    for username, pw in passwords.items():
        print(f"  {username}\t{pw}")


def cmd_users_reset(args: argparse.Namespace) -> None:
    from civeval import auth

    try:
        pw = auth.reset_password(_engine(args), CLI_ACTOR, args.username)
    except auth.AccountError as e:
        raise CliError(str(e)) from None
    print(f"已重置 {args.username} 的密码并解除锁定。一次性密码（只显示这一次，登录后须修改）：{pw}")


def cmd_users_list(args: argparse.Namespace) -> None:
    from civeval import auth

    with _engine(args).connect() as conn:
        for u in auth.list_users(conn, CLI_ACTOR):
            state = "启用" if u.active else "停用"
            print(f"{u.username}\t{u.display_name}\t{u.roles_label}\t{state}")


def cmd_users_template(args: argparse.Namespace) -> None:
    from civeval import users_workbook

    users_workbook.write_users_template(Path(args.out))
    print(f"已写出用户导入模板 {args.out}")


def _find_round_id(engine: sa.Engine, ref: str) -> int:
    """A round named by id or by name."""
    from civeval import rounds

    with engine.connect() as conn:
        infos = rounds.list_rounds(conn, CLI_ACTOR)
    if ref.isdigit() and any(i.id == int(ref) for i in infos):
        return int(ref)
    matches = [i for i in infos if i.name == ref.strip()]
    if len(matches) == 1:
        return matches[0].id
    if not matches:
        known = "；".join(f"{i.id}={i.name}" for i in infos[:20]) or "无"
        raise CliError(f"找不到测评轮次“{ref}”。已有：{known}")
    raise CliError(f"有 {len(matches)} 个测评轮次名为“{ref}”，请用编号：{'、'.join(str(i.id) for i in matches)}")


def cmd_round_list(args: argparse.Namespace) -> None:
    from civeval import rounds

    with _engine(args).connect() as conn:
        infos = rounds.list_rounds(conn, CLI_ACTOR)
    if not infos:
        print("尚无测评轮次。")
    for i in infos:
        print(
            f"{i.id}\t{i.name}\t{i.kind.label}\t{i.status.label}\t{i.start_date} 至 {i.end_date}\t"
            f"点位 {i.n_points} 个，已提交 {i.n_submitted} 个"
        )


def cmd_round_sheets(args: argparse.Namespace) -> None:
    from civeval import paper, rounds

    engine = _engine(args)
    round_id = _find_round_id(engine, args.round)
    try:
        paths = paper.write_round_sheets(engine, CLI_ACTOR, round_id, Path(args.out))
    except rounds.RoundError as e:
        raise CliError(str(e)) from None
    print(f"已写出离线测评表 {len(paths)} 份：")
    for path in paths:
        print(f"  {path}")


def cmd_round_import_sheet(args: argparse.Namespace) -> None:
    from civeval import paper, rounds
    from civeval.permissions import PermissionDenied
    from civeval.workbook import WorkbookInvalid

    try:
        done = paper.import_round_sheet(_engine(args), CLI_ACTOR, Path(args.file), overwrite=args.overwrite)
    except WorkbookInvalid as e:
        for p in e.problems:
            print(p)
        print("未导入任何内容。", file=sys.stderr)
        raise SystemExit(1) from None
    except (rounds.RoundError, PermissionDenied) as e:
        raise CliError(f"{e}。未导入任何内容。") from None
    print(f"{done.file}：{done.round_name}（轮次 {done.round_id}），测评员 {done.inspector}")
    print(done.summary())
    if done.conflicts:
        if done.pending:
            print("冲突：以下答案在写出本表后已在系统中改过，与纸质表不同，未导入（以纸质表为准请加 --overwrite）：")
        else:
            print("冲突：以下答案在写出本表后已在系统中改过，已按纸质表覆盖（操作日志保留原答案）：")
        for c in done.conflicts:
            print(f"  {c}")


# --- findings: list, supervision notices, red/black lists; round metrics ------------------------------------


def _date(text: str):
    """An argparse type: an ISO date."""
    import datetime as dt

    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期“{text}”无效，须写成 YYYY-MM-DD") from None


def _today():

    from civeval import audit

    return audit.today()


def cmd_findings_list(args: argparse.Namespace) -> None:
    from civeval import findings
    from civeval.models import FindingStatus

    statuses: list[FindingStatus] = []
    for text in args.status or []:
        if text.strip().lower() in ("open", "未销号"):
            statuses += sorted(findings.OPEN_STATES)
            continue
        status = FindingStatus.parse(text)
        if status is None:
            raise CliError(f"状态“{text}”无效，可选：{'、'.join(FindingStatus.labels())}、未销号")
        statuses.append(status)
    today = _today()
    with _engine(args).connect() as conn:
        if args.unit and args.unit not in repo.unit_names(conn):
            raise CliError(f"单位“{args.unit}”不在单位名录中")
        found = findings.list_findings(conn, CLI_ACTOR, statuses=statuses, unit=args.unit)
    if not found:
        print("没有符合条件的问题。")
        return
    for f in found:
        point = " ".join(x for x in (f.point_code, f.point_name) if x) or "—"
        late = f.days_overdue(today)
        text = f.description if len(f.description) <= 40 else f.description[:39] + "…"
        print(
            f"{f.code}\t{f.status.label}\t{f.unit}\t{point}\t期限 {f.deadline.isoformat()}"
            f"\t{f'逾期 {late} 天' if late else '—'}\t{text}"
        )
    print(f"共 {len(found)} 件")


def cmd_findings_notice(args: argparse.Namespace) -> None:
    from civeval import notices
    from civeval.findings import FindingError
    from civeval.permissions import PermissionDenied

    try:
        n = notices.write_notice(_engine(args), CLI_ACTOR, args.unit, Path(args.out), today=args.as_of)
    except (FindingError, PermissionDenied) as e:
        raise CliError(str(e)) from None
    what = f"未销号问题 {n} 件" if n else "没有未销号的问题"
    print(f"已写出督办单 {args.out}：{args.unit}，{what}")


def cmd_findings_redblack(args: argparse.Namespace) -> None:
    from civeval import redblack, rounds
    from civeval.metrics import percent
    from civeval.permissions import PermissionDenied

    engine = _engine(args)
    try:
        rules = redblack.read_rules(args.rules) if args.rules else redblack.Rules()
    except redblack.RulesError as e:
        raise CliError(str(e)) from None
    round_id = _find_round_id(engine, args.round) if args.round else None
    try:
        result = redblack.red_black(
            engine,
            CLI_ACTOR,
            as_of=args.as_of or _today(),
            period_start=args.since,
            round_id=round_id,
            rules=rules,
        )
    except (rounds.RoundError, PermissionDenied) as e:
        raise CliError(str(e)) from None
    head = f"红黑榜（统计截至 {result.as_of.isoformat()}"
    if result.period_start:
        head += f"，自 {result.period_start.isoformat()} 起登记的问题"
    if result.round_name:
        head += f"；得分率取自“{result.round_name}”"
    print(head + f"；参与评定单位 {result.units} 个）")
    for line in result.rules.describe() + result.notes:
        print(f"  {line}")
    for title, entries in (("红榜", result.red), ("黑榜", result.black)):
        print(f"{title}（{len(entries)} 个单位）：")
        for n, e in enumerate(entries, 1):
            m = e.metrics
            figures = "本期无问题"
            if m:
                figures = f"应整改 {m.due} 件，整改率 {percent(m.rectification_rate)}，逾期 {m.overdue} 件"
            print(f"  {n}. {e.unit}：{e.reason}（{figures}）")
        if not entries:
            print("  （无）")
    if args.out:
        redblack.write_red_black(result, Path(args.out))
        print(f"已写出 {args.out}")


def cmd_materials_breakdown(args: argparse.Namespace) -> None:
    from civeval import materials
    from civeval.permissions import PermissionDenied

    engine = _engine(args)
    if args.index:
        index_id = _find_index_id(engine, args.index)
    else:
        with engine.connect() as conn:
            infos = repo.list_indexes(conn)
        if not infos:
            raise CliError("还没有测评体系，请先导入（criteria import）")
        index_id = max(i.id for i in infos)
    try:
        added = materials.refresh_breakdown(engine, CLI_ACTOR, index_id, due_date=args.due)
        with engine.connect() as conn:
            n = materials.write_task_breakdown(conn, CLI_ACTOR, index_id, Path(args.out), unit=args.unit)
    except (materials.MaterialsError, PermissionDenied) as e:
        raise CliError(str(e)) from None
    scope = args.unit or "全部单位"
    print(f"已写出材料任务分解清单 {args.out}：{scope}，任务 {n} 项" + (f"（本次新生成 {added} 项）" if added else ""))


def cmd_metrics(args: argparse.Namespace) -> None:
    import json

    from civeval import metrics

    engine = _engine(args)
    round_id = _find_round_id(engine, args.round)
    with engine.connect() as conn:
        report = metrics.round_report(conn, CLI_ACTOR, round_id, args.as_of or _today())
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print("\n".join(metrics.report_lines(report)))


# --- report: the bulletin (测评通报) of a round as an Excel workbook ------------------------------------------------


def cmd_report(args: argparse.Namespace) -> None:
    from civeval import bulletin, dashboard, rounds
    from civeval.permissions import PermissionDenied

    engine = _engine(args)
    round_id = _find_round_id(engine, args.round)
    try:
        done = bulletin.write_bulletin(engine, CLI_ACTOR, round_id, Path(args.out), as_of=args.as_of or _today())
    except (bulletin.BulletinError, rounds.RoundError, dashboard.DashboardError, PermissionDenied) as e:
        raise CliError(str(e)) from None
    size = f"{done.size / 1024:.0f} KB" if done.size is not None else "—"
    print(
        f"已写出测评通报 {args.out}：{done.round_name}，整改情况统计截至 {done.as_of.isoformat()}；"
        f"工作表 {len(done.sheets)} 个（{'、'.join(done.sheet_names)}），问题 {done.findings} 件，{size}"
    )


def _add_report_parser(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "report",
        parents=[common],
        help="写出一个测评轮次的测评通报（Excel：封面和指标口径、排名、失分、趋势、问题清单、整改台账、各街道）",
    )
    p.add_argument("--round", metavar="R", required=True, help="测评轮次编号或名称")
    p.add_argument("--out", metavar="FILE.xlsx", required=True, help="输出文件")
    p.add_argument("--as-of", metavar="DATE", type=_date, default=None, help="整改情况统计截至日期（默认今天）")
    p.set_defaults(func=cmd_report)


# --- survey: import answers, rates (问卷调查) ------------------------------------------------------------------


def cmd_survey_import(args: argparse.Namespace) -> None:
    from civeval import survey
    from civeval.workbook import WorkbookInvalid

    engine = _engine(args)
    try:
        with engine.connect() as conn:
            qid = survey.find_questionnaire(conn, args.questionnaire)
        path = Path(args.file)
        done = survey.import_answers(engine, CLI_ACTOR, qid, path.name, path.read_bytes())
    except survey.SurveyError as e:
        raise CliError(str(e)) from None
    except WorkbookInvalid as e:
        for p in e.problems:
            print(p)
        print("未导入任何内容。", file=sys.stderr)
        raise SystemExit(1) from None
    options = survey.field_options(_questionnaire(engine, qid))
    print("列对应：")
    for header, field in done.mapping.items():
        if field:
            print(f"  {header} → {options.get(field, field)}")
    for w in done.warnings:
        print(f"注意：{w}")
    print(f"{done.summary}（文件 {path.name}，列对应已保存到问卷）")


def _questionnaire(engine: sa.Engine, qid: int):
    from civeval import survey

    with engine.connect() as conn:
        return survey.get_questionnaire(conn, CLI_ACTOR, qid)


def cmd_survey_rates(args: argparse.Namespace) -> None:
    import json

    from civeval import survey

    engine = _engine(args)
    try:
        with engine.connect() as conn:
            qid = survey.find_questionnaire(conn, args.questionnaire)
            report = survey.report(conn, CLI_ACTOR, qid, by=args.by)
    except survey.SurveyError as e:
        raise CliError(str(e)) from None
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    pct, score = survey.percent, survey.score_text

    def line(g: dict) -> str:
        quota = "未设人口" if g["quota"] is None else f"配额 {g['quota']}，覆盖率 {pct(g['coverage'])}"
        return (
            f"{g['name']}\t有效 {g['valid']} 份（无效 {g['invalid']}）\t知晓率 {pct(g['awareness_rate'])}\t"
            f"支持率 {pct(g['support_rate'])}\t参与率 {pct(g['participation_rate'])}\t满意度 {score(g['satisfaction'])}"
            f"\t{quota}"
        )

    print(f"问卷：{report['questionnaire']['name']}")
    print(line(report["overall"]))
    for g in report.get("groups", []):
        print(line(g))


# --- suggestions: the ledger and its rates (意见建议) ----------------------------------------------------------


def cmd_suggestions_list(args: argparse.Namespace) -> None:
    from civeval import audit, suggestions

    statuses = []
    for text in args.status or []:
        status = suggestions.SuggestionStatus.parse(text)
        if status is None:
            raise CliError(f"状态“{text}”无效，可选：{'、'.join(suggestions.SuggestionStatus.labels())}")
        statuses.append(status)
    with _engine(args).connect() as conn:
        found = suggestions.list_suggestions(conn, CLI_ACTOR, statuses=statuses)
    if not found:
        print("没有符合条件的意见建议。")
        return
    for s in found:
        text = s.content if len(s.content) <= 40 else s.content[:39] + "…"
        fields = [
            s.code,
            s.stage(),
            s.channel.label,
            audit.local_date(s.received_at).isoformat(),
            s.street or "—",
            s.category,
            f"{s.finding_code}（{s.finding_unit}）" if s.finding_code else "—",
            text.replace("\n", " "),
        ]
        print("\t".join(fields))


def cmd_suggestions_metrics(args: argparse.Namespace) -> None:
    import json

    from civeval import suggestions

    with _engine(args).connect() as conn:
        report = suggestions.report(conn, CLI_ACTOR, args.as_of or _today())
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print("\n".join(suggestions.report_lines(report)))


# --- backup, restore, check ---------------------------------------------------------------------------------


def cmd_backup(args: argparse.Namespace) -> None:
    from civeval import maintenance

    try:
        engine = maintenance.connect(args.db)  # as it is: a backup does not migrate
        try:
            report = maintenance.backup(engine, args.out, force=args.force)  # "dir/" names a folder
        finally:
            engine.dispose()
    except maintenance.MaintenanceError as e:
        raise CliError(str(e)) from None
    print("\n".join(report.lines()))


def cmd_restore(args: argparse.Namespace) -> None:
    from civeval import maintenance

    try:
        report = maintenance.restore(args.db, Path(args.file), force=args.force, actor=CLI_ACTOR)
    except maintenance.MaintenanceError as e:
        raise CliError(str(e)) from None
    print("\n".join(report.lines()))


def cmd_check(args: argparse.Namespace) -> None:
    from civeval import maintenance

    try:
        engine = maintenance.connect(args.db)  # as it is: checking must not migrate
    except maintenance.MaintenanceError as e:
        raise CliError(str(e)) from None
    try:
        report = maintenance.check(engine, verify_photos=args.verify_photos)
    finally:
        engine.dispose()
    print("\n".join(report.lines()))
    if not report.ok:
        raise SystemExit(1)


# --- parser ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    db_help = f"数据库 URL（默认：环境变量 CIVEVAL_DATABASE_URL，或 {default_url()}）"
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", metavar="URL", default=None, help=db_help)

    parser = argparse.ArgumentParser(
        prog="python -m civeval", description="civeval：文明城市测评 测评体系、点位、测评与整改", parents=[common]
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", parents=[common], help="创建或升级数据库，显示其中的数据量")
    p.set_defaults(func=cmd_init)

    crit = sub.add_parser("criteria", parents=[common], help="测评体系：校验、导入、导出、模板、列表")
    csub = crit.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = csub.add_parser("validate", parents=[common], help="校验测评体系文件（.xlsx 或 .yaml），逐条列出问题")
    p.add_argument("file", help="测评体系文件")
    p.set_defaults(func=cmd_criteria_validate)
    p = csub.add_parser("import", parents=[common], help="校验并导入测评体系；有任何问题则不导入")
    p.add_argument("file", help="测评体系文件（.xlsx 或 .yaml）")
    p.add_argument("--replace", action="store_true", help="替换同名同版本的测评体系")
    p.set_defaults(func=cmd_criteria_import)
    p = csub.add_parser("export", parents=[common], help="导出测评体系到 .xlsx 或 .yaml")
    p.add_argument("index", help="测评体系编号、名称，或 名称:版本")
    p.add_argument("out", help="输出文件（.xlsx 或 .yaml）")
    p.set_defaults(func=cmd_criteria_export)
    p = csub.add_parser("template", parents=[common], help="写出空白测评体系模板（含示例行、下拉选项、填写说明）")
    p.add_argument("out", help="输出文件 .xlsx")
    p.set_defaults(func=cmd_criteria_template)
    p = csub.add_parser("list", parents=[common], help="列出已导入的测评体系")
    p.set_defaults(func=cmd_criteria_list)

    for kind, label in (("units", "单位"), ("points", "点位")):
        reg = sub.add_parser(kind, parents=[common], help=f"{label}名录：导入、导出、模板")
        rsub = reg.add_subparsers(dest="action", required=True, metavar="ACTION")
        p = rsub.add_parser("import", parents=[common], help=f"校验并导入{label}名录；有任何问题则不导入")
        p.add_argument("file", help=f"{label}名录 .xlsx")
        p.set_defaults(kind=kind, action_name="import")
        p = rsub.add_parser("export", parents=[common], help=f"导出{label}名录到 .xlsx")
        p.add_argument("out", help="输出文件 .xlsx")
        p.set_defaults(kind=kind, action_name="export")
        p = rsub.add_parser("template", parents=[common], help=f"写出空白{label}名录模板")
        p.add_argument("out", help="输出文件 .xlsx")
        p.set_defaults(kind=kind, action_name="template")

    users = sub.add_parser("users", parents=[common], help="用户：创建管理员、新增、导入、重置密码、列表")
    usub = users.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = usub.add_parser("create-admin", parents=[common], help="创建管理员（默认生成一次性密码，首次登录须修改）")
    p.add_argument("--username", default="admin", help="用户名（默认 admin）")
    p.add_argument("--name", default="创文办管理员", help="姓名")
    p.add_argument("--password-stdin", action="store_true", help="从标准输入读一行作为初始密码（不在命令行上出现）")
    p.set_defaults(func=cmd_users_create_admin)
    p = usub.add_parser("add", parents=[common], help="新增用户，生成一次性密码")
    p.add_argument("username", help="用户名")
    p.add_argument("--name", default="", help="姓名")
    p.add_argument(
        "--role",
        action="append",
        required=True,
        metavar="角色[@范围单位]",
        help="角色，可多次：如 测评员、单位联络员@县城市管理局、街道协调员@城关街道、领导",
    )
    p.add_argument("--email", default=None, help="邮箱（统一身份认证按邮箱对应账户）")
    p.add_argument("--phone", default="", help="手机")
    p.set_defaults(func=cmd_users_add)
    p = usub.add_parser("import", parents=[common], help="从 Excel 批量导入用户；有任何问题则不导入")
    p.add_argument("file", help="用户 .xlsx")
    p.set_defaults(func=cmd_users_import)
    p = usub.add_parser("reset-password", parents=[common], help="重置用户密码（生成一次性密码）并解除锁定")
    p.add_argument("username", help="用户名")
    p.set_defaults(func=cmd_users_reset)
    p = usub.add_parser("list", parents=[common], help="列出用户和角色")
    p.set_defaults(func=cmd_users_list)
    p = usub.add_parser("template", parents=[common], help="写出空白用户导入模板")
    p.add_argument("out", help="输出文件 .xlsx")
    p.set_defaults(func=cmd_users_template)

    rnd = sub.add_parser("round", parents=[common], help="测评轮次：列表、写出离线测评表、导入纸质测评表")
    rsub = rnd.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = rsub.add_parser("list", parents=[common], help="列出测评轮次（编号、名称、类型、状态、日期、点位数）")
    p.set_defaults(func=cmd_round_list)
    p = rsub.add_parser(
        "sheets", parents=[common], help="为断网时使用，按测评员各写出一份离线测评表（.xlsx，可打印或在 Excel 中填写）"
    )
    p.add_argument("round", metavar="ROUND", help="测评轮次编号或名称")
    p.add_argument("--out", required=True, metavar="DIR", help="输出目录（不存在则创建）")
    p.set_defaults(func=cmd_round_sheets)
    p = rsub.add_parser(
        "import-sheet", parents=[common], help="导入填好的离线测评表；逐格核对，有任何问题则一条也不导入"
    )
    p.add_argument("file", metavar="FILE", help="填好的离线测评表 .xlsx")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="写出后已在系统中改过的答案（冲突）也按纸质表覆盖，事由记为“纸质表覆盖”",
    )
    p.set_defaults(func=cmd_round_import_sheet)

    fnd = sub.add_parser("findings", parents=[common], help="问题清单：列表、督办单、红黑榜")
    fsub = fnd.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = fsub.add_parser("list", parents=[common], help="列出问题（编号、状态、责任单位、点位、期限、逾期天数、描述）")
    p.add_argument("--unit", metavar="U", default=None, help="只列此责任单位的问题")
    p.add_argument(
        "--status",
        metavar="S",
        action="append",
        help="只列此状态的问题，可多次：已交办、整改中、待复查、已销号、长效整改、已作废，或 未销号（前三者）",
    )
    p.set_defaults(func=cmd_findings_list)
    p = fsub.add_parser(
        "notice", parents=[common], help="为一个责任单位写出督办单（.xlsx，A4 打印：未销号问题及整改前照片、签收栏）"
    )
    p.add_argument("--unit", metavar="U", required=True, help="责任单位名称")
    p.add_argument("--out", metavar="FILE.xlsx", required=True, help="输出文件")
    p.add_argument("--as-of", metavar="DATE", type=_date, default=None, help="出具日期，逾期天数按此计算（默认今天）")
    p.set_defaults(func=cmd_findings_notice)
    p = fsub.add_parser("redblack", parents=[common], help="按规则评出红黑榜（整改率、逾期件数、测评轮次得分率）")
    p.add_argument("--as-of", metavar="DATE", type=_date, default=None, help="统计截至日期（默认今天）")
    p.add_argument("--since", metavar="DATE", type=_date, default=None, help="只计此日期起登记的问题（默认全部）")
    p.add_argument("--round", metavar="R", default=None, help="测评轮次编号或名称：按其单位得分率评黑榜")
    p.add_argument("--rules", metavar="FILE", default=None, help="规则文件（.yaml 或 .toml，见 civeval/redblack.py）")
    p.add_argument("--out", metavar="FILE.xlsx", default=None, help="同时写出 Excel（A4，写明规则和口径）")
    p.set_defaults(func=cmd_findings_redblack)

    mat = sub.add_parser("materials", parents=[common], help="材料审核：任务分解清单")
    msub = mat.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = msub.add_parser(
        "breakdown",
        parents=[common],
        help="生成（补充）材料任务分解清单并写出 Excel（A4 横向；全部单位时另每个单位一个工作表）",
    )
    p.add_argument("--out", metavar="FILE.xlsx", required=True, help="输出文件")
    p.add_argument("--unit", metavar="U", default=None, help="只写出此责任单位的任务")
    p.add_argument("--index", metavar="I", default=None, help="测评体系编号、名称或 名称:版本（默认最新导入的）")
    p.add_argument("--due", metavar="DATE", type=_date, default=None, help="新生成任务的完成时限（已有任务不变）")
    p.set_defaults(func=cmd_materials_breakdown)

    p = sub.add_parser(
        "metrics", parents=[common], help="一个测评轮次的得分率和整改指标（总体、各街道、各单位），可输出 JSON"
    )
    p.add_argument("--round", metavar="R", required=True, help="测评轮次编号或名称")
    p.add_argument("--as-of", metavar="DATE", type=_date, default=None, help="整改指标统计截至日期（默认今天）")
    p.add_argument("--json", action="store_true", help="输出 JSON（键名见 README“metrics --json”）")
    p.set_defaults(func=cmd_metrics)
    _add_report_parser(sub, common)

    srv = sub.add_parser("survey", parents=[common], help="问卷调查：导入答卷、知晓率等比率和配额覆盖率")
    ssub = srv.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = ssub.add_parser(
        "import", parents=[common], help="导入问卷平台导出的答卷（.xlsx 或 .csv，每行一份）；有任何问题则一份也不导入"
    )
    p.add_argument("--questionnaire", metavar="Q", required=True, help="问卷编号或名称")
    p.add_argument("file", metavar="FILE", help="答卷文件 .xlsx 或 .csv（UTF-8 或 GBK）")
    p.set_defaults(func=cmd_survey_import)
    p = ssub.add_parser("rates", parents=[common], help="知晓率、支持率、参与率、满意度和配额覆盖率")
    p.add_argument("--questionnaire", metavar="Q", required=True, help="问卷编号或名称")
    p.add_argument(
        "--by", choices=["street", "community", "unit"], default=None, help="分组：街道（镇）、社区（村）或单位"
    )
    p.add_argument("--json", action="store_true", help="输出 JSON（比率为 0..1 的小数，满意度为 0–100 的分数）")
    p.set_defaults(func=cmd_survey_rates)

    sug = sub.add_parser("suggestions", parents=[common], help="群众意见建议：台账、办结率和答复率")
    gsub = sug.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = gsub.add_parser(
        "list", parents=[common], help="列出意见建议（编号、办理情况、渠道、收到日期、街道、类别、问题、内容）"
    )
    p.add_argument(
        "--status", action="append", metavar="S", help="只列此状态：已登记、已交办、已答复、不予交办、已作废（可重复）"
    )
    p.set_defaults(func=cmd_suggestions_list)
    p = gsub.add_parser("metrics", parents=[common], help="办结率、答复率和交办问题的整改率（总体、各街道、各类别）")
    p.add_argument("--as-of", metavar="DATE", type=_date, default=None, help="统计截至日期（默认今天）")
    p.add_argument("--json", action="store_true", help="输出 JSON（比率为 0..1 的小数）")
    p.set_defaults(func=cmd_suggestions_metrics)

    p = sub.add_parser("demo", parents=[common], help="向空数据库装入示例测评体系和演示城市")
    p.add_argument("--seed", type=int, default=1, help="随机种子：同一种子得到同一城市（默认 1）")
    p.add_argument(
        "--scale", choices=["county", "city"], default="county", help="county：县级约 400 个点位；city：地级约 6000 个"
    )
    p.add_argument("--if-empty", action="store_true", help="数据库非空时不报错，直接跳过")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "backup", parents=[common], help="把数据库、照片和材料文件备份为一个 .zip 文件（应用运行时也可备份，内容一致）"
    )
    p.add_argument("out", metavar="OUT", help="备份文件（.zip）；给出目录则在其中按时间命名")
    p.add_argument("--force", action="store_true", help="覆盖已存在的备份文件")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser(
        "restore",
        parents=[common],
        help="从备份文件恢复数据库、照片和材料文件（先逐项核对备份文件，再替换；之后自动升级数据库）",
    )
    p.add_argument("file", metavar="IN", help="backup 写出的备份文件（.zip）")
    p.add_argument("--force", action="store_true", help="目标数据库已有数据时也替换（其中数据将全部被备份内容取代）")
    p.set_defaults(func=cmd_restore)
    p = sub.add_parser(
        "check",
        parents=[common],
        help="检查数据库：完整性、数据库版本、操作日志保护、每张照片和每个材料文件的文件或内容；有失败项时退出码为 1",
    )
    p.add_argument("--verify-photos", action="store_true", help="逐一读取照片和材料文件的内容核对校验值（较慢）")
    p.set_defaults(func=cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Options given before the sub-command still count (`--db URL criteria list`).
    if args.db is None:
        args.db = _pre_db(argv)
    try:
        if hasattr(args, "action_name"):
            _register_commands(args.kind)[args.action_name](args)
        else:
            args.func(args)
    except CliError as e:
        print(f"错误：{e}", file=sys.stderr)
        return 1
    except FileNotFoundError as e:
        print(f"错误：找不到文件 {e.filename}", file=sys.stderr)
        return 1
    return 0


def _pre_db(argv: Sequence[str] | None) -> str | None:
    argv = list(sys.argv[1:] if argv is None else argv)
    for i, a in enumerate(argv):
        if a == "--db" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--db="):
            return a.split("=", 1)[1]
    return None
