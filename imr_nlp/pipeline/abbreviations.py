"""imr_abbreviations: abbreviations a letter defines, by scispaCy's algorithm.

scispaCy's ``find_abbreviation`` (Schwartz & Hearst 2003) is a pure function;
this component calls it on "long form (SHORT)" candidates and records every
later use of SHORT. It stores plain tuples in ``doc._.imr_abbreviations`` (not
Span objects) so that results survive ``nlp.pipe(n_process=2)`` and DocBin,
and it keeps no state between letters (scispaCy's own component grows a
shared Matcher as it goes). ``doc._.abbreviations`` and ``span._.long_form`` are
scispaCy's attributes (Spans, set by its AbbreviationDetector) and are left to it.
"""

import re

import numpy
from spacy.language import Language
from spacy.tokens import Doc, Span

from ..extensions import register
from ..factories import imr_factory

_PARENS = re.compile(r"\([^()\n]{1,60}\)")  # a parenthesis on one line, up to 60 characters
SHORT_FORM_TOKENS = (3, 10)  # tokens of a "(SHORT)" candidate, parentheses included


class Abbreviations:
    """Find "long form (SHORT)" definitions and every use of SHORT."""

    def __init__(self, nlp: Language, name: str = "imr_abbreviations"):
        from scispacy.abbreviation import filter_matches, find_abbreviation

        self.name = name
        self._filter = filter_matches
        self._find = find_abbreviation
        register()

    def __call__(self, doc: Doc) -> Doc:
        text = doc.text  # spaCy rebuilds Doc.text on every access: read it once
        if "(" not in text:
            doc._.imr_abbreviations = []
            return doc
        # parentheses from the text (a Matcher pattern with a wildcard costs far more per letter)
        matches = []
        for m in _PARENS.finditer(text):
            span = doc.char_span(m.start(), m.end())
            if span is not None and SHORT_FORM_TOKENS[0] <= len(span) <= SHORT_FORM_TOKENS[1]:
                matches.append((0, span.start + 1, span.end - 1))
        found: list[tuple[int, int, int, int]] = []
        seen: set[str] = set()
        for long_cand, short_cand in self._filter(matches, doc):
            short, long = self._find(long_cand, short_cand)
            if long is None or short.text in seen:
                continue
            seen.add(short.text)
            found.append((short.start_char, short.end_char, long.start_char, long.end_char))
            for m in re.finditer(r"(?<![\w-])" + re.escape(short.text) + r"(?![\w-])", text):
                if m.start() != short.start_char:
                    found.append((m.start(), m.end(), long.start_char, long.end_char))
        doc._.imr_abbreviations = sorted(found)
        return doc


def relabel_abbreviations(doc: Doc, spans: list[Span], text: str) -> list[Span]:
    """Give a defined abbreviation (``doc._.imr_abbreviations``) the label of its long form,
    with ``_.imr_long_form``: imr_entities calls this on its chosen spans.

    doc (Doc): the letter, after imr_abbreviations.
    spans (list[Span]): non-overlapping spans.
    text (str): ``doc.text``.
    RETURNS (list[Span]): the spans, with a span added for each use of an abbreviation
        whose long form ends a span (where no other span is).
    """
    abbrs = doc._.imr_abbreviations
    if not abbrs:
        return spans
    by_end = {s.end_char: s for s in spans}
    taken = numpy.zeros(len(doc), dtype=bool)
    for s in spans:
        taken[s.start : s.end] = True
    out = list(spans)
    for short_s, short_e, long_s, long_e in abbrs:
        source = by_end.get(long_e)
        if source is None or source.start_char < long_s:
            continue
        short = doc.char_span(short_s, short_e)
        if short is None:
            continue
        existing = next((s for s in out if s.start == short.start and s.end == short.end), None)
        if existing is None:
            if taken[short.start : short.end].any():
                continue
            existing = Span(doc, short.start, short.end, label=source.label_)
            taken[short.start : short.end] = True
            out.append(existing)
        if existing.label_ == source.label_:
            existing._.imr_long_form = " ".join(text[long_s:long_e].split())
            existing._.generic = existing._.generic or source._.generic
            existing._.drug_class = existing._.drug_class or source._.drug_class
    return out


@imr_factory("imr_abbreviations", assigns=["doc._.imr_abbreviations"], default_config={})
def make_abbreviations(nlp: Language, name: str) -> Abbreviations:
    """Factory of the imr_abbreviations component."""
    return Abbreviations(nlp, name)
