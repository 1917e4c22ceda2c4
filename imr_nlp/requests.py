"""imr_requests: fill ``doc._.requests`` with one record per disputed item (records.md)."""

from spacy.language import Language
from spacy.tokens import Doc

from .errors import Warnings
from .extensions import register
from .pipeline.structure import structure_of
from .records import build_requests


class Requests:
    """A thin component around the pure function ``records.build_requests``."""

    def __init__(self, nlp: Language, name: str = "imr_requests"):
        register()
        self.nlp = nlp
        self.name = name

    def __call__(self, doc: Doc) -> Doc:
        doc._.requests = build_requests(doc, structure_of(self.nlp))
        warnings = []
        if not doc._.requests:
            warnings.append(Warnings.W002.format(doc_id=doc._.doc_id))
        for rec in doc._.requests:
            warnings.extend(rec["warnings"])
        doc._.imr_warnings = warnings
        return doc


@Language.factory("imr_requests", assigns=["doc._.requests", "doc._.imr_warnings"], default_config={})
def make_requests(nlp: Language, name: str) -> Requests:
    """Factory of the imr_requests component."""
    return Requests(nlp, name)
