"""Values of a record from the text as written: milligrams, doses a day, counts.

The tables (number words, units, frequency words) are rows of ``patterns/records.jsonl``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..patterns import load_patterns

_NUM = re.compile(r"\d+(?:[.,]\d+)?")


@lru_cache(maxsize=1)
def _tables() -> dict[str, object]:
    rows = load_patterns("records")
    regex = {r["key"]: re.compile(r["value"]) for r in rows if r["kind"] == "regex"}
    return {
        "doses": [
            (re.compile(r["key"]), float(r["value"])) for r in rows if r["kind"] == "doses_per_day"
        ],
        "words": {r["key"]: int(r["value"]) for r in rows if r["kind"] == "number_word"},
        "unit_mg": {r["key"]: float(r["value"]) for r in rows if r["kind"] == "unit_mg"},
        "every": regex["every_hours"],
        "unit": regex["strength_unit"],
        "not_mg": regex["strength_not_mg"],
    }


def norm_strength(s: str) -> str:
    """A strength for comparison: lower case, no spaces, "mgs" as "mg"."""
    return re.sub(r"\s+", "", s.lower()).replace("mgs", "mg")


def strength_mg(s: str) -> float | None:
    """Milligrams of the first component: "10-325mg" 10.0, "0.5 g" 500.0, "5%" None."""
    t = _tables()
    low = s.lower().replace(" ", "")
    if t["not_mg"].search(low):  # type: ignore[attr-defined]
        return None
    m = _NUM.search(low)
    if not m:
        return None
    value = float(m.group(0).replace(",", ""))
    unit = t["unit"].search(low)  # type: ignore[attr-defined]
    factor = t["unit_mg"].get(unit.group(1) if unit else "mg")  # type: ignore[attr-defined]
    return value * factor if factor is not None else None


def doses_per_day(freq: str) -> float | None:
    """Doses a day of a frequency: QID 4, TID 3, BID 2, q8h 3, every four hours 6; PRN alone and
    a range of hours ("every 4-6 hours") None."""
    t = _tables()
    m = t["every"].search(freq)  # type: ignore[attr-defined]
    if m:
        if m.group("range"):
            return None  # "every 4-6 hours": the letter does not say how many doses
        n = m.group(1).lower()
        hours = int(n) if n.isdigit() else t["words"].get(n)  # type: ignore[attr-defined]
        return round(24 / hours, 2) if hours else None
    for regex, value in t["doses"]:  # type: ignore[attr-defined]
        if regex.search(freq):
            return value
    return None


def count(s: str) -> int | float | None:
    """The number of a QUANTITY span: "#60" 60, "106.32gm" 106.32, "#1,000" 1000; None without digits."""
    m = _NUM.search(s)
    if not m:
        return None
    text = m.group(0)
    if "," in text:
        text = text.replace(",", "") if len(text.split(",")[-1]) == 3 else text.replace(",", ".")
    value = float(text)
    return int(value) if value.is_integer() else value
