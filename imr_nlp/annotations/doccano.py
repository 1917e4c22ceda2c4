"""doccano: JSON Lines as its sequence-labeling export, ``{"id", "text", "label": [[start,
end, LABEL], ...]}``, negation as an extra key ``"negated": [[start, end], ...]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..patterns import write_jsonl
from .checks import (
    NEGATABLE,
    RawSpan,
    doc_ids,
    fail,
    iter_jsonl,
    make_doc,
    require,
    span_rows,
)

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc


def write(docs: list[Doc], path: Path) -> None:
    rows = []
    for doc, doc_id in zip(docs, doc_ids(docs), strict=True):
        spans = span_rows(doc)
        rows.append(
            {
                "id": doc_id,
                "text": doc.text,
                "label": [[s, e, label] for s, e, label, _, _ in spans],
                "negated": [[s, e] for s, e, _, negated, _ in spans if negated],
            }
        )
    write_jsonl(path, rows)


def read(path: Path, nlp: Language) -> list[Doc]:
    docs = []
    for where, obj in iter_jsonl(path):
        require(obj, ("text", "label"), path, where)
        labels = obj["label"]
        if not isinstance(labels, list):
            raise fail(path, where, "'label' must be a list of [start, end, LABEL]")
        raw = []
        by_offsets: dict[tuple[Any, Any], RawSpan] = {}
        for k, item in enumerate(labels, start=1):
            w = f"{where}, label {k}"
            if not isinstance(item, list) or len(item) != 3:
                raise fail(path, w, f"expected [start, end, LABEL], got {item!r}")
            span = RawSpan(
                item[0], item[1], item[2], w, negated=False if item[2] == NEGATABLE else None
            )
            raw.append(span)
            by_offsets[(item[0], item[1])] = span
        negated = obj.get("negated", [])
        if not isinstance(negated, list):
            raise fail(path, where, "'negated' must be a list of [start, end]")
        for k, item in enumerate(negated, start=1):
            w = f"{where}, negated {k}"
            if not isinstance(item, list) or len(item) != 2:
                raise fail(path, w, f"expected [start, end], got {item!r}")
            target = by_offsets.get((item[0], item[1]))
            if target is None or target.label != NEGATABLE:
                raise fail(path, w, f"{item!r} is not the offsets of a {NEGATABLE} label")
            target.negated = True
        docs.append(make_doc(nlp, obj["text"], obj.get("id"), raw, path, where))
    return docs
