"""The xlsx export (openpyxl): Statements, Reports (and related news), and Edits and deletions, one sheet each.

Times are date cells in UTC (spreadsheets hold no time zone; the headers say UTC), links are
clickable, and every text is stored as text: openpyxl would otherwise take a post starting with
"=" for a formula.  Characters XML cannot hold (control characters) are dropped.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from communique.export import differs_text, reports_and_related
from communique.store.timefmt import from_db

TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
LINK = Font(color="0563C1", underline="single")
SHEETS: dict[str, tuple[tuple[str, int], ...]] = {  # header, column width
    "Statements": (("statement id", 11), ("posted (UTC)", 19), ("channel", 16), ("channel title", 22),
                   ("post", 32), ("text", 80), ("media", 12), ("reports", 8), ("outlets", 8),
                   ("first report (min)", 10), ("languages", 12), ("edits", 6), ("edited (UTC)", 19),
                   ("deleted (UTC)", 19), ("related", 8)),
    "Reports": (("statement id", 11), ("post", 32), ("outlet", 24), ("report", 40), ("title", 60),
                ("language", 9), ("published (UTC)", 19), ("minutes after post", 10), ("score", 7),
                ("differs", 30), ("relation", 9), ("via", 32)),
    "Edits and deletions": (("statement id", 11), ("post", 32), ("what", 22), ("when (UTC)", 19),
                            ("text after the edit", 80)),
}


def _utc(value: str | None) -> datetime | None:
    moment = from_db(value)
    return moment.replace(tzinfo=None) if moment else None


class _Rows:
    """A sheet written row after row (counted here: `Worksheet.max_row` scans every cell each time)."""

    def __init__(self, sheet: Worksheet) -> None:
        self.sheet, self.last = sheet, 1  # the header

    def add(self, values: Sequence[Any], *, links: dict[int, str | None] | None = None) -> None:
        self.last += 1
        _fill(self.sheet, self.last, values, links or {})


def _fill(sheet: Worksheet, row: int, values: Sequence[Any], links: dict[int, str | None]) -> None:
    """A row whose strings stay strings, times are formatted and the columns in `links` link to their URL."""
    for column, value in enumerate(values, start=1):
        cell = sheet.cell(row=row, column=column)
        if isinstance(value, str):
            cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
            cell.data_type = "s"
        else:
            cell.value = value
        if isinstance(value, datetime):
            cell.number_format = TIME_FORMAT
        url = links.get(column)
        if url:
            cell.hyperlink = url
            cell.font = LINK


def _sheet(book: Workbook, name: str) -> _Rows:
    sheet = book.create_sheet(name)
    columns = SHEETS[name]
    sheet.append([header for header, _ in columns])
    for index, (_, width) in enumerate(columns, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = width
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    return _Rows(sheet)


def workbook_bytes(items: list[dict[str, Any]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    statements, reports, changes = (_sheet(book, name) for name in SHEETS)
    for record in items:
        sid, post = record["statement_id"], record["url"]
        delays = [r["minutes_after_post"] for r in record["reports"] if r["minutes_after_post"] is not None]
        statements.add([sid, _utc(record["posted_at"]), record["channel"], record["channel_title"], post,
                             record["text"], record["media"], len(record["reports"]),
                             len({r["outlet"] for r in record["reports"]}), max(0, min(delays)) if delays else None,
                             " ".join(sorted({r["language"] or "und" for r in record["reports"]})),
                             len(record["edits"]), _utc(record["edited_at"]), _utc(record["deleted_at"]),
                             len(record["related"])],
                links={5: post})
        for r, relation in reports_and_related(record):
            reports.add([sid, post, r["outlet"], r["url"], r["title"], r["language"], _utc(r["published_at"]),
                              r["minutes_after_post"], r["score"], differs_text(r["differs"]), relation, r["via"]],
                    links={2: post, 4: r["url"], 12: r["via"]})
        if record["edits"]:
            changes.add([sid, post, "original text", _utc(record["posted_at"]), record["original_text"]],
                    links={2: post})
        for edit in record["edits"]:
            changes.add([sid, post, f"edit (version {edit['version']})", _utc(edit["at"]), edit["text"]],
                    links={2: post})
        for deletion in record["deletions"]:
            changes.add([sid, post, f"message {deletion['message_id']} deleted", _utc(deletion["at"]), None],
                    links={2: post})
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
