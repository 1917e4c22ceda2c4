"""Label Studio: one JSON file, a list of tasks with the spans as ``predictions``
(``model_version`` "imr_nlp"), negation as a per-region ``Choices`` result; offsets are
JavaScript (UTF-16) offsets. The labeling config is :func:`label_studio_config`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .checks import (
    NEGATABLE,
    RawSpan,
    doc_ids,
    fail,
    is_int,
    make_doc,
    require,
    span_rows,
)

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

from .. import LABELS

LS_MODEL_VERSION = "imr_nlp"
LS_CONFIG_FILE = "label_studio_config.xml"

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


def _utf16_offsets(text: str) -> list[int] | None:
    """Python offset -> JavaScript (UTF-16) offset, or None if they are equal."""
    if all(ord(ch) <= 0xFFFF for ch in text):
        return None
    table = [0]
    for ch in text:
        table.append(table[-1] + (2 if ord(ch) > 0xFFFF else 1))
    return table


def write(docs: list[Doc], path: Path) -> None:
    tasks = []
    for n, (doc, doc_id) in enumerate(zip(docs, doc_ids(docs), strict=True), start=1):
        js = _utf16_offsets(doc.text)
        result = []
        for k, (start, end, label, negated, ent) in enumerate(span_rows(doc), start=1):
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
        raise fail(path, where, "'annotations' and 'predictions' must be lists")
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
    require(chosen, ("result",), path, where, label)
    if not isinstance(chosen["result"], list):
        raise fail(path, f"{where}, {label}", "'result' must be a list")
    return chosen["result"], label


def read(path: Path, nlp: Language) -> list[Doc]:
    try:
        tasks = json.loads(path.read_text(encoding="utf8"))
    except json.JSONDecodeError as e:
        raise fail(path, f"line {e.lineno}", f"bad JSON ({e.msg}, column {e.colno})") from None
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise fail(path, "file", "expected a JSON list of tasks")
    docs = []
    for n, task in enumerate(tasks, start=1):
        where = f"task {n}"
        if isinstance(task, dict) and task.get("id") is not None:
            where += f" (id {task['id']})"
        require(task, ("data",), path, where, "task")
        require(task["data"], ("text",), path, where, "'data'")
        text = task["data"]["text"]
        if not isinstance(text, str):
            raise fail(path, where, "'data.text' must be a string")
        doc_id = task["data"].get("doc_id", task.get("id"))
        result, source = _ls_pick_result(task, path, where)
        js = _utf16_offsets(text)
        to_py = {j: i for i, j in enumerate(js)} if js else None
        regions: dict[Any, RawSpan] = {}
        raw: list[RawSpan] = []
        negations: list[tuple[str, dict[str, Any]]] = []
        for k, r in enumerate(result, start=1):
            w = f"{where}, {source} result {k}"
            require(r, ("type", "value"), path, w, "result")
            value = r["value"]
            if not isinstance(value, dict):
                raise fail(path, w, "'value' must be an object")
            if r["type"] == "labels":
                require(value, ("start", "end", "labels"), path, w, "'value'")
                labels = value["labels"]
                if not isinstance(labels, list) or len(labels) != 1:
                    raise fail(path, w, f"a region needs exactly one label, got {labels!r}")
                start, end = value["start"], value["end"]
                if to_py is not None and is_int(start) and is_int(end):
                    if start not in to_py or end not in to_py:
                        raise fail(path, w, f"offsets [{start}, {end}) split a character")
                    start, end = to_py[start], to_py[end]
                surface = value.get("text")
                span = RawSpan(
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
                raise fail(
                    path, w, f"unsupported result type {r['type']!r} ({r.get('from_name')!r})"
                )
        for w, r in negations:
            choices = r["value"].get("choices")
            if not isinstance(choices, list) or not set(choices) <= {"negated"}:
                raise fail(path, w, f"'negated' choices must be ['negated'], got {choices!r}")
            region = regions.get(r.get("id"))
            if region is None:
                raise fail(path, w, f"negation refers to no labelled region (id {r.get('id')!r})")
            if region.label != NEGATABLE:
                raise fail(
                    path, w, f"only {NEGATABLE} regions can be negated, not {region.label!r}"
                )
            region.negated = "negated" in choices
        docs.append(make_doc(nlp, text, doc_id, raw, path, where))
    return docs


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
        from ..patterns import patterns_dir

        path = patterns_dir() / LS_CONFIG_FILE
    path = Path(path)
    path.write_text(label_studio_config(), encoding="utf8")
    return path
