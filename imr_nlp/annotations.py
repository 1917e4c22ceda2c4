"""Export spans for correction in an annotation tool and read the corrections back.

Four formats are written and read (``FORMATS``):

- ``"prodigy"``: JSON Lines in the shape of Prodigy's ``ner_manual`` tasks
  (``text``, ``spans`` with ``token_start``/``token_end`` inclusive, ``tokens``,
  ``meta``). The gold files of ``shared/gold/`` are this shape without
  ``tokens``. A NECESSITY span carries ``"negated": true|false``.
- ``"label_studio"``: one JSON file, a list of Label Studio tasks with the
  spans as ``predictions`` (``model_version`` "imr_nlp"). The labeling config
  is :func:`label_studio_config` (a copy lives in
  ``patterns/label_studio_config.xml``). Negation of a NECESSITY region is a
  per-region ``Choices`` result (``from_name`` "negated", ``choices``
  ``["negated"]``) with the same region ``id``. Offsets are JavaScript string
  offsets (UTF-16 code units), as Label Studio counts them; they equal Python
  offsets unless the text has characters outside the Basic Multilingual Plane.
  On reading, the latest non-cancelled human annotation of a task wins over
  its predictions.
- ``"doccano"``: JSON Lines as doccano's sequence-labeling export,
  ``{"id", "text", "label": [[start, end, LABEL], ...]}``. doccano has no
  span attributes, so negation is an extra key ``"negated": [[start, end], ...]``
  listing the negated NECESSITY spans (every other NECESSITY span is not
  negated). doccano keeps unknown keys of an imported line as metadata and
  exports them again.
- ``"brat"``: a folder with ``<id>.txt`` and ``<id>.ann`` per document and an
  ``annotation.conf``. Entities are ``T`` lines; a negated NECESSITY span has
  an attribute line ``A1<TAB>Negated T5``. brat's text column cannot hold a
  line break, so whitespace other than a space is written as a space there;
  the offsets stay exact. Discontinuous spans are never written and are
  refused on reading.

Every span read back is checked against its text (offsets, label, surface
text where the format carries one, overlaps, token alignment); a span that
fails raises :class:`~imr_nlp.errors.AnnotationError` naming the file and the
line, task or brat id. No span is ever dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import AnnotationError, Errors

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, DocBin

LABELS: tuple[str, ...] = (
    "DRUG",
    "DRUG_CLASS",
    "STRENGTH",
    "QUANTITY",
    "FREQUENCY",
    "GUIDELINE",
    "DIAGNOSIS",
    "OUTCOME",
    "NECESSITY",
)
NEGATABLE = "NECESSITY"
FORMATS: tuple[str, ...] = ("prodigy", "label_studio", "doccano", "brat")
LS_MODEL_VERSION = "imr_nlp"
LS_CONFIG_FILE = "label_studio_config.xml"
BRAT_NEGATED = "Negated"

# Region colours in Label Studio (one per label, in LABELS order).
_LS_COLOURS = (
    "#e6194b",
    "#f58231",
    "#3cb44b",
    "#4363d8",
    "#911eb4",
    "#46f0f0",
    "#f032e6",
    "#bcf60c",
    "#9a6324",
)


@dataclass
class _RawSpan:
    """A span as read from a file, before it is checked against its text."""

    start: Any
    end: Any
    label: Any
    where: str
    negated: Any = None
    surface: str | None = None  # span text as the file gives it, if it does


def _fail(path: Any, where: str, problem: str) -> AnnotationError:
    return AnnotationError(Errors.E031.format(path=path, where=where, problem=problem))


def _register() -> None:
    from .extensions import register

    register()  # with medspaCy's is_negated, registered as medspaCy does when it is not loaded


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _set_spans(doc: Doc, raw: list[_RawSpan], path: Any, where: str) -> Doc:
    """Check spans against a Doc's text and set them as ``doc.ents``.

    doc (Doc): the document, tokenized.
    raw (list[_RawSpan]): the spans as read.
    path (Any): the file, for error messages.
    where (str): the record, for error messages when a span has no own place.
    RETURNS (Doc): the same Doc, with ``ents`` and ``_.is_negated`` set.
    """
    text = doc.text
    checked = []
    for span in raw:
        w = span.where or where
        if not (_is_int(span.start) and _is_int(span.end)):
            raise _fail(path, w, f"offsets must be integers, got {span.start!r}, {span.end!r}")
        if not isinstance(span.label, str) or span.label not in LABELS:
            raise _fail(path, w, f"unknown label {span.label!r}; known: {', '.join(LABELS)}")
        if not 0 <= span.start < span.end <= len(text):
            raise _fail(
                path,
                w,
                f"offsets [{span.start}, {span.end}) are outside the text (0-{len(text)}) or empty",
            )
        covered = text[span.start : span.end]
        if span.surface is not None and _collapse(span.surface) != _collapse(covered):
            raise _fail(
                path,
                w,
                f"span text {span.surface!r} does not match the text at "
                f"[{span.start}, {span.end}): {covered!r}",
            )
        if covered[0].isspace() or covered[-1].isspace():
            raise _fail(path, w, f"span {covered!r} starts or ends with whitespace")
        if span.negated is not None and not isinstance(span.negated, bool):
            raise _fail(path, w, f"'negated' must be true or false, got {span.negated!r}")
        if span.negated and span.label != NEGATABLE:
            raise _fail(path, w, f"only {NEGATABLE} spans can be negated, not {span.label}")
        ent = doc.char_span(span.start, span.end, label=span.label, alignment_mode="strict")
        if ent is None:
            raise _fail(
                path,
                w,
                f"span [{span.start}, {span.end}) {covered!r} does not start and end "
                "on token boundaries",
            )
        checked.append((span, ent, w))
    checked.sort(key=lambda item: (item[0].start, item[0].end))
    for (a, _, wa), (b, _, wb) in zip(checked, checked[1:], strict=False):
        if b.start < a.end:
            raise _fail(
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


def _make_doc(
    nlp: Language, text: Any, doc_id: Any, raw: list[_RawSpan], path: Any, where: str
) -> Doc:
    if not isinstance(text, str):
        raise _fail(path, where, f"'text' must be a string, got {type(text).__name__}")
    doc = nlp.make_doc(text)
    doc._.imr_doc_id = doc_id
    return _set_spans(doc, raw, path, where)


def _get_nlp(nlp: Language | None) -> Language:
    return nlp if nlp is not None else _default_nlp()


@lru_cache(maxsize=1)
def _default_nlp() -> Language:
    """One blank imr_nlp pipeline for all calls (Docs then share a Vocab)."""
    from .pipeline.tokenizer import blank

    return blank()


def _require(obj: Any, keys: tuple[str, ...], path: Any, where: str, what: str = "record") -> None:
    if not isinstance(obj, dict):
        raise _fail(path, where, f"{what} is not a JSON object")
    missing = [k for k in keys if k not in obj]
    if missing:
        raise _fail(path, where, f"missing key(s) {missing}")


# ---------------------------------------------------------------- inputs


def _spans_from_dict(obj: Mapping[str, Any], path: Any, where: str) -> list[_RawSpan]:
    spans = obj["spans"]
    if not isinstance(spans, list):
        raise _fail(path, where, "'spans' must be a list")
    raw = []
    for k, s in enumerate(spans, start=1):
        w = f"{where}, span {k}"
        _require(s, ("start", "end", "label"), path, w, "span")
        raw.append(
            _RawSpan(
                s["start"],
                s["end"],
                s["label"],
                w,
                negated=s.get("negated"),
                surface=s.get("text") if isinstance(s.get("text"), str) else None,
            )
        )
    return raw


def _dict_id(obj: Mapping[str, Any]) -> Any:
    if obj.get("id") is not None:
        return obj["id"]
    meta = obj.get("meta")
    if isinstance(meta, dict):
        return meta.get("id")
    return None


def _as_docs(docs: Iterable[Doc | Mapping[str, Any]], nlp: Language | None) -> list[Doc]:
    """Turn the inputs of export_spans/to_docbin into checked Docs."""
    from spacy.tokens import Doc

    _register()
    out: list[Doc] = []
    source = "<docs>"
    for i, item in enumerate(docs, start=1):
        where = f"doc {i}"
        if isinstance(item, Doc):
            doc = item
            raw = [
                _RawSpan(
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
            _set_spans(copy, raw, source, where)
            out.append(copy)
        elif isinstance(item, Mapping):
            _require(dict(item), ("text", "spans"), source, where)
            nlp = _get_nlp(nlp)
            raw = _spans_from_dict(item, source, where)
            out.append(_make_doc(nlp, item["text"], _dict_id(item), raw, source, where))
        else:
            raise _fail(source, where, f"expected a Doc or a dict, got {type(item).__name__}")
    return out


def _doc_ids(docs: list[Doc]) -> list[str]:
    ids = []
    for i, doc in enumerate(docs, start=1):
        doc_id = doc._.imr_doc_id
        ids.append(f"doc_{i:04d}" if doc_id is None else str(doc_id))
    return ids


def _span_rows(doc: Doc) -> list[tuple[int, int, str, bool | None, Any]]:
    rows = []
    for ent in doc.ents:
        negated = bool(ent._.is_negated) if ent.label_ == NEGATABLE else None
        rows.append((ent.start_char, ent.end_char, ent.label_, negated, ent))
    return rows


# ---------------------------------------------------------------- public API


def export_spans(
    docs: Iterable[Doc | Mapping[str, Any]],
    path: str | Path,
    *,
    format: str = "prodigy",
    nlp: Language | None = None,
) -> Path:
    """Write documents and their spans for correction in an annotation tool.

    docs (Iterable[Doc | dict]): spaCy Docs (spans in ``doc.ents``, id in
        ``doc._.imr_doc_id``, negation in ``span._.is_negated``) or gold-style
        dicts ``{"id", "text", "spans": [{"start", "end", "label"[, "negated"]}]}``.
        Every span is checked as on reading, so a file that is written can be
        read back. A document without an id gets ``doc_0001``, ``doc_0002``...
    path (str | Path): the file to write; for ``"brat"`` a folder (created if
        needed; ``annotation.conf`` and one ``.txt``/``.ann`` pair per document).
    format (str): one of ``FORMATS``.
    nlp (Language | None): tokenizes dict inputs (Prodigy tokens, alignment
        checks). Defaults to ``imr_nlp.pipeline.tokenizer.blank()``.
    RETURNS (Path): the file or folder written.
    """
    if format not in FORMATS:
        raise AnnotationError(Errors.E030.format(format=format, known=", ".join(FORMATS)))
    path = Path(path)
    checked = _as_docs(docs, nlp)
    writer = {
        "prodigy": _write_prodigy,
        "label_studio": _write_label_studio,
        "doccano": _write_doccano,
        "brat": _write_brat,
    }[format]
    writer(checked, path)
    return path


def read_annotations(path: str | Path, *, format: str, nlp: Language | None = None) -> list[Doc]:
    """Read a corrected annotation file back into spaCy Docs.

    path (str | Path): the file (for ``"brat"`` the folder, or one ``.ann`` /
        ``.txt`` file of a pair).
    format (str): one of ``FORMATS``.
    nlp (Language | None): makes the Docs (``nlp.make_doc``); defaults to
        ``imr_nlp.pipeline.tokenizer.blank()``.
    RETURNS (list[Doc]): one Doc per document, in file order (brat: by file
        name), with ``doc.ents``, ``doc._.imr_doc_id`` and, on NECESSITY spans,
        ``span._.is_negated``. Prodigy's ``answer`` key is not interpreted:
        filter rejected or ignored tasks before reading.
    """
    if format not in FORMATS:
        raise AnnotationError(Errors.E030.format(format=format, known=", ".join(FORMATS)))
    _register()
    path = Path(path)
    if not path.exists():
        raise _fail(path, "file", "not found")
    nlp = _get_nlp(nlp)
    if format == "prodigy":
        return [doc for doc, _ in _read_prodigy(path, nlp)]
    if format == "label_studio":
        return _read_label_studio(path, nlp)
    if format == "doccano":
        return _read_doccano(path, nlp)
    return _read_brat(path, nlp)


def read_gold(path: str | Path, *, nlp: Language | None = None) -> list[Doc]:
    """Read a gold file (``shared/gold/*.jsonl``: ``id``, ``text``, ``spans``).

    path (str | Path): the JSONL file.
    nlp (Language | None): makes the Docs; defaults to ``imr_nlp.pipeline.tokenizer.blank()``.
    RETURNS (list[Doc]): the Docs with ``ents``, ``_.imr_doc_id``, ``_.is_negated``
        on NECESSITY spans and, where the line has them, ``_.imr_requests``.
    """
    _register()
    path = Path(path)
    if not path.exists():
        raise _fail(path, "file", "not found")
    docs = []
    for doc, obj in _read_prodigy(path, _get_nlp(nlp)):
        if "requests" in obj:
            doc._.imr_requests = obj["requests"]
        docs.append(doc)
    return docs


def to_docbin(docs: Iterable[Doc | Mapping[str, Any]], *, nlp: Language | None = None) -> DocBin:
    """Pack documents into a DocBin for ``spacy train`` / ``spacy evaluate``.

    docs (Iterable[Doc | dict]): Docs or gold-style dicts, as for export_spans.
    nlp (Language | None): tokenizes dict inputs; defaults to ``imr_nlp.pipeline.tokenizer.blank()``.
    RETURNS (DocBin): with user data stored, so ``doc._.imr_doc_id`` and
        ``span._.is_negated`` survive ``to_disk``/``get_docs``.
    """
    from spacy.tokens import DocBin

    docbin = DocBin(store_user_data=True)
    for doc in _as_docs(docs, nlp):
        docbin.add(doc)
    return docbin


def label_studio_config() -> str:
    """The Label Studio labeling config for the nine labels.

    RETURNS (str): a ``<View>`` with ``<Labels name="label" toName="text">``,
        ``<Text name="text" value="$text"/>`` and a per-region
        ``<Choices name="negated">`` shown on NECESSITY regions.
    """
    from xml.sax.saxutils import quoteattr

    lines = [
        "<View>",
        '  <Header value="$doc_id"/>',
        '  <Labels name="label" toName="text" showInline="true">',
    ]
    for label, colour in zip(LABELS, _LS_COLOURS, strict=True):
        lines.append(f"    <Label value={quoteattr(label)} background={quoteattr(colour)}/>")
    lines += [
        "  </Labels>",
        '  <Text name="text" value="$text"/>',
        f'  <Choices name="negated" toName="text" perRegion="true" '
        f'whenLabelValue="{NEGATABLE}" choice="multiple">',
        '    <Choice value="negated"/>',
        "  </Choices>",
        "</View>",
        "",
    ]
    return "\n".join(lines)


def write_label_studio_config(path: str | Path | None = None) -> Path:
    """Write :func:`label_studio_config` to a file.

    path (str | Path | None): the file; defaults to
        ``patterns/label_studio_config.xml`` (the copy the tests keep in sync).
    RETURNS (Path): the file written.
    """
    if path is None:
        from .patterns import patterns_dir

        path = patterns_dir() / LS_CONFIG_FILE
    path = Path(path)
    path.write_text(label_studio_config(), encoding="utf8")
    return path


# ---------------------------------------------------------------- JSON Lines


def _iter_jsonl(path: Path):
    with path.open("rb") as f:
        for i, raw in enumerate(f, start=1):
            where = f"line {i}"
            try:
                line = raw.decode("utf8")
            except UnicodeDecodeError as e:
                raise _fail(path, where, f"not UTF-8 (byte {e.start + 1})") from None
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise _fail(path, where, f"bad JSON ({e.msg}, column {e.colno})") from None
            except RecursionError:
                raise _fail(path, where, "JSON nested too deeply") from None
            yield where, obj


def _dump_jsonl(rows: Iterable[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------- Prodigy


def _write_prodigy(docs: list[Doc], path: Path) -> None:
    rows = []
    for doc, doc_id in zip(docs, _doc_ids(docs), strict=True):
        spans = []
        for start, end, label, negated, ent in _span_rows(doc):
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
    _dump_jsonl(rows, path)


def _read_prodigy(path: Path, nlp: Language) -> list[tuple[Doc, dict[str, Any]]]:
    out = []
    for where, obj in _iter_jsonl(path):
        _require(obj, ("text", "spans"), path, where)
        raw = _spans_from_dict(obj, path, where)
        out.append((_make_doc(nlp, obj["text"], _dict_id(obj), raw, path, where), obj))
    return out


# ---------------------------------------------------------------- doccano


def _write_doccano(docs: list[Doc], path: Path) -> None:
    rows = []
    for doc, doc_id in zip(docs, _doc_ids(docs), strict=True):
        spans = _span_rows(doc)
        rows.append(
            {
                "id": doc_id,
                "text": doc.text,
                "label": [[s, e, label] for s, e, label, _, _ in spans],
                "negated": [[s, e] for s, e, _, negated, _ in spans if negated],
            }
        )
    _dump_jsonl(rows, path)


def _read_doccano(path: Path, nlp: Language) -> list[Doc]:
    docs = []
    for where, obj in _iter_jsonl(path):
        _require(obj, ("text", "label"), path, where)
        labels = obj["label"]
        if not isinstance(labels, list):
            raise _fail(path, where, "'label' must be a list of [start, end, LABEL]")
        raw = []
        by_offsets: dict[tuple[Any, Any], _RawSpan] = {}
        for k, item in enumerate(labels, start=1):
            w = f"{where}, label {k}"
            if not isinstance(item, list) or len(item) != 3:
                raise _fail(path, w, f"expected [start, end, LABEL], got {item!r}")
            span = _RawSpan(
                item[0], item[1], item[2], w, negated=False if item[2] == NEGATABLE else None
            )
            raw.append(span)
            by_offsets[(item[0], item[1])] = span
        negated = obj.get("negated", [])
        if not isinstance(negated, list):
            raise _fail(path, where, "'negated' must be a list of [start, end]")
        for k, item in enumerate(negated, start=1):
            w = f"{where}, negated {k}"
            if not isinstance(item, list) or len(item) != 2:
                raise _fail(path, w, f"expected [start, end], got {item!r}")
            target = by_offsets.get((item[0], item[1]))
            if target is None or target.label != NEGATABLE:
                raise _fail(path, w, f"{item!r} is not the offsets of a {NEGATABLE} label")
            target.negated = True
        docs.append(_make_doc(nlp, obj["text"], obj.get("id"), raw, path, where))
    return docs


# ---------------------------------------------------------------- Label Studio


def _utf16_offsets(text: str) -> list[int] | None:
    """Python offset -> JavaScript (UTF-16) offset, or None if they are equal."""
    if all(ord(ch) <= 0xFFFF for ch in text):
        return None
    table = [0]
    for ch in text:
        table.append(table[-1] + (2 if ord(ch) > 0xFFFF else 1))
    return table


def _write_label_studio(docs: list[Doc], path: Path) -> None:
    tasks = []
    for n, (doc, doc_id) in enumerate(zip(docs, _doc_ids(docs), strict=True), start=1):
        js = _utf16_offsets(doc.text)
        result = []
        for k, (start, end, label, negated, ent) in enumerate(_span_rows(doc), start=1):
            region = f"{n}_{k}"
            value = {
                "start": js[start] if js else start,
                "end": js[end] if js else end,
                "text": ent.text,
            }
            result.append(
                {
                    "id": region,
                    "from_name": "label",
                    "to_name": "text",
                    "type": "labels",
                    "value": {**value, "labels": [label]},
                }
            )
            if negated:
                result.append(
                    {
                        "id": region,
                        "from_name": "negated",
                        "to_name": "text",
                        "type": "choices",
                        "value": {**value, "choices": ["negated"]},
                    }
                )
        task: dict[str, Any] = {"id": n, "data": {"text": doc.text, "doc_id": doc_id}}
        task["predictions"] = (
            [{"model_version": LS_MODEL_VERSION, "result": result}] if result else []
        )
        tasks.append(task)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(tasks, ensure_ascii=False, indent=1) + "\n", encoding="utf8")


def _ls_pick_result(task: dict[str, Any], path: Path, where: str) -> tuple[list[Any], str]:
    """The result list to read: latest non-cancelled annotation, else first prediction."""
    annotations = task.get("annotations") or []
    predictions = task.get("predictions") or []
    if not isinstance(annotations, list) or not isinstance(predictions, list):
        raise _fail(path, where, "'annotations' and 'predictions' must be lists")
    live = [
        (i, a)
        for i, a in enumerate(annotations)
        if isinstance(a, dict) and not a.get("was_cancelled")
    ]
    if live:
        i, chosen = max(
            live, key=lambda ia: (ia[1].get("updated_at") or ia[1].get("created_at") or "", ia[0])
        )
        label = f"annotation {chosen.get('id', i + 1)}"
    elif predictions:
        ours = [
            p
            for p in predictions
            if isinstance(p, dict) and p.get("model_version") == LS_MODEL_VERSION
        ]
        chosen = ours[0] if ours else predictions[0]
        label = "prediction"
    else:
        return [], ""
    _require(chosen, ("result",), path, where, label)
    if not isinstance(chosen["result"], list):
        raise _fail(path, f"{where}, {label}", "'result' must be a list")
    return chosen["result"], label


def _read_label_studio(path: Path, nlp: Language) -> list[Doc]:
    try:
        tasks = json.loads(path.read_text(encoding="utf8"))
    except json.JSONDecodeError as e:
        raise _fail(path, f"line {e.lineno}", f"bad JSON ({e.msg}, column {e.colno})") from None
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise _fail(path, "file", "expected a JSON list of tasks")
    docs = []
    for n, task in enumerate(tasks, start=1):
        where = f"task {n}"
        if isinstance(task, dict) and task.get("id") is not None:
            where += f" (id {task['id']})"
        _require(task, ("data",), path, where, "task")
        _require(task["data"], ("text",), path, where, "'data'")
        text = task["data"]["text"]
        if not isinstance(text, str):
            raise _fail(path, where, "'data.text' must be a string")
        doc_id = task["data"].get("doc_id", task.get("id"))
        result, source = _ls_pick_result(task, path, where)
        js = _utf16_offsets(text)
        to_py = {j: i for i, j in enumerate(js)} if js else None
        regions: dict[Any, _RawSpan] = {}
        raw: list[_RawSpan] = []
        negations: list[tuple[str, dict[str, Any]]] = []
        for k, r in enumerate(result, start=1):
            w = f"{where}, {source} result {k}"
            _require(r, ("type", "value"), path, w, "result")
            value = r["value"]
            if not isinstance(value, dict):
                raise _fail(path, w, "'value' must be an object")
            if r["type"] == "labels":
                _require(value, ("start", "end", "labels"), path, w, "'value'")
                labels = value["labels"]
                if not isinstance(labels, list) or len(labels) != 1:
                    raise _fail(path, w, f"a region needs exactly one label, got {labels!r}")
                start, end = value["start"], value["end"]
                if to_py is not None and _is_int(start) and _is_int(end):
                    if start not in to_py or end not in to_py:
                        raise _fail(path, w, f"offsets [{start}, {end}) split a character")
                    start, end = to_py[start], to_py[end]
                surface = value.get("text")
                span = _RawSpan(
                    start,
                    end,
                    labels[0],
                    w,
                    negated=False if labels[0] == NEGATABLE else None,
                    surface=surface if isinstance(surface, str) else None,
                )
                raw.append(span)
                if r.get("id") is not None:
                    regions[r["id"]] = span
            elif r["type"] == "choices" and r.get("from_name") == "negated":
                negations.append((w, r))
            else:
                raise _fail(
                    path, w, f"unsupported result type {r['type']!r} ({r.get('from_name')!r})"
                )
        for w, r in negations:
            choices = r["value"].get("choices")
            if not isinstance(choices, list) or not set(choices) <= {"negated"}:
                raise _fail(path, w, f"'negated' choices must be ['negated'], got {choices!r}")
            region = regions.get(r.get("id"))
            if region is None:
                raise _fail(path, w, f"negation refers to no labelled region (id {r.get('id')!r})")
            if region.label != NEGATABLE:
                raise _fail(
                    path, w, f"only {NEGATABLE} regions can be negated, not {region.label!r}"
                )
            region.negated = "negated" in choices
        docs.append(_make_doc(nlp, text, doc_id, raw, path, where))
    return docs


# ---------------------------------------------------------------- brat


def _brat_conf() -> str:
    return "\n".join(
        [
            "# imr_nlp annotation labels (shared/spec/annotation.md)",
            "[entities]",
            *LABELS,
            "",
            "[relations]",
            "",
            "[events]",
            "",
            "[attributes]",
            f"{BRAT_NEGATED}\tArg:{NEGATABLE}",
            "",
        ]
    )


def _brat_text(text: str) -> str:
    return "".join(" " if ch.isspace() else ch for ch in text)


def _write_brat(docs: list[Doc], path: Path) -> None:
    ids = _doc_ids(docs)
    seen: set[str] = set()
    for i, doc_id in enumerate(ids, start=1):
        if not doc_id or doc_id.startswith(".") or any(c in doc_id for c in "/\\\0"):
            raise _fail(path, f"doc {i}", f"id {doc_id!r} cannot be a file name")
        if doc_id in seen:
            raise _fail(path, f"doc {i}", f"duplicate id {doc_id!r} (one file pair per id)")
        seen.add(doc_id)
    path.mkdir(parents=True, exist_ok=True)
    (path / "annotation.conf").write_text(_brat_conf(), encoding="utf8")
    for doc, doc_id in zip(docs, ids, strict=True):
        lines = []
        attributes = 0
        for k, (start, end, label, negated, ent) in enumerate(_span_rows(doc), start=1):
            lines.append(f"T{k}\t{label} {start} {end}\t{_brat_text(ent.text)}")
            if negated:
                attributes += 1
                lines.append(f"A{attributes}\t{BRAT_NEGATED} T{k}")
        with (path / f"{doc_id}.txt").open("w", encoding="utf8", newline="") as f:
            f.write(doc.text)
        with (path / f"{doc_id}.ann").open("w", encoding="utf8", newline="") as f:
            f.write("".join(line + "\n" for line in lines))


def _brat_pairs(path: Path) -> list[tuple[Path, Path]]:
    if path.is_file():
        stems = [path.with_suffix("")]
    else:
        stems = sorted({p.with_suffix("") for p in path.iterdir() if p.suffix in (".txt", ".ann")})
    pairs = []
    for stem in stems:  # ids may hold dots: add suffixes, never replace them
        txt, ann = stem.parent / f"{stem.name}.txt", stem.parent / f"{stem.name}.ann"
        for have, need in ((txt, ann), (ann, txt)):
            if not need.is_file():
                raise _fail(need, "file", f"not found (its pair {have.name} exists)")
        pairs.append((txt, ann))
    return pairs


def _read_brat(path: Path, nlp: Language) -> list[Doc]:
    docs = []
    for txt, ann in _brat_pairs(path):
        with txt.open(encoding="utf8", newline="") as f:
            text = f.read()
        with ann.open(encoding="utf8", newline="") as f:
            content = f.read()
        entities: dict[str, _RawSpan] = {}
        negations: list[tuple[str, str]] = []
        for i, line in enumerate(content.split("\n"), start=1):
            line = line.rstrip("\r")
            if not line.strip() or line.startswith("#"):
                continue  # blank line or AnnotatorNotes comment
            fields = line.split("\t")
            tid = fields[0]
            where = f"line {i} ({tid})"
            if tid.startswith("T"):
                if len(fields) != 3:
                    raise _fail(ann, where, "expected 'T<n><TAB>LABEL START END<TAB>text'")
                head = fields[1]
                if ";" in head:
                    raise _fail(ann, where, "discontinuous spans are not supported")
                parts = head.split(" ")
                if len(parts) != 3 or not all(p.isdigit() for p in parts[1:]):
                    raise _fail(ann, where, f"expected 'LABEL START END', got {head!r}")
                if tid in entities:
                    raise _fail(ann, where, f"duplicate id {tid}")
                label = parts[0]
                entities[tid] = _RawSpan(
                    int(parts[1]),
                    int(parts[2]),
                    label,
                    where,
                    negated=False if label == NEGATABLE else None,
                    surface=fields[2],
                )
            elif tid.startswith(("A", "M")):
                parts = fields[1].split(" ") if len(fields) == 2 else []
                if len(parts) != 2 or parts[0] != BRAT_NEGATED:
                    raise _fail(ann, where, f"expected '{tid}<TAB>{BRAT_NEGATED} T<n>'")
                negations.append((where, parts[1]))
            else:
                raise _fail(ann, where, f"unsupported annotation {tid!r} (only T and A lines)")
        for where, target in negations:
            span = entities.get(target)
            if span is None:
                raise _fail(ann, where, f"attribute refers to unknown entity {target!r}")
            if span.label != NEGATABLE:
                raise _fail(
                    ann, where, f"only {NEGATABLE} spans can be negated, not {span.label!r}"
                )
            span.negated = True
        docs.append(_make_doc(nlp, text, txt.stem, list(entities.values()), ann, "file"))
    return docs
