"""DIAGNOSIS spans from the lists that follow diagnosis triggers, and named conditions.

annotation.md: a diagnosis is a condition the letter gives as a diagnosis or
as what is treated ("diagnosed with X", "diagnoses are X, Y", "treatment for
X", "history of X"). The list after a trigger is split at semicolons, commas and
"and" (see DiagnosisLists); each element is cut before a trailing clause ("with
significant muscle spasm", "affecting the bilateral ankles"). After a weak trigger
an element is kept only if one of its words is a condition word, so complaints
and procedures ("status post removal of the first rib") stay out. Triggers that
the words before deny or rule out ("no history of") give nothing. Guideline prose
gives the condition a treatment is for ("recommended for neuropathic pain", and
the items of "recommended for any of the following: (1) X (2) Y"), but not
symptom words (low back pain) nor a condition the letter says is absent. Named
conditions of the lexicon are tagged elsewhere too (imr_nlp.pipeline.entities), unless
denied, ruled out or reported as a finding.
"""

import re
from typing import Any

_SPLIT = re.compile(r"\s*(?:;\s*(?:and\s+)?|,\s*(?:and\s+|or\s+)?|\s+and\s+|\s+&\s+)")
# a list with semicolons is split at them only: its commas belong to coded names
# ("strain of muscle, fascia, and tendon at neck level; carpal tunnel syndrome, left upper limb")
_SPLIT_SEMICOLONS = re.compile(r"\s*;\s*(?:and\s+)?")
_WORD = re.compile(r"[A-Za-z][\w'-]*")
_LEAD = re.compile(r"[\s:]*")
NOT_AFTER_WINDOW = 40  # characters before a trigger or term searched for "no", "rule out" ...
FINDING_WINDOW = 120  # characters before a named condition searched for finding words
ENUM_WINDOW = 1500  # characters after an enumeration lead searched for its items
ENUM_ITEM_WORDS = 6  # words of an enumerated item searched for its condition word
MODIFIER_WORDS = (
    3  # an element of at most this many words without a condition word can modify the next
)
STRONG_HEADLESS_WORDS = 12  # longer elements without a condition word end even a diagnosis list
MAX_ELEMENT_CHARS = 120  # a longer list element is prose, not a condition


class DiagnosisLists:
    """Split the lists after diagnosis triggers into DIAGNOSIS spans.

    A trigger row with ``"prose": true`` (guideline prose, "recommended for X") also
    drops the symptom words of ``prose_reject`` rows ("low back pain"). A trigger row
    with ``"strong": true`` ("diagnosed with", "the diagnoses are") introduces a list
    of diagnoses: every element is kept unless a reject rule matches. After any other
    trigger ("treatment for", "history of") an element is kept only if one of its
    words is a condition word (a ``head``).

    Lists split at semicolons, and at commas and "and" only between whole
    conditions (annotation.md): an element without a condition word joins the
    element after it when "and" follows it, or when it is one word before a comma
    ("neck, back and shoulder pain", "right foot and right shoulder pain"); a
    ``qualifier`` after a comma joins the element before it ("sprain of right
    knee, initial encounter", "radiculopathy, cervical region").
    """

    def __init__(self, rules: list[dict[str, Any]], *, max_list_chars: int = 800):
        self.rules = rules
        self.max_list_chars = max_list_chars
        self._triggers = [
            (*_lowercase_rule(r["pattern"]), bool(r.get("strong")), bool(r.get("prose")))
            for r in rules
            if r["kind"] == "trigger"
        ]
        self._prose_rejects = [
            re.compile(r["pattern"]) for r in rules if r["kind"] == "prose_reject"
        ]
        self._heads = [re.compile(r["pattern"]) for r in rules if r["kind"] == "head"]
        self._rejects = [re.compile(r["pattern"]) for r in rules if r["kind"] == "reject"]
        self._trims = [re.compile(r["pattern"]) for r in rules if r["kind"] == "trim"]
        self._ends = [re.compile(r["pattern"]) for r in rules if r["kind"] == "list_end"]
        self._qualifiers = [
            (re.compile(r["pattern"]), bool(r.get("not_before_and")))
            for r in rules
            if r["kind"] == "qualifier"
        ]
        self._headless_rejects = [
            re.compile(r["pattern"]) for r in rules if r["kind"] == "headless_reject"
        ]
        self._not_after = [re.compile(r["pattern"]) for r in rules if r["kind"] == "not_after"]
        self._absent_after = [
            re.compile(r["pattern"]) for r in rules if r["kind"] == "absent_after"
        ]
        self._finding_before = [
            re.compile(r["pattern"]) for r in rules if r["kind"] == "finding_before"
        ]
        self._lead_trims = [re.compile(r["pattern"]) for r in rules if r["kind"] == "lead_trim"]
        self._clause_starts = [
            re.compile(r["pattern"]) for r in rules if r["kind"] == "clause_start"
        ]
        self._enum_leads = [
            re.compile(r["pattern"]) for r in rules if r["kind"] == "enumeration_lead"
        ]
        self._enum_items = [
            re.compile(r["pattern"]) for r in rules if r["kind"] == "enumeration_item"
        ]

    def enumerated(self, text: str) -> list[tuple[int, int]]:
        """Conditions enumerated after a lead ("recommended for any of the following: (1) X ...
        (2) Y"): each item from its marker through its first run of condition words, when a
        condition word comes within ENUM_ITEM_WORDS words."""
        out = []
        for lead in self._enum_leads:
            for m in lead.finditer(text):
                window_end = min(len(text), m.end() + ENUM_WINDOW)
                expected = 1
                for item_re in self._enum_items:
                    for item in item_re.finditer(text, m.end(), window_end):
                        if int(item.group(1)) != expected:
                            continue
                        expected += 1
                        span = self._head_run(text, item.end())
                        if span is not None and not self.absent_after(text, span[1]):
                            out.append(span)
        return out

    def _head_run(self, text: str, start: int) -> tuple[int, int] | None:
        end = None
        for i, w in enumerate(_WORD.finditer(text, start, start + 200)):
            if i >= ENUM_ITEM_WORDS or re.search(r"[.,;:()]", text[start : w.start()]):
                break
            if self.has_head(w.group()):
                end = w.end()
            elif end is not None:
                break
        return (start, end) if end is not None else None

    def finding_before(self, text: str, start: int) -> bool:
        """True if a named condition at ``start`` (outside a diagnosis list) is reported as a
        finding ("MRI revealed ...", "findings indicative of ...") in its own sentence."""
        lo = max(0, start - FINDING_WINDOW)
        dot = text.rfind(". ", lo, start)
        before = text[(dot + 2 if dot >= 0 else lo) : start]
        return any(r.search(before) for r in self._finding_before)

    def denied_before(self, text: str, start: int) -> bool:
        """True if the words before ``start`` deny, rule out or suspect what follows
        ("no history of", "to rule out", "suspected")."""
        before = text[max(0, start - NOT_AFTER_WINDOW) : start]
        return any(r.search(before) for r in self._not_after)

    def absent_after(self, text: str, end: int) -> bool:
        """True if the words after ``end`` say the patient does not have it ("which was not present")."""
        after = text[end : end + NOT_AFTER_WINDOW]
        return any(r.match(after) for r in self._absent_after)

    def has_head(self, element: str) -> bool:
        """True if a word of the element (parts of "a/b" too) is a condition word."""
        return any(
            h.match(w)
            for word in _WORD.findall(element)
            for w in word.split("/")
            for h in self._heads
        )

    def is_rejected(self, element: str) -> bool:
        return any(r.search(element) for r in self._rejects)

    def is_condition(self, element: str) -> bool:
        """True if a word of the element is a condition word and no reject rule matches."""
        return not self.is_rejected(element) and self.has_head(element)

    def __call__(self, text: str) -> list[tuple[int, int]]:
        """Find DIAGNOSIS spans in list context.

        text (str): the letter.
        RETURNS (list[tuple[int, int]]): character spans, in text order, not overlapping.
        """
        found: list[tuple[int, int]] = []
        low = text.lower()
        if len(low) != len(text):  # a character whose lower case is longer: offsets would shift
            low = text
        for trigger, needs_boundary, strong, prose in self._triggers:
            for m in trigger.finditer(low):
                if needs_boundary and m.start() > 0 and low[m.start() - 1].isalnum():
                    continue
                if self.denied_before(text, m.start()):
                    continue
                lead = _LEAD.match(text, m.end())  # [\s:]* matches everywhere
                start = lead.end() if lead else m.end()
                end = _first(self._ends, text, start, min(len(text), start + self.max_list_chars))
                found.extend(self._elements(text, start, end, strong, prose))
        found.extend(self.enumerated(text))
        found.sort()
        out: list[tuple[int, int]] = []
        for s, e in found:
            if out and s < out[-1][1]:
                if e - s > out[-1][1] - out[-1][0]:
                    out[-1] = (s, e)
                continue
            out.append((s, e))
        return out

    def _pieces(self, text: str, start: int, end: int) -> list[tuple[int, int, str, bool]]:
        """The list elements, trimmed: (start, end, the separator after it, whether a trim
        rule cut it)."""
        out = []
        pos = start
        split = _SPLIT_SEMICOLONS if ";" in text[start:end] else _SPLIT
        for sep in list(split.finditer(text, start, end)) + [None]:
            el_end = sep.start() if sep else end
            s = pos
            e = _first(self._trims, text, s, el_end)
            cut = e < el_end
            while e > s and not text[e - 1].isalnum():
                e -= 1
            while s < e and not text[s].isalnum():
                s += 1
            for lead in self._lead_trims:
                m = lead.match(text, s, e)
                if m:
                    s = m.end()
            kind = "end" if sep is None else sep.group(0).strip()[:1]
            if kind not in (",", ";", "end"):
                kind = "and"
            out.append((s, e, kind, cut))
            if sep is None:
                break
            pos = sep.end()
        return out

    def _elements(
        self, text: str, start: int, end: int, strong: bool = False, prose: bool = False
    ) -> list[tuple[int, int]]:
        pieces = self._pieces(text, start, end)
        merged: list[list[int]] = []  # [start, end, has_head]
        pending: int | None = None
        after_comma, prev_end = False, -1
        in_clause = (
            False  # inside a trailing clause a trim rule cut off ("affecting ankles and feet")
        )
        for s, e, sep, cut in pieces:
            if in_clause and not self.has_head(text[s:e]):
                in_clause = sep == "and"
                continue
            in_clause = cut and sep == "and"
            if s >= e:
                pending, after_comma = None, sep == ","
                continue
            piece = text[s:e]
            if any(c.match(piece) for c in self._clause_starts):
                break  # the list has ended: a clause starts
            if (
                after_comma
                and merged
                and merged[-1][1] == prev_end
                and not self.has_head(piece)
                and any(
                    q.match(piece) and not (nba and sep == "and") for q, nba in self._qualifiers
                )
            ):
                merged[-1][1] = e
            else:
                head = self.has_head(piece)
                words = _WORD.findall(piece)
                short = len(words) <= MODIFIER_WORDS and "of" not in (w.lower() for w in words)
                if (
                    not head
                    and not cut
                    and short
                    and (sep == "and" or (sep == "," and len(words) == 1))
                ):
                    pending = s if pending is None else pending
                    after_comma, prev_end = sep == ",", e
                    continue
                if pending is not None and not head and merged and merged[-1][2]:
                    # a run of sites after a condition belongs to it: "strain in right hip, ankle, and foot"
                    merged[-1][1] = e
                else:
                    merged.append([s if pending is None else pending, e, head])
                pending = None
            after_comma, prev_end = sep == "," and not cut, e
        out = []
        for s, e, has_head in merged:
            element = text[s:e]
            if not element or len(element) > MAX_ELEMENT_CHARS or self.is_rejected(element):
                continue
            if not has_head and (not strong or len(_WORD.findall(element)) > STRONG_HEADLESS_WORDS):
                break  # past the list: what follows is prose, not conditions
            if prose and any(r.search(element) for r in self._prose_rejects):
                continue
            if not has_head and any(r.search(element) for r in self._headless_rejects):
                continue
            if self.absent_after(text, e):
                continue
            if has_head or (strong and any(c.isalpha() for c in element)):
                out.append((s, e))
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
