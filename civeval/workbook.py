"""Shared machinery for the office's workbooks: located problems, cell normalisation, tolerant sheet reading
(openpyxl) and template-style writing (xlsxwriter).

Reading is forgiving in the ways official tables need: a header row found by its text below a merged title,
columns in any order, parent levels merged vertically, full-width digits and punctuation, stray spaces and
line breaks, marks written as "2分". Every problem found is located (file, sheet, row, column) and all of them
are reported at once in a :class:`WorkbookInvalid`.
"""

from __future__ import annotations

import math
import re
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import xlsxwriter
from openpyxl.utils.cell import range_boundaries
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet._reader import WorkSheetParser

# --- problems ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file. ``sheet`` is the worksheet (or, for text files, the field path);
    ``row``/``col`` are 1-based and None for whole-file or whole-sheet problems."""

    file: str
    sheet: str | None
    row: int | None
    col: int | None
    message: str

    def __post_init__(self) -> None:  # a cell of 100,000 characters is quoted by its beginning only
        object.__setattr__(self, "message", shorten_message(self.message))
        if self.sheet and len(self.sheet) > MAX_QUOTE:
            object.__setattr__(self, "sheet", self.sheet[:MAX_QUOTE] + "…")

    def __str__(self) -> str:
        parts = [self.file]
        if self.sheet:
            parts.append(self.sheet)
        if self.row is not None:
            parts.append(f"R{self.row}")
        if self.col is not None:
            parts.append(f"C{self.col}")
        return ":".join(parts) + ": " + self.message


MAX_QUOTE = 60  # characters of a cell quoted in a message
MAX_MESSAGE = 500
_QUOTED = re.compile(r"“([^”]*)”")


def shorten_message(message: str) -> str:
    """A message with every quoted value cut to its first ``MAX_QUOTE`` characters, and not longer than
    ``MAX_MESSAGE`` in all."""

    def cut(m: re.Match) -> str:
        text = m.group(1)
        return m.group(0) if len(text) <= MAX_QUOTE else f"“{text[:MAX_QUOTE]}…”（共 {len(text)} 个字）"

    message = _QUOTED.sub(cut, message)
    return message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE] + "…"


class WorkbookInvalid(Exception):
    """A file that cannot be imported; ``problems`` lists every problem found, each located."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class Problems:
    """Collects the problems of one file; ``raise_if_any`` raises them all, sorted by sheet, row and column."""

    def __init__(self, path: str | Path):
        self.file = Path(path).name
        self.items: list[Problem] = []

    def add(self, sheet: str | None, row: int | None, col: int | None, message: str) -> None:
        self.items.append(Problem(self.file, sheet, row, col, message))

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.items)

    def raise_if_any(self) -> None:
        if not self.items:
            return
        sheets: dict[str | None, int] = {}
        for p in self.items:
            sheets.setdefault(p.sheet, len(sheets))
        raise WorkbookInvalid(sorted(self.items, key=lambda p: (sheets[p.sheet], p.row or 0, p.col or 0)))


# --- cell text ---------------------------------------------------------------------------------

_FULLWIDTH_ALL = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20, 0xA0: 0x20}
_FULLWIDTH_ALNUM = {c: c - 0xFEE0 for c in [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]} | {
    0x3000: 0x20,
    0xA0: 0x20,
}
_WIDE = "\u2e80-\u303f\u3040-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff01-\uff60\uffe0-\uffe6"
_SPACE_BETWEEN_WIDE = re.compile(f"(?<=[{_WIDE}]) (?=[{_WIDE}])")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


_WHITESPACE = re.compile(r"\s+")


def _collapse(text: str) -> str:
    text = _WHITESPACE.sub(" ", text).strip()
    return _SPACE_BETWEEN_WIDE.sub("", text) if " " in text else text


def clean(value: Any, *, punctuation: bool = True, multiline: bool = False) -> str:
    """The text of a cell, normalised.

    Full-width ASCII becomes half-width (digits and letters always; punctuation such as （）：，． only when
    ``punctuation``, which names and free text leave off so that Chinese text keeps its own punctuation), the
    ideographic space becomes a space, whitespace and line breaks (also Excel's ``_x000D_``) collapse to one
    space, a space between two Chinese characters is dropped, and the ends are stripped. ``multiline`` keeps
    the line breaks (each line normalised). None and "" give ""; a whole float gives its integer ("2.0" → "2").
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, datetime):
        value = value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    elif isinstance(value, date):
        value = value.isoformat()
    text = str(value).replace("_x000D_", "\n").translate(_FULLWIDTH_ALL if punctuation else _FULLWIDTH_ALNUM)
    if not multiline:
        return _collapse(text)
    lines = [_collapse(line) for line in _LINE_BREAK.split(text)]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def match_key(value: Any) -> str:
    """The form two names are compared in: fully normalised, without spaces, lower case."""
    return clean(value).replace(" ", "").lower()


_NUMBER = re.compile(
    r"^(?:每[\u4e00-\u9fff]{0,2})?\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*[\u4e00-\u9fff]{0,2}"
    r"(?:\s*/\s*[\u4e00-\u9fff]{1,3})?$"
)


def parse_number(value: Any, label: str, *, negative: bool = False) -> float | None:
    """A number from a cell: 2, 2.0, "2", "2分", "２．５分", " 1.5 ", "0.5分/处"; None when the cell is empty.

    Raises ValueError with a Chinese message naming ``label`` for text that is not a number ("二", "abc")
    and, unless ``negative``, for a negative number.
    """
    if isinstance(value, bool):
        raise ValueError(f"{label}“{clean(value)}”不是数字")
    if isinstance(value, int | float):
        number = float(value)
        text = None  # the cell's text, worked out for a message only
    else:
        text = clean(value)
        if not text:
            return None
        m = _NUMBER.match(text)
        if not m:
            raise ValueError(f"{label}“{text}”不是数字")
        number = float(m.group(1))
    if math.isnan(number) or math.isinf(number):
        raise ValueError(f"{label}“{clean(value) if text is None else text}”不是数字")
    if number < 0 and not negative:
        raise ValueError(f"{label}不能为负数（填的是“{clean(value) if text is None else text}”）")
    return number


def parse_int(value: Any, label: str, *, negative: bool = False) -> int | None:
    """A whole number ("3", "3天", "2024年", 3.0); ValueError for fractions, text and (unless allowed) negatives."""
    number = parse_number(value, label, negative=negative)
    if number is None:
        return None
    if not number.is_integer():
        raise ValueError(f"{label}“{clean(value)}”不是整数")
    return int(number)


_TRUE = {"是", "启用", "在用", "有效", "正常", "y", "yes", "true", "1", "√", "✓"}
_FALSE = {"否", "停用", "禁用", "无效", "撤销", "n", "no", "false", "0", "×", "✗"}


def parse_bool(value: Any, label: str, *, default: bool = True) -> bool:
    """是/否 (and common variants); the default for an empty cell; ValueError otherwise."""
    text = clean(value).lower()
    if not text:
        return default
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{label}“{clean(value)}”无效，请填写“是”或“否”")


_LIST_SEPARATORS = re.compile(r"[、，,；;]+")
_SLASH = re.compile(r"\s*[/／]\s*")


def split_list(value: Any, *, known: Callable[[str], bool] | None = None) -> list[str]:
    """Split a list cell on 、，,；; and line breaks (and on / unless ``known`` recognises the whole token,
    as for "电话/实景模拟"). Tokens are cleaned like names; empty ones are dropped."""
    if value is None:
        return []
    raw = clean(value, punctuation=False, multiline=True)
    tokens: list[str] = []
    for line in raw.split("\n"):
        for token in _LIST_SEPARATORS.split(line):
            token = token.strip()
            if not token:
                continue
            if _SLASH.search(token) and not (known and known(token)):
                tokens += [t for t in _SLASH.split(token) if t]
            else:
                tokens.append(token)
    return tokens


class Lookup:
    """Names (and aliases such as codes) → canonical name, compared with :func:`match_key`."""

    def __init__(self, names: Iterable[str] = ()):
        self._map: dict[str, str] = {}
        for name in names:
            self.add(name)

    def add(self, name: str, *aliases: str) -> None:
        for alias in (name, *aliases):
            if alias:
                self._map.setdefault(match_key(alias), name)

    def get(self, text: str) -> str | None:
        return self._map.get(match_key(text))

    def __contains__(self, text: str) -> bool:
        return match_key(text) in self._map


# --- columns and sheets ------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of a template sheet: the header written, the headers accepted when reading, and the notes."""

    key: str
    header: str
    synonyms: tuple[str, ...] = ()
    required: bool = False  # the column must be present and its cells filled
    parent: bool = False  # a parent level (category/indicator/item): a blank merged cell repeats the row above
    width: float = 12
    wrap: bool = False
    note: str = ""  # what the column means (填写说明)
    allowed: str = ""  # allowed values, as shown in 填写说明
    example: Any = None


def header_key(value: Any) -> str:
    """A header cell compared by meaning: normalised, no spaces, no required-mark '*', no trailing '(单位)'."""
    text = match_key(value).replace("*", "")
    return re.sub(r"\([^()]*\)$", "", text)


@dataclass
class Row:
    """One data row: raw cell values by column key (merged ranges already filled)."""

    number: int
    values: dict[str, Any]

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def text(self, key: str, *, punctuation: bool = True, multiline: bool = False) -> str:
        return clean(self.values.get(key), punctuation=punctuation, multiline=multiline)


@dataclass
class Table:
    """A sheet read by header: ``cols`` maps column keys to their real 1-based column numbers."""

    sheet: str
    header_row: int
    cols: dict[str, int]
    rows: list[Row] = field(default_factory=list)

    def col(self, key: str) -> int | None:
        return self.cols.get(key)


@dataclass
class Sheet:
    """A worksheet as read: its title, its visibility, and its values.

    ``rows`` holds the values (0-based rows and columns), every row as wide as the sheet, as openpyxl's full reading
    mode gives them: the cells of a merged range other than its first are None. ``merged`` lists the merged ranges,
    each (first row, first column, last row, last column), 1-based.
    """

    title: str
    sheet_state: str
    rows: list[list[Any]]
    merged: list[tuple[int, int, int, int]]
    _grid: tuple[list[list[Any]], set[tuple[int, int]], set[tuple[int, int]]] | None = field(default=None, repr=False)

    def iter_rows(
        self,
        min_row: int | None = None,
        max_row: int | None = None,
        min_col: int | None = None,
        max_col: int | None = None,
        values_only: bool = True,
    ) -> Iterator[tuple[Any, ...]]:
        """The values of rows ``min_row``..``max_row`` and columns ``min_col``..``max_col`` (1-based, inclusive;
        openpyxl's ``iter_rows(values_only=True)``)."""
        width = len(self.rows[0]) if self.rows else 0
        min_row, min_col = min_row or 1, min_col or 1
        max_row, max_col = max_row or len(self.rows), max_col or width
        for r in range(min_row - 1, max_row):
            row = self.rows[r] if r < len(self.rows) else []
            cells = row[min_col - 1 : max_col]
            yield tuple(cells) + (None,) * (max_col - min_col + 1 - len(cells))


def _read_sheet(wb, ws) -> Sheet:
    """One worksheet of a workbook opened in openpyxl's read-only mode: its values and its merged ranges, read in one
    pass over its XML.

    openpyxl's full mode builds a Cell object for every cell (and keeps styles) only to be read once: for a
    10,000-point register it took more than the whole import may (issue 7). Its read-only worksheets give the values
    but not the merged ranges, which the parser finds at the end of the same XML; so the parser that both modes use
    is run here directly, with the arguments the read-only worksheet gives it (openpyxl is pinned)."""
    with ws._get_source() as src:
        parser = WorkSheetParser(
            src,
            ws._shared_strings,
            data_only=True,
            epoch=wb.epoch,
            date_formats=wb._date_formats,
            timedelta_formats=wb._timedelta_formats,
        )
        rows: list[list[Any]] = []
        for _, cells in parser.parse():
            for cell in cells:
                r, c = cell["row"], cell["column"]
                if r < 1 or c < 1:  # (a row numbered 0: full mode kept it but never gave it either)
                    continue
                if r > len(rows):
                    rows.extend([] for _ in range(r - len(rows)))
                row = rows[r - 1]
                if c > len(row):
                    row.extend([None] * (c - len(row)))
                row[c - 1] = cell["value"]
    merged: list[tuple[int, int, int, int]] = []
    if parser.merged_cells:
        for ref in parser.merged_cells.mergeCell:
            min_col, min_row, max_col, max_row = range_boundaries(ref.ref)
            merged.append((min_row, min_col, max_row, max_col))
    height = max([len(rows), *(m[2] for m in merged)])
    width = max([0, *map(len, rows), *(m[3] for m in merged)])
    rows.extend([] for _ in range(height - len(rows)))
    for row in rows:
        if len(row) < width:
            row.extend([None] * (width - len(row)))
    for min_row, min_col, max_row, max_col in merged:  # full mode keeps only the first cell's value
        for r in range(min_row - 1, max_row):
            row = rows[r]
            for c in range(min_col - 1, max_col):
                if r != min_row - 1 or c != min_col - 1:
                    row[c] = None
    return Sheet(ws.title, ws.sheet_state, rows, merged)


class Book:
    """An .xlsx file opened for reading. Raises WorkbookInvalid when it cannot be opened at all.

    Every worksheet is read when the file is opened (openpyxl's read-only mode, see :func:`_read_sheet`), so that a
    damaged sheet is refused here as before, and the file is closed again."""

    HEADER_SCAN = 10

    def __init__(self, path: str | Path, problems: Problems):
        self.path = Path(path)
        self.problems = problems
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                wb = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
                try:
                    self.worksheets = [_read_sheet(wb, ws) for ws in wb.worksheets]
                finally:
                    wb.close()
        except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError) as e:  # said in Chinese only
            message = "无法打开工作簿：不是 .xlsx 文件，或文件不完整、已损坏"
            raise WorkbookInvalid([Problem(problems.file, None, None, None, message)]) from e
        except OSError as e:
            reason = "文件不存在" if isinstance(e, FileNotFoundError) else f"无法读取文件（{type(e).__name__}）"
            raise WorkbookInvalid([Problem(problems.file, None, None, None, f"无法打开工作簿：{reason}")]) from e
        except Exception as e:  # a damaged package: broken XML inside the zip, and the like
            raise WorkbookInvalid(
                [Problem(problems.file, None, None, None, f"无法打开工作簿：文件已损坏（{type(e).__name__}）")]
            ) from e

    def sheet(self, name: str) -> Sheet | None:
        """The worksheet whose name is ``name`` (compared without spaces), or None."""
        for ws in self.worksheets:
            if match_key(ws.title) == match_key(name):
                return ws
        return None

    def grid(self, ws: Sheet) -> tuple[list[list[Any]], set[tuple[int, int]], set[tuple[int, int]]]:
        """The sheet's values (0-based rows/cols) with merged ranges filled, the merged cells, and the cells
        whose value was filled in from the top of their range.

        A value written once in a range spanning several rows applies to every cell of the range; a range
        on a single row (a wide title or heading) keeps its value in its first cell only. Worked out once per sheet
        (the same lists are returned again: not to be changed).
        """
        if ws._grid is not None:
            return ws._grid
        rows = ws.rows
        if ws.merged:
            rows = [list(r) for r in rows]
        merged: set[tuple[int, int]] = set()
        filled: set[tuple[int, int]] = set()
        for min_row, min_col, max_row, max_col in ws.merged:
            top = rows[min_row - 1][min_col - 1]
            for r in range(min_row - 1, max_row):
                row = rows[r]
                for c in range(min_col - 1, max_col):
                    merged.add((r, c))
                    if max_row > min_row and (r, c) != (min_row - 1, min_col - 1):
                        row[c] = top
                        filled.add((r, c))
        ws._grid = rows, merged, filled
        return ws._grid

    def table(self, name: str, columns: Sequence[Column], *, optional: bool = False) -> Table | None:
        """Read sheet ``name`` by its header row: the first of the first ten rows holding every required header.

        Reports a missing sheet (unless ``optional``) or missing required columns and returns None then.
        Fully empty rows are skipped; unknown columns are ignored.
        """
        ws = self.sheet(name)
        if ws is None:
            if not optional:
                self.problems.add(name, None, None, f"缺少工作表“{name}”")
            return None
        return self.read_table(ws, columns)

    def find_table_sheet(self, columns: Sequence[Column]) -> Sheet | None:
        """The first worksheet whose first rows hold every required header of ``columns``, or None."""
        for ws in self.worksheets:
            if ws.sheet_state != "visible":
                continue
            if any(_required_found(_header_map(r, columns), columns) for r in ws.iter_rows(max_row=self.HEADER_SCAN)):
                return ws
        return None

    def read_table(self, ws: Sheet, columns: Sequence[Column]) -> Table | None:
        grid, merged, filled = self.grid(ws)
        best: tuple[int, dict[str, int]] | None = None
        for r, cells in enumerate(grid[: self.HEADER_SCAN]):
            found = _header_map(cells, columns)
            if _required_found(found, columns):
                best = (r, found)
                break
            if len(found) >= 2 and (best is None or len(found) > len(best[1])):
                best = (r, found)
        if best is None or not _required_found(best[1], columns):
            if best is None:
                wanted = "、".join(f"“{c.header}”" for c in columns if c.required)
                self.problems.add(ws.title, None, None, f"找不到表头：前{self.HEADER_SCAN}行中没有包含{wanted}的行")
            else:
                for c in columns:
                    if c.required and c.key not in best[1]:
                        self.problems.add(ws.title, best[0] + 1, None, f"表头缺少必需的列“{c.header}”")
            return None
        header_r, cols = best
        table = Table(ws.title, header_r + 1, {k: c + 1 for k, c in cols.items()})
        parents = [c.key for c in columns if c.parent and c.key in cols]
        previous: dict[str, Any] = {}
        items = list(cols.items())
        for r in range(header_r + 1, len(grid)):
            cells = grid[r]
            n = len(cells)
            values = {k: (cells[c] if c < n else None) for k, c in items}
            if filled:
                if all(_blank(v) for k, v in values.items() if (r, cols[k]) not in filled):
                    continue
            elif all(_blank(v) for v in values.values()):
                continue
            for k in parents:
                if (r, cols[k]) in merged and clean(values.get(k)) == "":
                    values[k] = previous.get(k)
            previous = values
            table.rows.append(Row(r + 1, values))
        return table


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    if value and not value[0].isspace() and value[0] != "_":
        return False  # cleaning keeps a first character that is not a space (nor "_x000D_", a line break)
    return clean(value) == ""


def _header_map(cells: Sequence[Any], columns: Sequence[Column]) -> dict[str, int]:
    lookup: dict[str, str] = {}
    for col in columns:
        for name in (col.header, *col.synonyms):
            lookup.setdefault(header_key(name), col.key)
    found: dict[str, int] = {}
    for i, v in enumerate(cells):
        key = lookup.get(header_key(v)) if v is not None else None
        if key and key not in found:
            found[key] = i
    return found


def _required_found(found: dict[str, int], columns: Sequence[Column]) -> bool:
    return all(c.key in found for c in columns if c.required)


# --- writing -----------------------------------------------------------------------------------

OPTIONS_SHEET = "选项"
NOTES_SHEET = "填写说明"


@dataclass(frozen=True)
class Choice:
    """A drop-down list for one column: ``strict`` refuses other values, otherwise the list is only a hint."""

    values: tuple[str, ...]
    strict: bool = True


class Writer:
    """An .xlsx file written in the template form: bold frozen header, Chinese-friendly widths, drop-downs fed
    from a hidden 选项 sheet, merged cells for parent levels."""

    DATA_ROWS = 2000  # rows below the header that carry the drop-downs

    def __init__(self, path: str | Path):
        self.wb = xlsxwriter.Workbook(str(path))
        self.bold = self.wb.add_format(
            {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "vcenter"}
        )
        self.title = self.wb.add_format({"bold": True, "font_size": 14})
        self.plain = self.wb.add_format({"valign": "top"})
        self.wrap = self.wb.add_format({"valign": "top", "text_wrap": True})
        self.merged = self.wb.add_format({"valign": "vcenter", "text_wrap": True})
        self._options: list[tuple[str, tuple[str, ...]]] = []

    def _source(self, title: str, values: tuple[str, ...]) -> str:
        if (title, values) not in self._options:
            self._options.append((title, values))
        i = self._options.index((title, values))
        letter = xlsxwriter.utility.xl_col_to_name(i)
        return f"='{OPTIONS_SHEET}'!${letter}$2:${letter}${len(values) + 1}"

    def write(self, ws, r: int, c: int, value: Any, fmt=None) -> None:
        if value is None or value == "":
            ws.write_blank(r, c, None, fmt)
        elif isinstance(value, bool):
            ws.write_string(r, c, "是" if value else "否", fmt)
        elif isinstance(value, int | float):
            ws.write_number(r, c, value, fmt)
        else:
            ws.write_string(r, c, str(value), fmt)

    def table(
        self,
        name: str,
        columns: Sequence[Column],
        rows: Sequence[dict[str, Any]],
        *,
        choices: dict[str, Choice] | None = None,
        merge: Sequence[tuple[str, Sequence[str]]] = (),
    ):
        """A sheet with a header row and one row per dict (keys are column keys).

        ``merge`` lists (group key, column keys): consecutive rows with the same non-empty group value get
        those columns merged vertically (the group key itself is a hidden helper, not a column).
        """
        ws = self.wb.add_worksheet(name)
        index = {c.key: i for i, c in enumerate(columns)}
        for i, col in enumerate(columns):
            ws.set_column(i, i, col.width, self.wrap if col.wrap else self.plain)
            ws.write_string(0, i, col.header, self.bold)
        ws.set_row(0, 22)
        ws.freeze_panes(1, 0)
        merged: set[tuple[int, int]] = set()
        for group, keys in merge:
            start = 0
            while start < len(rows):
                gid = rows[start].get(group)
                end = start
                while end + 1 < len(rows) and gid is not None and rows[end + 1].get(group) == gid:
                    end += 1
                if end > start:
                    for k in keys:
                        c = index[k]
                        ws.merge_range(start + 1, c, end + 1, c, "", self.merged)
                        self.write(ws, start + 1, c, rows[start].get(k), self.merged)
                        merged.update((r + 1, c) for r in range(start, end + 1))
                start = end + 1
        for r, row in enumerate(rows, start=1):
            for i, col in enumerate(columns):
                if (r, i) not in merged:
                    self.write(ws, r, i, row.get(col.key), self.wrap if col.wrap else None)
        last = max(self.DATA_ROWS, len(rows) + 500)
        for key, choice in (choices or {}).items():
            if key not in index or not choice.values:
                continue
            header = columns[index[key]].header
            ws.data_validation(
                1,
                index[key],
                last,
                index[key],
                {
                    "validate": "list",
                    "source": self._source(header, choice.values),
                    "error_type": "stop" if choice.strict else "information",
                    "error_title": header,
                    "error_message": "请从下拉列表中选择" if choice.strict else "不在常用选项中，请确认",
                    "input_title": header,
                    "input_message": "可选：" + "、".join(choice.values)[:200] if choice.strict else "",
                },
            )
        return ws

    def key_values(self, name: str, rows: Sequence[tuple[str, Any, str]], *, choices: dict[str, Choice] | None = None):
        """A two-column 项目/内容 sheet (with a third column of notes)."""
        ws = self.wb.add_worksheet(name)
        ws.set_column(0, 0, 12)
        ws.set_column(1, 1, 40, self.wrap)
        ws.set_column(2, 2, 50, self.wrap)
        for i, h in enumerate(("项目", "内容", "说明")):
            ws.write_string(0, i, h, self.bold)
        ws.freeze_panes(1, 0)
        for r, (key, value, note) in enumerate(rows, start=1):
            ws.write_string(r, 0, key, self.bold)
            self.write(ws, r, 1, value, self.wrap)
            self.write(ws, r, 2, note, self.wrap)
            if choices and key in choices:
                ws.data_validation(r, 1, r, 1, {"validate": "list", "source": self._source(key, choices[key].values)})
        return ws

    def notes(self, title: str, paragraphs: Sequence[str], sections: Sequence[tuple[str, Sequence[Column]]]):
        """The 填写说明 sheet: general notes, then one line per column of each sheet."""
        ws = self.wb.add_worksheet(NOTES_SHEET)
        widths = (12, 14, 8, 48, 36, 24)
        for i, w in enumerate(widths):
            ws.set_column(i, i, w, self.wrap)
        ws.write_string(0, 0, title, self.title)
        r = 2
        for p in paragraphs:
            ws.merge_range(r, 0, r, len(widths) - 1, p, self.wrap)
            ws.set_row(r, 18 * max(1, math.ceil(len(p) / 70)))
            r += 1
        r += 1
        for i, h in enumerate(("工作表", "列名", "必填", "说明", "可选值", "示例")):
            ws.write_string(r, i, h, self.bold)
        for sheet, columns in sections:
            for col in columns:
                r += 1
                ws.write_string(r, 0, sheet)
                ws.write_string(r, 1, col.header)
                ws.write_string(r, 2, "是" if col.required else "")
                self.write(ws, r, 3, col.note, self.wrap)
                self.write(ws, r, 4, col.allowed, self.wrap)
                self.write(ws, r, 5, col.example, self.wrap)
        return ws

    def close(self) -> None:
        if self._options:
            ws = self.wb.add_worksheet(OPTIONS_SHEET)
            for i, (title, values) in enumerate(self._options):
                ws.write_string(0, i, title)
                for r, v in enumerate(values, start=1):
                    ws.write_string(r, i, v)
            ws.hide()
        self.wb.close()
