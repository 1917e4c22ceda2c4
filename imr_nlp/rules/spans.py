"""Small helpers shared by the taggers: regex rules to character spans, trimming."""

import re
from collections.abc import Iterator
from typing import Any

_TRAIL = ".,;: \t\n\r\f"
NOT_AFTER_WINDOW = 40  # characters before a match that a rule's ``not_after`` regex sees


def compile_rules(rows: list[dict[str, Any]]) -> list[tuple[dict[str, Any], re.Pattern]]:
    """Compile the ``pattern`` of each rule row once (at load, never per letter)."""
    return [(row, re.compile(row["pattern"])) for row in rows]


def iter_matches(
    text: str,
    rules: list[tuple[dict[str, Any], re.Pattern]],
    start: int = 0,
    end: int | None = None,
) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """Yield ``(start, end, rule)`` for every match of every rule in ``text[start:end]``, trimmed.

    A rule's ``group`` names the capture group that is the span; its
    ``not_after`` is a regex that must not match the NOT_AFTER_WINDOW characters before.
    """
    lo, hi = start, len(text) if end is None else min(end, len(text))
    for row, regex in rules:
        group = row.get("group", 0)
        not_after = row.get("_not_after")
        if not_after is None and "not_after" in row:
            not_after = row["_not_after"] = re.compile(row["not_after"])
        for m in regex.finditer(text, lo, hi):
            start, end = m.span(group)
            if start < 0:
                continue
            if not_after is not None and not_after.search(
                text, max(0, start - NOT_AFTER_WINDOW), start
            ):
                continue
            start, end = trim(text, start, end)
            if end > start:
                yield start, end, row


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Move a span's ends off white space and off a trailing ``.,;:`` (annotation.md)."""
    while end > start and text[end - 1] in _TRAIL:
        end -= 1
    while start < end and text[start].isspace():
        start += 1
    return start, end


# a line break with a hyphen that PDF text extraction leaves inside a word ("medi-\n\ncally")
HYPHEN_BREAK = r"(?:-[ \t]*\n\s*)?"


def hyphen_tolerant(word: str) -> str:
    """A regex for a word that may be split anywhere by a hyphenated line break."""
    return HYPHEN_BREAK.join(re.escape(c) for c in word)
