"""The application log: one JSON object per line, through the standard ``logging`` module.

Each line holds ``time`` (UTC, ISO 8601), ``level``, ``event`` (a short English name: ``login``, ``answer_saved``,
``finding_transition``, ``import``, ``backup``, ``error`` …), and as far as known ``user``, ``action`` (what was
attempted, in Chinese as the interface says it), ``outcome`` (``ok``, ``refused``, ``error``), ``detail`` and, for
errors, ``error_id`` (the number shown to the user) and ``exception`` (the traceback). There is no request in
the context: whoever logs says who acted.

The library logs a few key moments with :func:`event`; :func:`failure` records an unexpected exception and
returns the id to show. :func:`configure` (called by app.py) sends the ``civeval`` loggers, and the pages'
(Streamlit runs them as ``__main__``), to ``CIVEVAL_LOG_FILE`` (default ``civeval.log`` beside the SQLite
database; standard error for PostgreSQL, or when the variable is ``-``) at ``CIVEVAL_LOG_LEVEL`` (default
``INFO``). Calling it again changes nothing unless those settings changed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
import sys
import threading
from pathlib import Path
from typing import Any

LOGGER = "civeval"
# Streamlit runs app.py and each page file as the module __main__: a page's logging.getLogger(__name__) is this one.
PAGE_LOGGER = "__main__"
FIELDS = ("user", "action", "outcome", "detail", "error_id")
_DEFAULT_FILE = "civeval.log"
_lock = threading.Lock()
_installed: dict[str, Any] = {}  # the handler configure() added, and the settings it was made for

log = logging.getLogger(LOGGER)


class JsonLines(logging.Formatter):
    """A record as one JSON object (UTF-8 text kept as is)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "event": getattr(record, "event", None) or "message",
            "logger": record.name,
        }
        for key in FIELDS:
            value = getattr(record, key, None)
            if value not in (None, ""):
                entry[key] = value
        if "detail" not in entry and not hasattr(record, "event"):
            entry["detail"] = record.getMessage()  # a plain log.warning("…") from anywhere in civeval
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def _user(user: Any) -> str | None:
    """A username from an Actor, a string or None."""
    if user is None:
        return None
    return getattr(user, "username", None) or str(user)


def event(
    name: str,
    *,
    user: Any = None,
    action: str = "",
    outcome: str = "ok",
    detail: Any = None,
    level: int = logging.INFO,
) -> None:
    """Log one thing that happened: ``logs.event("login", user="wang", outcome="refused", detail="密码错误")``."""
    log.log(
        level,
        "%s %s",
        name,
        outcome,
        extra={"event": name, "user": _user(user), "action": action, "outcome": outcome, "detail": detail},
    )


def new_error_id() -> str:
    """A short id to quote to the user and to find the log line by (8 characters, unambiguous)."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(8))


def failure(exc: BaseException, *, user: Any = None, action: str = "", detail: Any = None) -> str:
    """Log an unexpected exception with its traceback; returns the error id to show the user."""
    error_id = new_error_id()
    log.error(
        "%s: %s",
        type(exc).__name__,
        exc,
        exc_info=(type(exc), exc, exc.__traceback__),
        extra={
            "event": "error",
            "user": _user(user),
            "action": action,
            "outcome": "error",
            "detail": detail if detail is not None else f"{type(exc).__name__}: {exc}"[:2000],
            "error_id": error_id,
        },
    )
    return error_id


# --- configuration ---------------------------------------------------------------------------------------


def log_level() -> int:
    """CIVEVAL_LOG_LEVEL as a logging level (a name such as DEBUG, INFO, WARNING, or a number); INFO otherwise."""
    value = os.environ.get("CIVEVAL_LOG_LEVEL", "").strip().upper() or "INFO"
    if value.isdigit():
        return int(value)
    level = logging.getLevelName(value)
    return level if isinstance(level, int) else logging.INFO


def log_target() -> str:
    """Where the log goes: CIVEVAL_LOG_FILE; else civeval.log beside the SQLite database; "-" (standard error)
    for a database that is not a SQLite file."""
    value = os.environ.get("CIVEVAL_LOG_FILE", "").strip()
    if value:
        return value
    from civeval.store.db import default_url  # here: the store is not needed to format a log line

    url = default_url()
    if url.startswith("sqlite:///") and ":memory:" not in url:
        return str(Path(url.removeprefix("sqlite:///")).resolve().parent / _DEFAULT_FILE)
    return "-"


def _handler(target: str) -> logging.Handler:
    if target in ("-", "stderr"):
        return logging.StreamHandler(sys.stderr)
    path = Path(target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return logging.FileHandler(path, encoding="utf-8")
    except OSError as e:  # a read-only disk must not stop the app: log to standard error instead
        print(f"civeval: 无法写入日志文件 {path}（{e}），改为输出到标准错误", file=sys.stderr)
        return logging.StreamHandler(sys.stderr)


def configure() -> logging.Logger:
    """Send the ``civeval`` log to its target as JSON lines (once; again only when the settings changed)."""
    level, target = log_level(), log_target()
    with _lock:
        if _installed.get("settings") == (level, target):
            return log
        old = _installed.pop("handler", None)
        handler = _handler(target)
        handler.setFormatter(JsonLines())
        for logger in (log, logging.getLogger(PAGE_LOGGER)):
            if old is not None:
                logger.removeHandler(old)
            logger.addHandler(handler)
            logger.setLevel(level)
        if old is not None:
            old.close()
        _installed.update(handler=handler, settings=(level, target))
    return log


def reset() -> None:
    """Remove what :func:`configure` added (tests; a process that wants to reconfigure from scratch)."""
    with _lock:
        handler = _installed.pop("handler", None)
        _installed.pop("settings", None)
        for logger in (log, logging.getLogger(PAGE_LOGGER)):
            if handler is not None:
                logger.removeHandler(handler)
            logger.setLevel(logging.NOTSET)
        if handler is not None:
            handler.close()


def log_file() -> Path | None:
    """The file the log is written to, once configured (None: standard error, or not configured)."""
    handler = _installed.get("handler")
    return Path(handler.baseFilename) if isinstance(handler, logging.FileHandler) else None
