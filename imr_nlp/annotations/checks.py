"""Span validation of the annotation formats: every span read (or written) is checked against
its text (offsets, label, surface text where the format carries one, overlaps, token
alignment); a span that fails raises :class:`~imr_nlp.errors.AnnotationError` naming the
file and the line, task or brat id. Also the shared pieces of the readers: JSON Lines with
line numbers, records' span lists and ids, the Docs of the inputs of ``export_spans``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import LABELS
from ..errors import AnnotationError, Errors

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

NEGATABLE = "NECESSITY"  # the one label with a negation attribute


@dataclass
class RawSpan:
    """A span as read from a file, before it is checked against its text."""

    start: Any
    end: Any
    label: Any
    where: str
    negated: Any = None
    surface: str | None = None  # span text as the file gives it, if it does


def fail(path: Any, where: str, problem: str) -> AnnotationError:
    return AnnotationError(Errors.E031.format(path=path, where=where, problem=problem))


def register_extensions() -> None:
    from ..extensions import register

    register()  # with medspaCy's is_negated, registered as medspaCy does when it is not loaded


def _collapse(text: str) -> str:
    return " ".join(text.split())


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def set_spans(doc: Doc, raw: list[RawSpan], path: Any, where: str) -> Doc:
    """Check spans against a Doc's text and set them as ``doc.ents``.

    doc (Doc): the document, tokenized.
    raw (list[RawSpan]): the spans as read.
    path (Any): the file, for error messages.
    where (str): the record, for error messages when a span has no own place.
    RETURNS (Doc): the same Doc, with ``ents`` and ``_.is_negated`` set.
    """
    text = doc.text
    checked = []
    for span in raw:
        w = span.where or where
        if not (is_int(span.start) and is_int(span.end)):
            raise fail(path, w, f"offsets must be integers, got {span.start!r}, {span.end!r}")
        if not isinstance(span.label, str) or span.label not in LABELS:
            raise fail(path, w, f"unknown label {span.label!r}; known: {', '.join(LABELS)}")
        if not 0 <= span.start < span.end <= len(text):
            raise fail(
                path,
                w,
                f"offsets [{span.start}, {span.end}) are outside the text (0-{len(text)}) or empty",
            )
        covered = text[span.start : span.end]
        if span.surface is not None and _collapse(span.surface) != _collapse(covered):
            raise fail(
                path,
                w,
                f"span text {span.surface!r} does not match the text at "
                f"[{span.start}, {span.end}): {covered!r}",
            )
        if covered[0].isspace() or covered[-1].isspace():
            raise fail(path, w, f"span {covered!r} starts or ends with whitespace")
        if span.negated is not None and not isinstance(span.negated, bool):
            raise fail(path, w, f"'negated' must be true or false, got {span.negated!r}")
        if span.negated and span.label != NEGATABLE:
            raise fail(path, w, f"only {NEGATABLE} spans can be negated, not {span.label}")
        ent = doc.char_span(span.start, span.end, label=span.label, alignment_mode="strict")
        if ent is None:
            raise fail(
                path,
                w,
                f"span [{span.start}, {span.end}) {covered!r} does not start and end "
                "on token boundaries",
            )
        checked.append((span, ent, w))
    checked.sort(key=lambda item: (item[0].start, item[0].end))
    for (a, _, wa), (b, _, wb) in zip(checked, checked[1:], strict=False):
        if b.start < a.end:
            raise fail(
                path,
                wb,
                f"span [{b.start}, {b.end}) {b.label} overlaps span "
                f"[{a.start}, {a.end}) {a.label} ({wa})",
            )
    doc.ents = [ent for _, ent, _ in checked]
    for span, ent, _ in checked:
        if span.label == NEGATABLE:
            ent._.is_negated = bool(span.negated)
    return doc


def make_doc(
    nlp: Language, text: Any, doc_id: Any, raw: list[RawSpan], path: Any, where: str
) -> Doc:
    if not isinstance(text, str):
        raise fail(path, where, f"'text' must be a string, got {type(text).__name__}")
    doc = nlp.make_doc(text)
    doc._.imr_doc_id = doc_id
    return set_spans(doc, raw, path, where)


def get_nlp(nlp: Language | None) -> Language:
    return nlp if nlp is not None else _default_nlp()


@lru_cache(maxsize=1)
def _default_nlp() -> Language:
    """One blank imr_nlp pipeline for all calls (Docs then share a Vocab)."""
    from ..pipeline.tokenizer import blank

    return blank()


def require(obj: Any, keys: tuple[str, ...], path: Any, where: str, what: str = "record") -> None:
    if not isinstance(obj, dict):
        raise fail(path, where, f"{what} is not a JSON object")
    missing = [k for k in keys if k not in obj]
    if missing:
        raise fail(path, where, f"missing key(s) {missing}")


def spans_from_dict(obj: Mapping[str, Any], path: Any, where: str) -> list[RawSpan]:
    spans = obj["spans"]
    if not isinstance(spans, list):
        raise fail(path, where, "'spans' must be a list")
    raw = []
    for k, s in enumerate(spans, start=1):
        w = f"{where}, span {k}"
        require(s, ("start", "end", "label"), path, w, "span")
        raw.append(
            RawSpan(
                s["start"],
                s["end"],
                s["label"],
                w,
                negated=s.get("negated"),
                surface=s.get("text") if isinstance(s.get("text"), str) else None,
            )
        )
    return raw


def record_doc(nlp: Language, obj: Mapping[str, Any], path: Any, where: str) -> Doc:
    """The checked Doc of a record ``{"id"?, "text", "spans", "meta"?}`` (Prodigy, gold)."""
    require(obj, ("text", "spans"), path, where)
    raw = spans_from_dict(obj, path, where)
    return make_doc(nlp, obj["text"], dict_id(obj), raw, path, where)


def dict_id(obj: Mapping[str, Any]) -> Any:
    if obj.get("id") is not None:
        return obj["id"]
    meta = obj.get("meta")
    if isinstance(meta, dict):
        return meta.get("id")
    return None


def as_docs(docs: Iterable[Doc | Mapping[str, Any]], nlp: Language | None) -> list[Doc]:
    """Turn the inputs of export_spans/to_docbin into checked Docs."""
    from spacy.tokens import Doc

    register_extensions()
    out: list[Doc] = []
    source = "<docs>"
    for i, item in enumerate(docs, start=1):
        where = f"doc {i}"
        if isinstance(item, Doc):
            doc = item
            raw = [
                RawSpan(
                    e.start_char,
                    e.end_char,
                    e.label_,
                    f"{where}, span {k}",
                    negated=bool(e._.is_negated) if e.label_ == NEGATABLE else None,
                )
                for k, e in enumerate(doc.ents, start=1)
            ]
            # doc.ents is already tokenized and non-overlapping; check labels and edges.
            copy = doc.copy()
            set_spans(copy, raw, source, where)
            out.append(copy)
        elif isinstance(item, Mapping):
            require(dict(item), ("text", "spans"), source, where)
            nlp = get_nlp(nlp)
            raw = spans_from_dict(item, source, where)
            out.append(make_doc(nlp, item["text"], dict_id(item), raw, source, where))
        else:
            raise fail(source, where, f"expected a Doc or a dict, got {type(item).__name__}")
    return out


def doc_ids(docs: list[Doc]) -> list[str]:
    ids = []
    for i, doc in enumerate(docs, start=1):
        doc_id = doc._.imr_doc_id
        ids.append(f"doc_{i:04d}" if doc_id is None else str(doc_id))
    return ids


def span_rows(doc: Doc) -> list[tuple[int, int, str, bool | None, Any]]:
    rows = []
    for ent in doc.ents:
        negated = bool(ent._.is_negated) if ent.label_ == NEGATABLE else None
        rows.append((ent.start_char, ent.end_char, ent.label_, negated, ent))
    return rows


def iter_jsonl(path: Path) -> Iterator[tuple[str, Any]]:
    with path.open("rb") as f:
        for i, raw in enumerate(f, start=1):
            where = f"line {i}"
            try:
                line = raw.decode("utf8")
            except UnicodeDecodeError as e:
                raise fail(path, where, f"not UTF-8 (byte {e.start + 1})") from None
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise fail(path, where, f"bad JSON ({e.msg}, column {e.colno})") from None
            except RecursionError:
                raise fail(path, where, "JSON nested too deeply") from None
            yield where, obj
