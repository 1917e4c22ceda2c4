"""imr_requests: fill ``doc._.imr_requests`` with one record per disputed item (records.md).

The item regions (header to the next header) are also given as spans in
``doc.spans["imr_items"]``, labelled by the item's outcome ("upheld", "overturned",
or "undecided" where the header carries no decision word).
"""

from collections.abc import Iterable
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span

from ..errors import Warnings
from ..extensions import register
from ..factories import imr_factory
from ..records import build_requests
from .structure import structure_of

ITEMS_KEY = "imr_items"  # doc.spans[ITEMS_KEY]: one span per disputed item


def item_spans(doc: Doc, items: Iterable[dict[str, Any]]) -> list[Span]:
    """One span per item of ``records.find_items``: from its header to the end of its region.

    doc (Doc): the letter.
    items (Iterable[dict]): ``find_items(doc.text)`` (``header`` and ``region`` in characters).
    RETURNS (list[Span]): the spans, labelled by outcome; set them with
        ``doc.spans[ITEMS_KEY] = item_spans(doc, items)``.
    """
    spans = []
    for item in items:
        start = min(item["header"][0], item["region"][0])
        end = max(item["header"][1], item["region"][1])
        span = doc.char_span(
            start, end, label=item.get("outcome") or "undecided", alignment_mode="expand"
        )
        if span is not None and len(span):
            spans.append(span)
    return spans


class Requests:
    """A thin component around the pure function ``records.build_requests``."""

    def __init__(self, nlp: Language, name: str = "imr_requests"):
        register()
        self.nlp = nlp
        self.name = name

    def __call__(self, doc: Doc) -> Doc:
        doc._.imr_requests = build_requests(doc, structure_of(self.nlp))
        doc.spans[ITEMS_KEY] = item_spans(
            doc, doc._.imr_structure["items"] if doc._.imr_structure else []
        )
        warnings = []
        if not doc._.imr_requests:
            warnings.append(Warnings.W002.format(doc_id=doc._.imr_doc_id))
        for rec in doc._.imr_requests:
            warnings.extend(rec["warnings"])
        doc._.imr_warnings = warnings
        return doc


@imr_factory(
    "imr_requests",
    assigns=["doc._.imr_requests", "doc._.imr_warnings", "doc.spans"],
    default_config={},
)
def make_requests(nlp: Language, name: str) -> Requests:
    """Factory of the imr_requests component."""
    return Requests(nlp, name)
