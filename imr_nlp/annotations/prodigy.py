"""Prodigy: JSON Lines in the shape of ``ner_manual`` tasks (``text``, ``spans`` with
``token_start``/``token_end`` inclusive, ``tokens``, ``meta``); a NECESSITY span carries
``"negated": true|false``. The gold files of ``shared/gold/`` are this shape without ``tokens``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..patterns import write_jsonl
from .checks import (
    doc_ids,
    iter_jsonl,
    record_doc,
    span_rows,
)

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc


def write(docs: list[Doc], path: Path) -> None:
    rows = []
    for doc, doc_id in zip(docs, doc_ids(docs), strict=True):
        spans = []
        for start, end, label, negated, ent in span_rows(doc):
            span = {
                "start": start,
                "end": end,
                "label": label,
                "token_start": ent.start,
                "token_end": ent.end - 1,
            }
            if negated is not None:
                span["negated"] = negated
            spans.append(span)
        tokens = [
            {
                "text": t.text,
                "start": t.idx,
                "end": t.idx + len(t.text),
                "id": t.i,
                "ws": bool(t.whitespace_),
            }
            for t in doc
        ]
        rows.append(
            {
                "id": doc_id,
                "text": doc.text,
                "spans": spans,
                "tokens": tokens,
                "meta": {"id": doc_id},
            }
        )
    write_jsonl(path, rows)


def read_with_records(path: Path, nlp: Language) -> list[tuple[Doc, dict[str, Any]]]:
    out = []
    for where, obj in iter_jsonl(path):
        out.append((record_doc(nlp, obj, path, where), obj))
    return out
