"""DIAGNOSIS spans from the lists that follow diagnosis triggers, and named conditions.

annotation.md: a diagnosis is a condition the letter gives as a diagnosis or
as what is treated ("diagnosed with X", "diagnoses are X, Y", "treatment for
X", "history of X"). The list after a trigger is split at commas and "and";
each element is cut before a trailing clause ("with significant muscle
spasm", "affecting the bilateral ankles") and kept only if one of its words is
a condition word, so complaints and procedures ("status post removal of the
first rib") stay out. Named conditions of the lexicon are tagged anywhere.
"""

import re
from typing import Any

_SPLIT = re.compile(r"\s*(?:,\s*(?:and\s+|or\s+)?|\s+and\s+|\s+or\s+|\s+&\s+)")
_WORD = re.compile(r"[A-Za-z][\w'/-]*")


class DiagnosisLists:
    """Split the lists after diagnosis triggers into DIAGNOSIS spans."""

    def __init__(self, rules: list[dict[str, Any]], *, max_list_chars: int = 400):
        self.rules = rules
        self.max_list_chars = max_list_chars
        self._triggers = [_lowercase_rule(r["pattern"]) for r in rules if r["kind"] == "trigger"]
        self._heads = [re.compile(r["pattern"]) for r in rules if r["kind"] == "head"]
        self._rejects = [re.compile(r["pattern"]) for r in rules if r["kind"] == "reject"]
        self._trims = [re.compile(r["pattern"]) for r in rules if r["kind"] == "trim"]
        self._ends = [re.compile(r["pattern"]) for r in rules if r["kind"] == "list_end"]

    def is_condition(self, element: str) -> bool:
        """True if a word of the element is a condition word and no reject rule matches."""
        if any(r.search(element) for r in self._rejects):
            return False
        return any(h.match(w) for w in _WORD.findall(element) for h in self._heads)

    def __call__(self, text: str) -> list[tuple[int, int]]:
        """Find DIAGNOSIS spans in list context.

        text (str): the letter.
        RETURNS (list[tuple[int, int]]): character spans, in text order, not overlapping.
        """
        found: list[tuple[int, int]] = []
        low = text.lower()
        if len(low) != len(text):  # a character whose lower case is longer: offsets would shift
            low = text
        for trigger, needs_boundary in self._triggers:
            for m in trigger.finditer(low):
                if needs_boundary and m.start() > 0 and low[m.start() - 1].isalnum():
                    continue
                start = m.end()
                end = _first(self._ends, text, start, min(len(text), start + self.max_list_chars))
                found.extend(self._elements(text, start, end))
        found.sort()
        out: list[tuple[int, int]] = []
        for s, e in found:
            if out and s < out[-1][1]:
                if e - s > out[-1][1] - out[-1][0]:
                    out[-1] = (s, e)
                continue
            out.append((s, e))
        return out

    def _elements(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        out = []
        pos = start
        for sep in list(_SPLIT.finditer(text, start, end)) + [None]:
            el_end = sep.start() if sep else end
            s, e = pos, el_end
            e = _first(self._trims, text, s, e)
            while e > s and not text[e - 1].isalnum():
                e -= 1
            while s < e and not text[s].isalnum():
                s += 1
            element = text[s:e]
            if element and len(element) <= 120 and self.is_condition(element):
                out.append((s, e))
            if sep is None:
                break
            pos = sep.end()
        return out


def _first(regexes: list[re.Pattern], text: str, start: int, end: int) -> int:
    """Where the earliest match of any regex in text[start:end] begins (end if none)."""
    for regex in regexes:
        m = regex.search(text, start, end)
        if m:
            end = m.start()
    return end


def _lowercase_rule(pattern: str) -> tuple[re.Pattern, bool]:
    """A case-insensitive trigger as a case-sensitive regex on the lower-cased letter.

    ``(?i)`` and a leading ``\\b`` stop the regex engine from scanning for the
    pattern's first letters; on lower-cased text with the word boundary checked in
    code, the same triggers cost half as much.
    RETURNS (tuple): the regex and whether a word boundary must precede a match.
    """
    flags = 0
    if pattern.startswith("(?i)"):
        pattern = pattern[4:]
    else:
        flags = re.IGNORECASE
    needs_boundary = pattern.startswith("\\b")
    if needs_boundary:
        pattern = pattern[2:]
    return re.compile(pattern, flags), needs_boundary
