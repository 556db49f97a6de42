"""Small helpers for the office's printable workbooks written with xlsxwriter (notices, red/black lists, bulletins):
how wide Chinese text is in Excel's character units, valid and unique sheet names, the A4 page set-up every printed
sheet shares, and a worksheet that streams the rows of long tables quickly.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

SHEET_NAME_MAX = 31  # Excel's limit
_SHEET_BAD = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
_RESERVED_SHEET_NAMES = {"history"}  # Excel keeps "History" for itself

A4 = 9  # xlsxwriter's paper code
FOOTER_PAGES = "&C&9第 &P 页，共 &N 页"
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def text_width(text: str) -> int:
    """Display width of ``text`` in Excel character units: a Chinese (East Asian wide) character counts two, an
    ASCII one one. Computed from the UTF-8 length (a CJK character takes three bytes, ASCII one), which is fast for
    the long sheets; full-width punctuation, "—" and "…" count two too, as Chinese fonts draw them."""
    if not text:
        return 0
    return (len(text.encode("utf-8")) + len(text)) // 2


def text_lines(text: str, width: float) -> int:
    """Printed lines of ``text`` (which may hold line breaks) in a wrapped column ``width`` characters wide."""
    if not text:
        return 1
    per_line = max(1.0, width - 1)  # the cell's padding
    return sum(max(1, math.ceil(text_width(line) / per_line)) for line in str(text).split("\n"))


def column_width(widths: Iterable[int], *, minimum: float = 4, maximum: float = 60, padding: float = 2) -> float:
    """A column's width from the widths of its texts (header included): the widest plus padding, within bounds."""
    return min(maximum, max(minimum, max(widths, default=0) + padding))


def sheet_name(name: str, taken: set[str], *, fallback: str = "工作表") -> str:
    """A valid worksheet name for ``name``, not yet in ``taken`` (compared case-insensitively, as Excel does), and
    added to it: the characters []:*?/\\ become "_", apostrophes are trimmed from the ends, at most 31 characters;
    a clash gets "(2)", "(3)" … at the end."""
    base = _SHEET_BAD.sub("_", str(name)).strip().strip("'").strip() or fallback
    base = _truncate(base, SHEET_NAME_MAX)
    folded = {t.casefold() for t in taken}
    candidate, n = base, 2
    while candidate.casefold() in folded or candidate.casefold() in _RESERVED_SHEET_NAMES:
        suffix = f"({n})"
        candidate = _truncate(base, SHEET_NAME_MAX - len(suffix)).rstrip("'") + suffix
        n += 1
    taken.add(candidate)
    return candidate


def _truncate(text: str, limit: int) -> str:
    """At most ``limit`` UTF-16 code units (Excel counts a character outside the BMP as two)."""
    out, used = [], 0
    for ch in text:
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit:
            break
        out.append(ch)
    return "".join(out)


def header_text(text: str) -> str:
    """Text for a page header or footer: "&" is a control character there."""
    return text.replace("&", "&&")


def print_setup(
    ws,
    *,
    landscape: bool = True,
    repeat: tuple[int, int] | None = None,
    header: str | None = None,
    footer: str = FOOTER_PAGES,
    margins: tuple[float, float, float, float] = (0.4, 0.4, 0.6, 0.7),
) -> None:
    """A4, one page wide and as many tall as needed, centred, page numbers in the footer; ``repeat`` (first, last
    0-based rows) printed at the top of every page; ``header`` (already escaped) at the top."""
    ws.set_paper(A4)
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)
    left, right, top, bottom = margins
    ws.set_margins(left=left, right=right, top=top, bottom=bottom)
    ws.center_horizontally()
    if repeat is not None:
        ws.repeat_rows(*repeat)
    if header:
        ws.set_header(header)
    if footer:
        ws.set_footer(footer)


# --- long tables --------------------------------------------------------------------------------------------------

STRING, NUMBER, DATE = "s", "n", "d"  # how append_rows writes a column's values
_STRING_MAX = 32767  # Excel's limit on a cell's text
_NEEDS_CARE = re.compile(r"[&<>\x00-\x08\x0b-\x1f]|_x[0-9a-fA-F]{4}_|^\s|\s$")  # escaping, or keeping its spaces
_ESCAPED_ESCAPE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
_INFINITE = (math.inf, -math.inf)


def _xml_text(text: str) -> tuple[str, str]:
    """A cell's text as XML character data, and the attribute that keeps its leading/trailing spaces (as
    xlsxwriter does: control characters become _xHHHH_, a literal _xHHHH_ is escaped)."""
    if len(text) > _STRING_MAX:
        text = text[:_STRING_MAX]
    text = _ESCAPED_ESCAPE.sub(r"_x005F\1", text)
    text = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    preserve = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    return text, preserve


class StreamingWorksheet(Worksheet):
    """An xlsxwriter worksheet for constant-memory workbooks that also takes the data rows of a long table whole:
    ``append_rows`` makes each row's XML at once and adds it to the sheet's row file, several times faster than one
    ``write_*`` call per cell (what a bulletin with 100,000 findings needs). Everything else is xlsxwriter's.

    Create it with ``workbook.add_worksheet(name, worksheet_class=StreamingWorksheet)`` in a workbook opened with
    ``{"constant_memory": True}``. It relies on xlsxwriter's constant-memory row file (xlsxwriter is pinned in
    requirements.txt; tests/test_bulletin.py reads the cells back with openpyxl and has LibreOffice open the file).
    """

    def append_rows(
        self,
        first_row: int,
        rows: Iterable[Sequence[Any]],
        kinds: Sequence[str],
        formats: Sequence[Any],
        heights: Iterable[float | None] | None = None,
    ) -> int:
        """Write ``rows`` from ``first_row`` (0-based) down, below everything written so far; returns the last row
        written (``first_row - 1`` when there is none). Column ``c`` holds ``kinds[c]`` values (STRING: str,
        NUMBER: int or float, DATE: ``datetime.date``) in ``formats[c]`` (an xlsxwriter Format or None); None and ""
        leave the cell empty (still formatted). ``heights`` gives each row's height in points (None: the default)."""
        if not self.constant_memory:
            raise ValueError("append_rows needs a workbook opened with constant_memory")
        if first_row <= self.previous_row and (first_row < self.previous_row or self.table):
            raise ValueError(f"row {first_row} is above rows already written")
        self._write_single_row(first_row)  # the rows above (the header) go out first
        refs = [xl_col_to_name(c) for c in range(len(kinds))]
        styles = [f' s="{f._get_xf_index()}"' if f is not None else "" for f in formats]
        epoch = _EXCEL_EPOCH
        heights = iter(heights) if heights is not None else None
        write, care = self.fh.write, _NEEDS_CARE.search
        row = first_row - 1
        for values in rows:
            row += 1
            n = row + 1
            height = next(heights) if heights is not None else None
            parts = [f'<row r="{n}" ht="{height:g}" customHeight="1">' if height else f'<row r="{n}">']
            for c, v in enumerate(values):
                if v is None or v == "":
                    if styles[c]:
                        parts.append(f'<c r="{refs[c]}{n}"{styles[c]}/>')
                    continue
                kind = kinds[c]
                if kind == STRING:
                    if care(v) is None and len(v) <= _STRING_MAX:  # most text: nothing to escape
                        parts.append(f'<c r="{refs[c]}{n}"{styles[c]} t="inlineStr"><is><t>{v}</t></is></c>')
                        continue
                    text, preserve = _xml_text(v)
                    parts.append(f'<c r="{refs[c]}{n}"{styles[c]} t="inlineStr"><is><t{preserve}>{text}</t></is></c>')
                elif kind == DATE:
                    parts.append(f'<c r="{refs[c]}{n}"{styles[c]}><v>{(v - epoch).days}</v></c>')
                elif v == v and v not in _INFINITE:  # NaN and ±inf: no number Excel can hold, left empty
                    parts.append(f'<c r="{refs[c]}{n}"{styles[c]}><v>{v!r}</v></c>')
                elif styles[c]:
                    parts.append(f'<c r="{refs[c]}{n}"{styles[c]}/>')
            parts.append("</row>")
            write("".join(parts))
        if row >= first_row:
            self._check_dimensions(row, len(kinds) - 1)
            self.previous_row = row
        return row


__all__ = [
    "A4",
    "FOOTER_PAGES",
    "StreamingWorksheet",
    "column_width",
    "header_text",
    "print_setup",
    "sheet_name",
    "text_lines",
    "text_width",
]
