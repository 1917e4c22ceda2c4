"""Dates as letters write them ("December 13, 2001", "2/1/2013", "10-13-16"), to ISO.

The shapes and month names are rows of ``patterns/records.jsonl`` (kinds ``date`` and ``month``).
"""

from __future__ import annotations

import re
from datetime import date

from ..patterns import load_patterns

# Two-digit years up to this one are 20xx, later ones 19xx.
TWO_DIGIT_YEAR_PIVOT = 40


def _rows() -> tuple[dict[str, int], dict[str, str]]:
    rows = load_patterns("records")
    months = {r["key"]: int(r["value"]) for r in rows if r["kind"] == "month"}
    shapes = {r["key"]: r["value"] for r in rows if r["kind"] == "date"}
    return months, shapes


_MONTHS, _SHAPES = _rows()
MONTH = _SHAPES["month_name"]
DATE = (
    "(?:"
    + "|".join(_SHAPES[k].replace("{month}", MONTH) for k in ("written", "slashed", "dashed"))
    + ")"
)
DATE_RE = re.compile(DATE)
_WRITTEN = re.compile(r"([A-Za-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})")
_NUMERIC = re.compile(r"(\d{1,2})[/-](\d{1,2})[/-](\d{2,4})")


def iso_date(s: str) -> str | None:
    """ISO date of "December 13, 2001", "2/1/2013", "12/14/14", "10-13-16"; None if not a date."""
    s = " ".join(s.split())
    try:
        m = _WRITTEN.match(s)
        if m:
            month = next(v for k, v in _MONTHS.items() if k.startswith(m.group(1).lower()[:3]))
            return date(int(m.group(3)), month, int(m.group(2))).isoformat()
        m = _NUMERIC.match(s)
        if m:
            year = int(m.group(3))
            if year < 100:
                year += 2000 if year <= TWO_DIGIT_YEAR_PIVOT else 1900
            return date(year, int(m.group(1)), int(m.group(2))).isoformat()
    except (ValueError, StopIteration):
        return None
    return None
