"""imr_sentences: a fast rule sentence splitter for PDF-extracted IMR letters.

medspaCy's default splitter (PyRuSH) matches its rules in pure Python and runs
about 35 times slower than tokenizing (issue 4). IMR letters need only a few
rules, applied to the text with compiled regular expressions:

- a sentence ends at ``.``/``?``/``!`` before an upper-case word or digit,
  except after an abbreviation (``Inc.``, ``Dr.``, ``e.g.``);
- words glued across a PDF line break (``working.The``) are split;
- a PDF line break inside a sentence is not a boundary. Letters extracted
  from PDFs put a blank line after every line (`` \\n\\n``), so there a
  paragraph is two or more blank lines; in plain text it is one;
- titles (``CLINICAL CASE SUMMARY``) and item headers (``Norco 10mg, #90:
  Upheld``) are sentences of their own, and labelled lines
  (``MAXIMUS guideline:``, ``1) MAXIMUS Federal Services ...``) start one.

The result is written as ``SENT_START`` in one array operation, so
``doc.sents`` and medspaCy's ConText (which scopes by sentence) work as usual.
"""

import re
from bisect import bisect_left
from typing import Any

import numpy
from spacy.attrs import SENT_START
from spacy.language import Language
from spacy.tokens import Doc

from ..factories import imr_factory
from ._rules import RuleFiles

_END = re.compile(r"[.!?][\"')\]]*(?=\s+[\"'(\[]?[A-Z0-9])")
_GLUED = re.compile(r"(?<=[a-z]{2})[.;](?=[A-Z][a-z])")
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")
_PARA_PDF = re.compile(r"\n(?:[ \t\f]*\n){2,}[ \t\f]*")
_PARA_PLAIN = re.compile(r"\n(?:[ \t\f]*\n)+[ \t\f]*")
_NONSPACE = re.compile(r"\S")
ABBREVIATION_LOOKBACK = 12  # characters before a full stop searched for an abbreviation


class SentenceSplitter(RuleFiles):
    """Set sentence boundaries of an IMR letter from compiled text rules."""

    rule_files = ("sentences",)

    def __init__(self, nlp: Language, name: str = "imr_sentences", *, overwrite: bool = True):
        """The splitter; its rules (``patterns/sentences.jsonl``) are read by ``initialize()``.

        nlp (Language): the pipeline.
        name (str): the component name.
        overwrite (bool): replace boundaries set by an earlier component.
        """
        self.name = name
        self.overwrite = overwrite

    def set_rules(self, rules: list[dict[str, Any]]) -> None:
        """Compile the splitter's rules (rows of ``patterns/sentences.jsonl``)."""
        self.rules = rules
        self.abbreviations = {r["pattern"].lower() for r in rules if r["kind"] == "abbreviation"}
        starts = [r["pattern"] for r in rules if r["kind"] == "line_start"]
        own = [r["pattern"] for r in rules if r["kind"] == "own_line"]
        self._line_start = (
            re.compile(r"^[ \t\f]*(?:" + "|".join(starts) + ")", re.MULTILINE) if starts else None
        )
        self._own_line = (
            re.compile(
                r"^[ \t\f]*(?:" + "|".join(f"(?:{p})" for p in own) + r")[ \t\f]*$", re.MULTILINE
            )
            if own
            else None
        )

    def boundaries(self, text: str) -> list[int]:
        """Character offsets where sentences start.

        text (str): the letter.
        RETURNS (list[int]): sorted offsets of the first character of each sentence.
        """
        self.ensure_rules()
        starts: set[int] = set()
        abbreviations = self.abbreviations
        for m in _END.finditer(text):
            before = _WORD_BEFORE.search(text, max(0, m.start() - ABBREVIATION_LOOKBACK), m.start())
            if before and before.group(1).rstrip(".").lower() in abbreviations:
                continue
            nxt = _NONSPACE.search(text, m.end())
            if nxt:
                starts.add(nxt.start())
        for m in _GLUED.finditer(text):
            starts.add(m.end())
        para = _PARA_PDF if _is_pdf_style(text) else _PARA_PLAIN
        for m in para.finditer(text):
            # a page break inside a sentence ("is not \n\n\n\nmedically necessary") is no boundary
            prev_char = text[: m.start()].rstrip()[-1:]
            next_char = text[m.end() : m.end() + 1]
            if next_char.islower() and (prev_char.isalnum() or prev_char in ",;-/("):
                continue
            starts.add(m.end())
        if self._line_start is not None:
            for m in self._line_start.finditer(text):
                nxt = _NONSPACE.search(text, m.start())
                if nxt:
                    starts.add(nxt.start())
        if self._own_line is not None:
            for m in self._own_line.finditer(text):
                first = _NONSPACE.search(text, m.start())
                if first:
                    starts.add(first.start())
                after = _NONSPACE.search(text, m.end())
                if after:
                    starts.add(after.start())
        return sorted(starts)

    def __call__(self, doc: Doc) -> Doc:
        if len(doc) == 0:
            return doc
        if not self.overwrite and doc.has_annotation("SENT_START"):
            return doc
        idx = doc.to_array("IDX").tolist()
        values = numpy.full((len(doc),), -1, dtype="int64")
        values[0] = 1
        n = len(idx)
        offsets = self.boundaries(doc.text)
        # each item header is a sentence of its own (its bounds from imr_structure)
        layout = doc._.imr_structure if Doc.has_extension("imr_structure") else None
        for item in (layout or {}).get("items", []):
            start, _ = item.get("full_header") or item["header"]
            end = (item.get("outcome_span") or item["header"])[1]
            offsets.append(start)
            after = _NONSPACE.search(doc.text, end)
            if after:
                offsets.append(after.start())
        for offset in offsets:
            i = bisect_left(idx, offset)
            if i < n:
                # a boundary inside whitespace goes to the next real token
                while i < n and doc[i].is_space:
                    i += 1
                if i < n:
                    values[i] = 1
        # spaCy stores -1 ("not a start") in uint64 arrays as its two's complement
        column = values.astype("uint64").reshape(-1, 1)
        doc.from_array([SENT_START], column)  # type: ignore[arg-type]
        return doc


def _is_pdf_style(text: str) -> bool:
    """True where most line breaks come doubled, as in text extracted from IMR PDFs."""
    singles = text.count("\n")
    if singles < 4:
        return False
    return 2 * text.count("\n\n") >= 0.8 * singles


def _start_flags(doc: Doc) -> numpy.ndarray | None:
    if not len(doc) or not doc.has_annotation("SENT_START"):
        return None
    return doc.to_array("SENT_START").astype("int64") == 1


def sentence_ids(doc: Doc) -> numpy.ndarray:
    """The sentence number of every token (all 0 without sentence boundaries), from one
    read of the ``SENT_START`` array (no walk over ``doc.sents``). The one place
    components and records find which sentence a token is in."""
    flags = _start_flags(doc)
    return numpy.zeros(len(doc), dtype="int64") if flags is None else numpy.cumsum(flags)


def sentence_starts(doc: Doc) -> list[int]:
    """Token offsets where the doc's sentences start (``[0]`` without sentence boundaries)."""
    flags = _start_flags(doc)
    return (numpy.flatnonzero(flags).tolist() if flags is not None else []) or [0]


@imr_factory(
    "imr_sentences",
    assigns=["token.is_sent_start"],
    default_config={"overwrite": True},
)
def make_sentences(nlp: Language, name: str, *, overwrite: bool) -> "SentenceSplitter":
    """Factory of the imr_sentences component."""
    return SentenceSplitter(nlp, name, overwrite=overwrite)
