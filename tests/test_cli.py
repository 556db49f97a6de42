"""The CLI end to end, as a user types it: real processes, real database files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, db: Path, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "civeval", *args, "--db", f"sqlite:///{db}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
    )


def test_every_command_has_help():
    for cmd in (
        [],
        ["init"],
        ["criteria"],
        ["criteria", "validate"],
        ["criteria", "import"],
        ["criteria", "export"],
        ["criteria", "template"],
        ["units", "import"],
        ["points", "import"],
        ["demo"],
        ["users"],
        ["users", "create-admin"],
        ["users", "add"],
        ["users", "import"],
        ["users", "reset-password"],
    ):
        out = subprocess.run(
            [sys.executable, "-m", "civeval", *cmd, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0 and "--db" in out.stdout, cmd


def test_init_demo_export_validate_import(tmp_path):
    db = tmp_path / "c.db"
    first = run("init", db=db)
    assert first.returncode == 0 and "一次性密码" in first.stdout
    assert "一次性密码" not in run("init", db=db).stdout  # only on the first run
    demo = run("demo", "--seed", "3", db=db)
    assert demo.returncode == 0 and "点位 " in demo.stdout and "用户名 inspector" in demo.stdout
    out = tmp_path / "idx.xlsx"
    assert run("criteria", "export", "1", str(out), db=db).returncode == 0
    valid = run("criteria", "validate", str(out), db=db)
    assert valid.returncode == 0 and "测评标准 189 条" in valid.stdout
    again = run("criteria", "import", str(out), db=db)
    assert again.returncode == 1 and "已存在" in again.stderr
    replace = run("criteria", "import", "--replace", str(out), db=db)  # the demo's rounds score against it
    assert replace.returncode == 1 and "测评轮次使用" in replace.stderr and "Traceback" not in replace.stderr


def test_validate_prints_located_lines_and_exits_1(tmp_path):
    import openpyxl

    db = tmp_path / "c.db"
    bad = tmp_path / "测评体系.xlsx"
    assert run("criteria", "template", str(bad), db=db).returncode == 0
    wb = openpyxl.load_workbook(bad)
    ws = wb["测评标准"]
    col = next(c.column for c in ws[1] if c.value == "分值")
    ws.cell(row=2, column=col, value="二")
    wb.save(bad)
    out = run("criteria", "validate", str(bad), db=db)
    assert out.returncode == 1
    assert f"测评体系.xlsx:测评标准:R2:C{col}: 分值“二”不是数字" in out.stdout.splitlines()


def test_create_admin_from_stdin_never_echoes_the_password(tmp_path):
    db = tmp_path / "c.db"
    out = run("users", "create-admin", "--username", "boss", "--password-stdin", db=db, stdin="Chief-pass-123\n")
    assert out.returncode == 0 and "Chief-pass-123" not in out.stdout + out.stderr
    listed = run("users", "list", db=db)
    assert "boss" in listed.stdout
