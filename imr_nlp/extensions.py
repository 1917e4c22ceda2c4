"""Every custom attribute imr_nlp registers on Doc, Token and Span, in one place.

Rules (rule 5 of the house: leave other libraries as found):

- imr_nlp's own attributes carry the prefix ``imr_`` (``doc._.imr_requests``,
  ``token._.imr_section``, ``span._.imr_generic`` ...).
- Nothing of medspaCy's or scispaCy's is re-registered or replaced:
  ``doc._.sections``, ``token._.section``, ``span._.section_category`` stay
  medspaCy's and ``doc._.abbreviations``, ``span._.long_form`` stay scispaCy's, so a
  medspaCy or scispaCy pipeline in the same process works as without imr_nlp.
- The shorter names imr_nlp used before (``doc._.requests``, ``doc._.doc_id``,
  ``span._.generic`` ...) keep working as aliases of the imr names (a getter and a
  setter onto the same value), but only when no other library holds the name.
- medspaCy's ConText attributes (``span._.is_negated``, ...) are medspaCy's: when
  imr_nlp needs them before medspaCy is imported (reading annotation files), they are
  registered exactly as medspaCy registers them (default False, only if absent).

Defaults are immutable (None, False): a list default would be shared by every Doc.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from typing import Any

from spacy.tokens import Doc, Span, Token

DOC_EXTENSIONS: dict[str, object] = {
    "imr_doc_id": None,  # file stem, or the id the caller gives
    "imr_requests": None,  # list[dict], one record per disputed item (records.md)
    "imr_warnings": None,  # list[str], what the pipeline noticed (coded W00x)
    # list[[category, title_start, title_end, body_end]] in tokens (imr_sections)
    "imr_sections": None,
    # list[(short_start, short_end, long_start, long_end)] in characters (imr_abbreviations)
    "imr_abbreviations": None,
    # dict: the letter's layout, items, header block as plain data (imr_structure)
    "imr_structure": None,
    "imr_source_path": None,  # the file the letter was read from, when the caller gives it
}

SPAN_EXTENSIONS: dict[str, object] = {
    "imr_generic": None,  # DRUG: generic name, lower case, combinations joined by "/"
    "imr_drug_class": None,  # DRUG / DRUG_CLASS: one of records.md's classes
    "imr_guideline_source": None,  # GUIDELINE: MTUS, ACOEM, ODG or other
    "imr_guideline_pages": None,  # GUIDELINE: pages as written ("63-66")
    "imr_outcome": None,  # OUTCOME: "upheld" or "overturned"
    "imr_long_form": None,  # an abbreviation the letter defines: its long form
    "imr_is_non_certified": False,  # ConText: "Utilization Review non-certified Xanax"
    "imr_is_not_recommended": False,  # ConText: "Xanax is not recommended"
    # ConText modifiers as plain tuples (category, literal, start, end), picklable
    "imr_modifiers": (),
}

# Old imr-owned names -> the imr name they stand for (Doc and Span).
DOC_ALIASES: dict[str, str] = {"doc_id": "imr_doc_id", "requests": "imr_requests"}
SPAN_ALIASES: dict[str, str] = {
    "generic": "imr_generic",
    "drug_class": "imr_drug_class",
    "guideline_source": "imr_guideline_source",
    "guideline_pages": "imr_guideline_pages",
    "outcome": "imr_outcome",
    "is_non_certified": "imr_is_non_certified",
    "is_not_recommended": "imr_is_not_recommended",
}

# medspaCy's ConText attributes, registered as medspaCy does when it is not loaded yet.
MEDSPACY_CONTEXT_ATTRIBUTES = (
    "is_negated",
    "is_uncertain",
    "is_historical",
    "is_hypothetical",
    "is_family",
)


def section_row(doc: Doc, i: int) -> list | None:
    """The ``doc._.imr_sections`` row of the section holding token i (None outside any)."""
    rows = doc._.imr_sections
    if not rows:
        return None
    k = bisect_right([r[1] for r in rows], i) - 1
    if k < 0 or i >= rows[k][3]:
        return None
    return rows[k]


def _token_section(token: Token) -> Any:
    from .pipeline.sections import SectionView

    row = section_row(token.doc, token.i)
    if row is None:
        return None
    c, ts, te, be = row
    return SectionView(c, ts, te, te, be)


def _token_section_category(token: Token) -> str | None:
    row = section_row(token.doc, token.i)
    return None if row is None else row[0]


def _span_section_category(span: Span) -> str | None:
    row = section_row(span.doc, span.start)
    return None if row is None else row[0]


TOKEN_GETTERS: dict[str, Callable[[Token], Any]] = {
    "imr_section": _token_section,  # a SectionView (category, title and body bounds) or None
    "imr_section_category": _token_section_category,
}
SPAN_GETTERS: dict[str, Callable[[Span], Any]] = {
    "imr_section_category": _span_section_category,  # the section its first token is in
}


def _alias(target: str) -> tuple[Callable[[Any], Any], Callable[[Any, Any], None]]:
    """A getter and a setter that read and write the attribute ``target``."""

    def get(obj: Any) -> Any:
        return getattr(obj._, target)

    def set_(obj: Any, value: Any) -> None:
        setattr(obj._, target, value)

    return get, set_


def register() -> None:
    """Register imr_nlp's extensions (safe to call many times; never replaces one)."""
    tables: list[tuple[Any, dict[str, Any], Callable[[Any], dict[str, Any]]]] = [
        (Doc, DOC_EXTENSIONS, lambda default: {"default": default}),
        (Span, SPAN_EXTENSIONS, lambda default: {"default": default}),
        (Token, TOKEN_GETTERS, lambda getter: {"getter": getter}),
        (Span, SPAN_GETTERS, lambda getter: {"getter": getter}),
        (
            Doc,
            DOC_ALIASES,
            lambda target: dict(zip(("getter", "setter"), _alias(target), strict=True)),
        ),
        (
            Span,
            SPAN_ALIASES,
            lambda target: dict(zip(("getter", "setter"), _alias(target), strict=True)),
        ),
    ]
    for cls, table, how in tables:
        for name, value in table.items():
            if not cls.has_extension(name):
                cls.set_extension(name, **how(value))
    register_medspacy_context_attributes()


def register_medspacy_context_attributes() -> None:
    """medspaCy's ConText booleans, as medspaCy registers them (default False, if absent)."""
    for name in MEDSPACY_CONTEXT_ATTRIBUTES:
        if not Span.has_extension(name):
            Span.set_extension(name, default=False)
