"""GUIDELINE spans: a guideline's name and the chapter, topic, section and pages that follow it.

Two shapes occur in IMR letters (annotation.md):

- the guideline lines of an item ("MAXIMUS guideline: Decision based on MTUS
  Chronic Pain Treatment Guidelines Benzodiazepines Page(s): 24."): the
  citation runs from the name to the end of its sentence;
- prose ("The MTUS Guidelines, page 24, state", "MTUS, Benzodiazepines, page
  24", "ODG, Pain Chapter"): the name is extended only by a tail that is
  clearly part of the citation (a page, a section, a chapter, a topic that is
  followed by a page, and "for/under <topic>" clauses after a page).
"""

import re
from typing import Any

from .structure import shipped

NAME_LOOKBACK = 40  # characters before a name searched for the words that start it ("before" rows)
PIECES = (
    "page",
    "topic",
    "not_topic_word",
    "page_numbers",
    "citation_end",
    "section",
    "chapter",
    "citation_lead",
    "quoted_title",
    "document_done",
)  # one row each in guidelines.jsonl


class GuidelineFinder:
    """Find GUIDELINE spans in a text from the rules of ``patterns/guidelines.jsonl``."""

    def __init__(self, rules: list[dict[str, Any]]):
        self.rules = rules
        names = [r for r in rules if r["kind"] == "name"]
        # one regex per name: each starts with a literal word, which the regex engine scans
        # for directly (joined into one alternation they would cost 20x more)
        self._name_rows = names
        self._names = [re.compile(r["pattern"]) for r in names]
        self._before = [
            (re.compile(r["pattern"]), set(r["sources"])) for r in rules if r["kind"] == "before"
        ]
        piece = {r["kind"]: r["pattern"] for r in rules if r["kind"] in PIECES}
        page = piece["page"]
        topic = piece["topic"].replace("{not_topic_word}", piece["not_topic_word"])
        self._citation_end = re.compile(piece["citation_end"])
        self._page_numbers = re.compile(piece["page_numbers"])
        self._lead = re.compile(piece["citation_lead"])
        self._page = re.compile(page)
        self._tails = [
            re.compile(r",?\s*" + piece["section"]),
            re.compile(r",?\s*" + page),
            re.compile(r",?\s+" + topic + r",?\s*" + page),
            re.compile(r",?\s+" + piece["chapter"]),
        ]
        self._clause = re.compile(r",?\s+(?:for|under)\s+" + topic)
        self._quoted = re.compile(piece["quoted_title"])
        self._next_documents = [
            (re.compile(r["pattern"]), bool(r.get("requires_done")))
            for r in rules
            if r["kind"] == "next_document"
        ]
        self._document_done = re.compile(piece["document_done"])
        self._narrower = [
            (r["source"], r["pattern"]) for r in rules if r["kind"] == "narrower_source"
        ]

    def names(self, text: str) -> list[tuple[int, int, str]]:
        """All guideline names, in text order, not overlapping."""
        found = sorted(
            (m.start(), -m.end(), i)
            for i, regex in enumerate(self._names)
            for m in regex.finditer(text)
        )
        out: list[tuple[int, int, str]] = []
        joins = False
        for start, neg_end, i in found:
            if out and start < out[-1][1]:
                continue
            row = self._name_rows[i]
            end, source = -neg_end, row["source"]
            for regex, sources in self._before:
                if source in sources:
                    b = regex.search(text, max(0, start - NAME_LOOKBACK), start)
                    if b:
                        start = b.start()
            if joins and out and text[out[-1][1] : start].isspace():
                # "Non-MTUS Citation Official Disability Guidelines": one name, the second's source
                start = out.pop()[0]
            out.append((start, end, source))
            joins = bool(row.get("joins_next"))
        return out

    def extend_prose(self, text: str, end: int) -> int:
        """Extend a name in prose over the citation tail that belongs to it."""
        q = self._quoted.match(text, end)
        if q:
            return q.end()
        for tail in self._tails:
            m = tail.match(text, end)
            if m:
                end = m.end()
                if tail is not self._tails[-1] and tail is not self._tails[0]:
                    while True:
                        c = self._clause.match(text, end)
                        if not c:
                            break
                        end = c.end()
                break
        return end

    def __call__(
        self, text: str, regions: list[tuple[str, int, int]] | None = None
    ) -> list[dict[str, Any]]:
        """Find GUIDELINE spans.

        text (str): the letter.
        regions (list | None): the letter's labelled regions (``doc._.imr_structure["regions"]``);
            read with the shipped structure when None.
        RETURNS (list[dict]): ``{"start", "end", "source", "pages"}`` in text order.
        """
        names = self.names(text)
        bounds = [
            (s, e)
            for cat, s, e in (shipped().regions(text) if regions is None else regions)
            if cat != "decision_rationale"
        ]
        names = sorted(names + self._unnamed_citations(text, bounds, names))
        spans: list[dict[str, Any]] = []
        used_until = -1
        for start, end, source in names:
            if start < used_until:
                continue
            region = next(((s, e) for s, e in bounds if s <= start < e), None)
            if region is not None:
                m = self._citation_end.search(text, end, region[1])
                stop = m.start() if m else region[1]
                end = max(end, stop)
                parts = self.split_documents(text, start, end)
            else:
                parts = [(start, self.extend_prose(text, end))]
            for part_start, end in parts:
                while end > part_start and text[end - 1] in ".,;: \t\n\f":
                    end -= 1
                part_source = source
                sources = {src for s, e, src in names if part_start <= s < end}
                if part_start != start:  # a second document: the source of its own name, if any
                    own = [src for s, e, src in names if s == part_start]
                    part_source = own[0] if own else source
                for broad, narrow in self._narrower:
                    if part_source == broad and narrow in sources:
                        part_source = narrow
                spans.append(
                    {
                        "start": part_start,
                        "end": end,
                        "source": part_source,
                        "pages": self.pages(text[part_start:end]),
                    }
                )
                used_until = end
        return spans

    def split_documents(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        """A guideline line naming several documents, one (start, end) per document:
        split at "and" (or ";") before a document's title once the document before it
        has its year, chapter, sections or pages."""
        parts = []
        pos = start
        splits = sorted(
            (
                (m.start(), m.end(), done)
                for regex, done in self._next_documents
                for m in regex.finditer(text, start, end)
            )
        )
        for s, e, requires_done in splits:
            if s <= pos or (requires_done and not self._document_done.search(text, pos, s)):
                continue
            parts.append((pos, s))
            pos = e
        parts.append((pos, end))
        return parts

    def _unnamed_citations(
        self, text: str, regions: list[tuple[int, int]], names: list[tuple[int, int, str]]
    ) -> list[tuple[int, int, str]]:
        """In an item's guideline lines, a citation whose source has no known name
        ("Decision based on Goodman and Gilman's ...") is still a GUIDELINE, source "other"."""
        out = []
        starts = {s for s, _, _ in names}
        for rs, re_ in regions:
            for m in self._lead.finditer(text, rs, re_):
                start = m.end()
                if not text[start : start + 1].isalnum():
                    continue
                stop = self._citation_end.search(text, start, re_)
                stop_at = stop.start() if stop else re_
                if any(start <= s < stop_at for s in starts):
                    continue  # the citation names a known guideline: its span starts at the name
                out.append((start, start + 1, "other"))
        return out

    def pages(self, citation: str) -> str | None:
        """The pages a citation gives, as written ("24", "63-66", "78, 80")."""
        m = self._page.search(citation)
        if not m:
            return None
        n = self._page_numbers.search(m.group(0))
        return re.sub(r"\s+", " ", n.group(0)) if n else None
