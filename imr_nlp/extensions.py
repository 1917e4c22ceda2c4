"""Custom attributes imr_nlp sets on Doc and Span (registered once, idempotently).

medspaCy's own attributes (``span._.is_negated``, ``is_historical``,
``is_hypothetical``, ``is_uncertain``, ``section_category``, ...) are
registered by medspaCy when its components are built.
"""

from __future__ import annotations

from spacy.tokens import Doc, Span

DOC_EXTENSIONS: dict[str, object] = {
    "doc_id": None,  # file stem, or the id the caller gives
    "requests": None,  # list[dict], one record per disputed item (records.md)
    "imr_warnings": None,  # list[str], what the pipeline noticed (coded W00x)
    "imr_structure": None,  # dict: the letter's layout, items, header block (imr_structure)
    "source_path": None,  # the file the letter was read from, when the caller gives it
}

SPAN_EXTENSIONS: dict[str, object] = {
    "generic": None,  # DRUG: generic name, lower case, combinations joined by "/"
    "drug_class": None,  # DRUG / DRUG_CLASS: one of records.md's classes
    "guideline_source": None,  # GUIDELINE: MTUS, ACOEM, ODG or other
    "guideline_pages": None,  # GUIDELINE: pages as written ("63-66")
    "outcome": None,  # OUTCOME: "upheld" or "overturned"
    "long_form": None,  # an abbreviation the letter defines: its long form
}


def register() -> None:
    """Register imr_nlp's extensions (safe to call many times)."""
    for name, default in DOC_EXTENSIONS.items():
        if not Doc.has_extension(name):
            Doc.set_extension(name, default=default)
    for name, default in SPAN_EXTENSIONS.items():
        if not Span.has_extension(name):
            Span.set_extension(name, default=default)
