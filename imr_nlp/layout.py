"""Where the labelled parts of an item are: guideline lines and rationales.

The same section titles the medspaCy Sectionizer uses (``patterns/sections.jsonl``)
are turned into one text regex, so that taggers that work on characters
(guideline extent) and the record builder agree on the regions.
"""

import re
from functools import lru_cache

from .patterns import load_patterns

ITEM_LABELS = ("claims_administrator_guideline", "imr_guideline", "decision_rationale")


@lru_cache(maxsize=1)
def _label_regex() -> re.Pattern:
    rows = [r for r in load_patterns("sections") if r["category"] in ITEM_LABELS]
    alts = sorted({re.escape(r["literal"]) for r in rows}, key=len, reverse=True)
    return re.compile(r"(?m)^[ \t\f]*(" + "|".join(alts) + ")")


@lru_cache(maxsize=1)
def _category_of() -> dict[str, str]:
    return {
        r["literal"]: r["category"]
        for r in load_patterns("sections")
        if r["category"] in ITEM_LABELS
    }


def label_regions(text: str, *, cap: int = 4000) -> list[tuple[str, int, int]]:
    """Find the labelled regions of the items: guideline lines and rationales.

    text (str): the letter.
    cap (int): the longest a region may run when no next label ends it.
    RETURNS (list[tuple[str, int, int]]): ``(category, body_start, body_end)``
        in text order; the body excludes the label itself.
    """
    cats = _category_of()
    matches = list(_label_regex().finditer(text))
    out = []
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else min(len(text), m.end() + cap)
        out.append((cats[m.group(1)], m.end(), end))
    return out
