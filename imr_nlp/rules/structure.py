"""The structure of an IMR letter, read from ``patterns/structure.jsonl``: pure functions over text.

``Structure`` compiles the rows of that file once and answers, for a letter's text:

- ``items(text)``: the disputed items, each with its header (wrapped over
  several lines, the outcome word possibly alone on the next line, a page break
  inside), its region, its outcome and, for a request the UR modified, the
  original request, what was authorized and the part IMR decided;
- ``header(text)``: the header block of letters published from 2016 (case
  number, dates, priority);
- ``regions(text)``: the labelled parts of each item (guideline lines, rationale);
- ``layout(text, items)``: which of records.md's layouts the letter has;
- ``guideline_line(line)``: source, first document and its sections of a
  "MAXIMUS guideline:" line;
- ``letter_starts(text)``: where letters start (several in one file).

Every component that needs structure takes this one object from the pipeline's
``imr_structure`` component, which saves the rule file with ``nlp.to_disk``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..patterns import load_patterns
from .dates import DATE, iso_date
from .spans import hyphen_tolerant

# Windows that stay in code.
# The most lines an item header may wrap over (a modified request's three sentences included).
MAX_HEADER_LINES = 6
# The longest a labelled region (guideline line, rationale) may run when no next label ends it.
REGION_CAP = 4000
# The longest an item header may be, in characters.
MAX_HEADER_CHARS = 1200
# Line breaks a header block may span before the title after it starts another letter.
LETTER_HEADER_LINES = 12

_LINE = re.compile(r"[^\n]*\n?")
_WS = re.compile(r"\s+")


def collapse(s: str) -> str:
    """Runs of whitespace as one space, stripped."""
    return _WS.sub(" ", s).strip()


@dataclass
class Item:
    """One disputed item of a letter; offsets index the letter's text."""

    request_text: str
    header: tuple[int, int]  # the part of the header IMR decided (entities are read here)
    region: tuple[int, int]  # from the end of the header to the next item
    outcome: str | None
    outcome_span: tuple[int, int] | None = None
    original_request: str | None = None
    authorized: str | None = None
    full_header: tuple[int, int] | None = None  # the whole header, framing words included
    conclusion: tuple[int, int] | None = None  # 2013: the numbered conclusion sentence
    numbered: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Plain data (survives DocBin and process boundaries)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class Structure:
    """The compiled rules of ``patterns/structure.jsonl``."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        rows = self.rows
        by = lambda kind: [r for r in rows if r["kind"] == kind]  # noqa: E731
        self.sections = [
            {"category": r["category"], "literal": r["literal"]} for r in by("section")
        ]
        outcomes = by("outcome")
        self.outcome_of = {r["literal"]: r["outcome"] for r in outcomes}
        words = "|".join(re.escape(r["literal"]) for r in outcomes)
        # "<text>: Upheld" on one line, or the word alone on a line after "<text>:"
        self._outcome_line = re.compile(
            rf"(?m)^(?P<head>[^\n]*?)(?P<colon>:)?[ \t\f]*(?P<word>{words})[ \t\f]*$"
        )
        self._intro = [re.compile(r["pattern"]) for r in by("decisions_intro")]
        self._header_end = re.compile(
            "(?:" + "|".join(r["pattern"] for r in by("header_end")) + r")[ \t\f]*$"
        )
        self._inside = [
            re.compile(_any_space(r["pattern"]) + r"[ \t\f]*$") for r in by("modified_start")
        ]
        # a header wraps anywhere: a space in these patterns stands for any run of whitespace
        self._modified = [re.compile(_any_space(r["pattern"]), re.DOTALL) for r in by("modified")]
        self._trailer = [re.compile(r["pattern"]) for r in by("header_trailer")]
        numbered = {r["part"]: r["pattern"] for r in by("numbered_item")}
        conclusion = numbered.get("conclusion")
        if conclusion:
            for word in re.findall(r"\{(\w+)\}", conclusion):
                conclusion = conclusion.replace("{" + word + "}", hyphen_tolerant(word))
        self._numbered = re.compile(conclusion, re.MULTILINE | re.DOTALL) if conclusion else None
        details = numbered.get("details")
        self._details = re.compile(details, re.MULTILINE) if details else None
        self._fields = [
            (r["field"], r.get("type", "text"), re.compile(r["pattern"].replace("{date}", DATE)))
            for r in by("header_field")
        ]
        line = {r["part"]: re.compile(r["pattern"]) for r in by("guideline_line")}
        self._gl = line
        self._sources = [(r["source"], re.compile(r["pattern"])) for r in by("guideline_source")]
        starts = [
            re.escape(r["literal"]) if "literal" in r else r["pattern"] for r in by("letter_start")
        ]
        self._letter_start = (
            re.compile(r"(?m)^[ \t\f]*(?:" + "|".join(starts) + ")") if starts else None
        )
        item_labels = ("claims_administrator_guideline", "imr_guideline", "decision_rationale")
        labels = sorted(
            {r["literal"] for r in self.sections if r["category"] in item_labels},
            key=len,
            reverse=True,
        )
        self._label_category = {
            r["literal"]: r["category"] for r in self.sections if r["category"] in item_labels
        }
        self._labels = re.compile(r"(?m)^[ \t\f]*(" + "|".join(map(re.escape, labels)) + ")")
        decisions = sorted(
            {r["literal"] for r in self.sections if r["category"] == "decisions"},
            key=len,
            reverse=True,
        )
        self._decisions = re.compile(
            r"(?m)^[ \t\f]*(?:" + "|".join(map(re.escape, decisions)) + ")"
        )
        self._layout_titles = [
            (r["layout"], re.compile(r"(?m)^[ \t\f]*" + re.escape(r["literal"])))
            for r in rows
            if r["kind"] == "section" and r.get("layout")
        ]

    @classmethod
    def default(cls) -> Structure:
        """The structure of ``patterns/structure.jsonl`` as shipped."""
        return cls(load_patterns("structure"))

    # ------------------------------------------------------------------ items

    def items(self, text: str) -> list[Item]:
        """The disputed items of a letter, in letter order."""
        found = self._decision_items(text)
        return found if found else self._numbered_items(text)

    def _decision_items(self, text: str) -> list[Item]:
        m = self._decisions.search(text)
        floor = m.end() if m else 0
        heads: list[
            tuple[int, int, int, str, tuple[int, int]]
        ] = []  # start, colon, end, outcome, word span
        for o in self._outcome_line.finditer(text, floor):
            word = (o.start("word"), o.end("word"))
            if o.group("colon"):
                if not o.group("head").strip():
                    continue
                colon = o.start("colon")
                first = o.start()
            else:
                if o.group("head").strip():
                    continue  # the word inside prose, not a decision
                # the word alone: the header ends with ":" on an earlier non-blank line
                prev = text[floor : o.start()].rstrip()
                if not prev.endswith(":"):
                    continue
                colon = floor + len(prev) - 1
                first = text.rfind("\n", floor, colon) + 1
            lo = max(heads[-1][2] if heads else floor, floor)
            start = self._after_intro(text, self._header_start(text, first, lo), colon)
            heads.append((start, colon, o.end(), self.outcome_of[o.group("word")], word))
        items = []
        for i, (start, colon, end, outcome, word) in enumerate(heads):
            nxt = heads[i + 1][0] if i + 1 < len(heads) else len(text)
            items.append(self._item(text, start, colon, (end, nxt), outcome, word))
        return items

    def _after_intro(self, text: str, start: int, colon: int) -> int:
        """``start``, or where the header begins after the decisions intro sentence when that
        sentence sits inside [start, colon) (a first item glued to the intro line)."""
        for rx in self._intro:
            m = rx.search(text, start, colon)
            if m:
                rest = text[m.end() : colon]
                return m.end() + len(rest) - len(rest.lstrip())
        return start

    def _header_start(self, text: str, first: int, lo: int) -> int:
        """Start of a header whose last line starts at ``first``: earlier lines belong to it
        until one ends a sentence or a label (a modified request's own sentences excepted)."""
        start = first
        for _ in range(MAX_HEADER_LINES - 1):
            if start <= lo:
                return max(start, lo)
            prev_end = text.rfind("\n", lo, start)
            if prev_end < 0:
                return lo if text[lo:start].strip() else start
            # skip blank lines (plain text letters put one between every line)
            line_end = prev_end
            line_start = text.rfind("\n", lo, line_end) + 1
            while not text[line_start:line_end].strip() and line_start > lo:
                line_end = line_start - 1
                line_start = text.rfind("\n", lo, line_end) + 1
            line = text[line_start:line_end]
            if not line.strip() or self._ends_header(line) or self._is_title(line):
                return start
            if start - line_start > MAX_HEADER_CHARS:
                return start
            start = line_start + (len(line) - len(line.lstrip()))
        return start

    def _ends_header(self, line: str) -> bool:
        if not self._header_end.search(line):
            return False
        return not any(rx.search(line) for rx in self._inside)

    def _is_title(self, line: str) -> bool:
        s = line.strip()
        return any(s.startswith(r["literal"]) for r in self.sections) or any(
            rx.search(s) for rx in self._intro
        )

    def _item(
        self,
        text: str,
        start: int,
        colon: int,
        region: tuple[int, int],
        outcome: str,
        word: tuple[int, int],
    ) -> Item:
        raw = text[start:colon]
        lead = len(raw) - len(raw.lstrip())
        start += lead
        raw = raw.strip()
        ds, de = start, start + len(raw)
        original = authorized = None
        for rx in self._modified:
            m = rx.match(raw)
            if m:
                original = collapse(m.group("original"))
                authorized = collapse(m.group("authorized"))
                ds, de = start + m.start("decided"), start + m.end("decided")
                break
        decided = text[ds:de]
        for rx in self._trailer:
            t = rx.search(decided)
            if t:
                de = ds + t.start()
                decided = text[ds:de]
        return Item(
            request_text=collapse(decided),
            header=(ds, de),
            region=region,
            outcome=outcome,
            outcome_span=word,
            original_request=original,
            authorized=authorized,
            full_header=(start, start + len(raw)),
        )

    def _numbered_items(self, text: str) -> list[Item]:
        if self._numbered is None:
            return []
        numbered = [
            m for m in self._numbered.finditer(text) if "\n\n\n" not in m.group(2).replace(" ", "")
        ]
        details = (
            {int(m.group(1)): m.start() for m in self._details.finditer(text)}
            if self._details
            else {}
        )
        starts = sorted(details.values())
        items = []
        for m in numbered:
            n = int(m.group(1))
            if n in details:
                start = details[n]
                later = [s for s in starts if s > start]
                end = later[0] if later else len(text)
            else:
                start, end = m.end(), len(text)
            items.append(
                Item(
                    request_text=collapse(m.group(2)),
                    header=(m.start(2), m.end(2)),
                    region=(start, end),
                    outcome="upheld" if m.group(3) else "overturned",
                    conclusion=(m.start(), m.end()),
                    numbered=True,
                )
            )
        return items

    # ------------------------------------------------------------- the letter

    def header(self, text: str) -> dict[str, Any]:
        """Fields of the header block (records.md), None where absent. Read before the first
        section title, so that prose later in the letter is never taken for the header."""
        first = min((m.start() for _, m in self._titles(text)), default=len(text))
        head = text[:first]
        out: dict[str, Any] = {}
        for name, kind, rx in self._fields:
            m = rx.search(head)
            value = m.group("value") if m else None
            if value is not None and kind == "date":
                value = iso_date(value)
            elif value is not None and kind == "lower":
                value = value.lower()
            elif value is not None:
                value = collapse(value)
            out.setdefault(name, value)
            if out[name] is None:
                out[name] = value
        return out

    def _titles(self, text: str):
        for r in self.sections:
            m = re.search(r"(?m)^[ \t\f]*" + re.escape(r["literal"]), text)
            if m:
                yield r, m

    def layout(self, text: str, items: list[Item]) -> str:
        """``numbered_2013``, ``issues_decisions``, ``decisions_documents`` or ``unknown``."""
        found = {name for name, rx in self._layout_titles if rx.search(text)}
        if "decisions_documents" in found:
            return "decisions_documents"
        if items and items[0].numbered:
            return "numbered_2013"
        if "issues_decisions" in found:
            return "issues_decisions"
        if "numbered_2013" in found:
            return "numbered_2013"
        return "unknown"

    def regions(self, text: str) -> list[tuple[str, int, int]]:
        """``(category, body_start, body_end)`` of each guideline line and rationale, in order."""
        matches = list(self._labels.finditer(text))
        out = []
        for i, m in enumerate(matches):
            end = (
                matches[i + 1].start()
                if i + 1 < len(matches)
                else min(len(text), m.end() + REGION_CAP)
            )
            out.append((self._label_category[m.group(1)], m.end(), end))
        return out

    def letter_starts(self, text: str) -> list[int]:
        """Offsets of the titles that start letters."""
        if self._letter_start is None:
            return []
        starts: list[int] = []
        for m in self._letter_start.finditer(text):
            # a header block and the title after it start one letter, not two
            if starts and not text[starts[-1] : m.start()].count("\n") > LETTER_HEADER_LINES:
                continue
            starts.append(m.start())
        return starts

    # ------------------------------------------------------- guideline lines

    def guideline_line(self, line: str) -> dict[str, Any]:
        """Source, first document and its sections of a "MAXIMUS guideline:" line.

        RETURNS (dict): ``guideline_source`` (MTUS, ACOEM, ODG, other or None),
            ``guideline_document`` and ``guideline_sections`` as written (None if absent), and
            ``matched``: whether the line follows the structure at all (cites or says it cites nothing).
        """
        out: dict[str, Any] = {
            "guideline_source": None,
            "guideline_document": None,
            "guideline_sections": None,
            "matched": False,
        }
        line = collapse(line)
        gl = self._gl
        if "no_citation" in gl and gl["no_citation"].search(line):
            out["matched"] = True
            return out
        cites = [m.end() for m in gl["citation"].finditer(line)] if "citation" in gl else []
        if not cites:
            return out
        out["matched"] = True
        outside = "outside" in gl and gl["outside"].search(line) is not None
        ends = [m.start() for m in gl["citation"].finditer(line)][1:] + [len(line)]
        first = line[cites[0] : ends[0]].strip()
        if outside or ("non_mtus" in gl and gl["non_mtus"].match(first)):
            m = gl["non_mtus"].match(first) if "non_mtus" in gl else None
            doc = first[m.end() :] if m else first
            doc = _strip_end(doc)
            out["guideline_document"] = doc or None
            out["guideline_source"] = self.source_of(doc) or "other" if doc else None
            return out
        sec = gl["sections"].search(first) if "sections" in gl else None
        doc = first[: sec.start()] if sec else first
        named = doc  # the source is what the whole name says ("MTUS 2009: ACOEM ... Chapter 12")
        pages = gl["pages"].search(doc) if "pages" in gl else None
        if pages:
            doc = doc[: pages.start()]
        sections = None
        if not sec and "document_end" in gl:
            end = gl["document_end"].search(doc)
            if end and doc[end.end() :].strip(" ,.;"):
                sections = _strip_end(doc[end.end() :]) or None
                doc = doc[: end.end()]
        if sec:
            sections = first[sec.end() :]
            nxt = gl["next_document"].search(sections) if "next_document" in gl else None
            if nxt:
                sections = sections[: nxt.start()]
            pg = gl["pages"].search(sections) if "pages" in gl else None
            if pg:
                sections = sections[: pg.start()]
            sections = _strip_end(sections) or None
        doc = _strip_end(doc)
        out["guideline_document"] = doc or None
        out["guideline_sections"] = sections
        out["guideline_source"] = (self.source_of(named) or "other") if doc else None
        return out

    def source_of(self, document: str) -> str | None:
        """The source a cited document names (first rule that matches), or None."""
        for source, rx in self._sources:
            if rx.search(document):
                return source
        return None


@lru_cache(maxsize=1)
def shipped() -> Structure:
    """The structure of the package's own ``patterns/structure.jsonl`` (built once)."""
    return Structure.default()


def _any_space(pattern: str) -> str:
    return pattern.replace(" ", r"\s+")


def _strip_end(s: str) -> str:
    return s.strip().rstrip(".,;: ").strip()
