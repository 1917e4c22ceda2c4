"""Tests of imr_nlp.annotations: export, read-back, checks, Label Studio config."""

from __future__ import annotations

import json
import tempfile
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imr_nlp.annotations import (
    FORMATS,
    LABELS,
    export_spans,
    label_studio_config,
    read_annotations,
    to_docbin,
)
from imr_nlp.errors import AnnotationError, GoldFileError
from imr_nlp.evaluation import read_gold
from imr_nlp.patterns import patterns_dir

GOLD = Path("/work/shared/gold/seeds.jsonl")
if not GOLD.is_file():  # a checkout next to shared/
    GOLD = Path(__file__).resolve().parents[2] / "shared" / "gold" / "seeds.jsonl"

pytestmark = pytest.mark.skipif(not GOLD.is_file(), reason="gold seeds.jsonl not found")


@lru_cache(maxsize=1)
def _nlp():
    from imr_nlp.pipeline.tokenizer import blank

    return blank()


@pytest.fixture(scope="module")
def seeds() -> list[dict]:
    with GOLD.open(encoding="utf8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _gold_spans(record: dict) -> list[tuple]:
    return [(s["start"], s["end"], s["label"], s.get("negated")) for s in record["spans"]]


def _doc_spans(doc) -> list[tuple]:
    return [
        (e.start_char, e.end_char, e.label_, e._.is_negated if e.label_ == "NECESSITY" else None)
        for e in doc.ents
    ]


def _target(tmp_path: Path, fmt: str) -> Path:
    suffix = {"prodigy": ".jsonl", "doccano": ".jsonl", "label_studio": ".json", "brat": ""}[fmt]
    return tmp_path / f"{fmt}{suffix}"


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_seeds(tmp_path, seeds, fmt):
    out = export_spans(seeds, _target(tmp_path, fmt), format=fmt)
    docs = read_annotations(out, format=fmt)
    assert [d._.doc_id for d in docs] == [r["id"] for r in seeds]
    for record, doc in zip(seeds, docs, strict=True):
        assert doc.text == record["text"]
        assert _doc_spans(doc) == _gold_spans(record)
    necessity = [e for d in docs for e in d.ents if e.label_ == "NECESSITY"]
    assert len(necessity) == 8 and all(e._.is_negated for e in necessity)


def test_read_gold_counts_and_requests(seeds):
    docs = read_gold(GOLD)
    assert sum(len(d.ents) for d in docs) == 189
    for record, doc in zip(seeds, docs, strict=True):
        assert _doc_spans(doc) == _gold_spans(record)
        assert doc._.requests == record["requests"]


def test_export_from_docs(tmp_path, seeds):
    docs = read_gold(GOLD)
    docs[0]._.doc_id = None
    out = export_spans(docs, tmp_path / "docs.jsonl", format="prodigy")
    back = read_annotations(out, format="prodigy")
    assert back[0]._.doc_id == "doc_0001"
    assert [_doc_spans(d) for d in back] == [_gold_spans(r) for r in seeds]


def test_prodigy_shape(tmp_path, seeds):
    out = export_spans(seeds[:1], tmp_path / "p.jsonl", format="prodigy")
    task = json.loads(out.read_text(encoding="utf8").splitlines()[0])
    assert set(task) == {"id", "text", "spans", "tokens", "meta"}
    assert task["meta"] == {"id": seeds[0]["id"]}
    tokens = task["tokens"]
    assert [t["id"] for t in tokens] == list(range(len(tokens)))
    assert "".join(t["text"] + (" " if t["ws"] else "") for t in tokens) == task["text"]
    for span in task["spans"]:
        first, last = tokens[span["token_start"]], tokens[span["token_end"]]
        assert (first["start"], last["end"]) == (span["start"], span["end"])
        assert ("negated" in span) == (span["label"] == "NECESSITY")


def test_brat_files(tmp_path, seeds):
    out = export_spans(seeds, tmp_path / "brat", format="brat")
    conf = (out / "annotation.conf").read_text(encoding="utf8")
    assert all(label in conf.splitlines() for label in LABELS)
    assert "Negated\tArg:NECESSITY" in conf
    ann = (out / f"{seeds[0]['id']}.ann").read_text(encoding="utf8")
    # "failed spinal surgery \n\nsyndrome" crosses line breaks: one line, exact offsets.
    line = next(x for x in ann.splitlines() if "failed spinal surgery" in x)
    start, end = (int(x) for x in line.split("\t")[1].split()[1:])
    assert "\n" in seeds[0]["text"][start:end]
    assert line.split("\t")[2] == seeds[0]["text"][start:end].replace("\n", " ")
    assert any(x.startswith("A1\tNegated T") for x in ann.splitlines())
    assert (out / f"{seeds[0]['id']}.txt").read_bytes() == seeds[0]["text"].encode("utf8")


def test_brat_dotted_id_and_single_pair(tmp_path):
    record = {"id": "v1.2", "text": "Xanax 1mg", "spans": [{"start": 0, "end": 5, "label": "DRUG"}]}
    out = export_spans([record], tmp_path / "brat", format="brat")
    for path in (out, out / "v1.2.ann"):
        (doc,) = read_annotations(path, format="brat")
        assert doc._.doc_id == "v1.2" and _doc_spans(doc) == [(0, 5, "DRUG", None)]


def test_docbin_keeps_ids_and_negation(seeds):
    from spacy.tokens import DocBin

    data = to_docbin(seeds).to_bytes()
    docs = list(DocBin().from_bytes(data).get_docs(_nlp().vocab))
    assert [d._.doc_id for d in docs] == [r["id"] for r in seeds]
    assert [_doc_spans(d) for d in docs] == [_gold_spans(r) for r in seeds]


def test_unknown_format(tmp_path, seeds):
    with pytest.raises(AnnotationError, match=r"\[E030\].*conll"):
        export_spans(seeds, tmp_path / "x", format="conll")
    with pytest.raises(AnnotationError, match=r"\[E030\]"):
        read_annotations(tmp_path / "x", format="conll")


# ---------------------------------------------------------------- Label Studio


@pytest.fixture(scope="module")
def label_interface():
    from label_studio_sdk.label_interface import LabelInterface

    interface = LabelInterface(label_studio_config())
    interface.validate()  # Label Studio's schema, unique-name and toName checks
    return interface


def test_label_studio_config_file_in_sync():
    committed = patterns_dir() / "label_studio_config.xml"
    assert committed.read_text(encoding="utf8") == label_studio_config()


def test_label_studio_config_labels(label_interface):
    assert label_interface.get_control("label").labels == list(LABELS)
    assert label_interface.get_control("negated").labels == ["negated"]


def test_label_studio_tasks_validate(tmp_path, seeds, label_interface):
    out = export_spans(seeds, tmp_path / "ls.json", format="label_studio")
    tasks = json.loads(out.read_text(encoding="utf8"))
    assert len(tasks) == len(seeds)
    n_regions = 0
    for task in tasks:
        # validate_task() of SDK 2.0.0 calls validate_prediction() without its
        # argument when "predictions" is present, so the data and the predictions
        # are validated separately.
        assert label_interface.validate_task({"data": task["data"]})
        for prediction in task["predictions"]:
            assert label_interface.validate_prediction(prediction, return_errors=True) == []
            for region in prediction["result"]:
                assert label_interface.validate_region(region)
                n_regions += region["type"] == "labels"
    assert n_regions == 189


def test_label_studio_validation_can_fail(tmp_path, seeds, label_interface):
    out = export_spans(seeds[:1], tmp_path / "ls.json", format="label_studio")
    task = json.loads(out.read_text(encoding="utf8"))[0]
    prediction = task["predictions"][0]
    prediction["result"][0]["value"]["labels"] = ["ASPIRIN"]
    errors = label_interface.validate_prediction(prediction, return_errors=True)
    assert errors and "ASPIRIN" in errors[0]
    negation = next(r for r in prediction["result"] if r["from_name"] == "negated")
    negation["value"]["choices"] = ["maybe"]
    assert not label_interface.validate_region(negation)
    assert not label_interface.validate_task({"data": {"doc_id": "no text"}})


def test_label_studio_prefers_latest_annotation(tmp_path, seeds, label_interface):
    out = export_spans(seeds[:1], tmp_path / "ls.json", format="label_studio")
    tasks = json.loads(out.read_text(encoding="utf8"))
    result = tasks[0]["predictions"][0]["result"]
    first = next(r for r in result if r["type"] == "labels")
    older = {"id": 1, "result": result, "created_at": "2024-01-01T00:00:00Z"}
    latest = {"id": 2, "result": [first], "created_at": "2024-02-01T00:00:00Z"}
    cancelled = {"id": 3, "result": [], "was_cancelled": True, "created_at": "2024-03-01T00:00:00Z"}
    assert label_interface.validate_annotation(latest)
    tasks[0]["annotations"] = [older, latest, cancelled]
    out.write_text(json.dumps(tasks), encoding="utf8")
    (doc,) = read_annotations(out, format="label_studio")
    assert _doc_spans(doc) == [(first["value"]["start"], first["value"]["end"], "DIAGNOSIS", None)]


def test_label_studio_utf16_offsets(tmp_path):
    text = "\U0001f48a Xanax 1mg"
    record = {"id": "emoji", "text": text, "spans": [{"start": 2, "end": 7, "label": "DRUG"}]}
    out = export_spans([record], tmp_path / "ls.json", format="label_studio")
    value = json.loads(out.read_text(encoding="utf8"))[0]["predictions"][0]["result"][0]["value"]
    assert (value["start"], value["end"]) == (3, 8)  # JavaScript counts the pill as 2
    (doc,) = read_annotations(out, format="label_studio")
    assert _doc_spans(doc) == [(2, 7, "DRUG", None)]


# ---------------------------------------------------------------- corrupt inputs


def _edit_jsonl(path: Path, line_no: int, edit) -> None:
    lines = path.read_text(encoding="utf8").splitlines()
    obj = json.loads(lines[line_no - 1])
    edit(obj)
    lines[line_no - 1] = json.dumps(obj)
    path.write_text("\n".join(lines) + "\n", encoding="utf8")


def _break_line(path: Path, line_no: int) -> None:
    lines = path.read_text(encoding="utf8").splitlines()
    lines[line_no - 1] = lines[line_no - 1][:-5]
    path.write_text("\n".join(lines) + "\n", encoding="utf8")


def _set_span(k, **change):
    return lambda obj: obj["spans"][k].update(change)


def _overlap_prodigy(obj):
    obj["spans"][1]["start"] = obj["spans"][0]["start"]


def _misalign_prodigy(obj):
    obj["spans"][3]["start"] += 1


def _doccano_label(k, index, value):
    def edit(obj):
        obj["label"][k][index] = value

    return edit


CORRUPT_JSONL = [
    ("prodigy", lambda obj: _set_span(0, end=len(obj["text"]) + 5)(obj), "outside the text"),
    ("prodigy", _overlap_prodigy, "overlaps"),
    ("prodigy", _set_span(2, label="ASPIRIN"), "unknown label"),
    ("prodigy", _misalign_prodigy, "token boundaries"),
    ("prodigy", lambda obj: obj.pop("spans"), "missing key"),
    ("prodigy", _set_span(0, text="Valium"), "does not match"),
    ("doccano", lambda obj: _doccano_label(0, 1, len(obj["text"]) + 1)(obj), "outside the text"),
    ("doccano", _doccano_label(1, 2, "ASPIRIN"), "unknown label"),
    ("doccano", lambda obj: obj["label"][1].__setitem__(0, obj["label"][0][0]), "overlaps"),
    ("doccano", lambda obj: obj["label"][3].__setitem__(0, obj["label"][3][0] + 1), "token"),
    ("doccano", lambda obj: obj["negated"].append(obj["label"][0][:2]), "NECESSITY"),
]


@pytest.mark.parametrize("fmt,edit,problem", CORRUPT_JSONL)
def test_corrupt_jsonl(tmp_path, seeds, fmt, edit, problem):
    out = export_spans(seeds, _target(tmp_path, fmt), format=fmt)
    _edit_jsonl(out, 2, edit)
    with pytest.raises(AnnotationError, match=r"\[E031\]") as err:
        read_annotations(out, format=fmt)
    message = str(err.value)
    assert str(out) in message and "line 2" in message and problem in message


@pytest.mark.parametrize("fmt", ["prodigy", "doccano"])
def test_bad_json_line(tmp_path, seeds, fmt):
    out = export_spans(seeds, _target(tmp_path, fmt), format=fmt)
    _break_line(out, 3)
    with pytest.raises(AnnotationError, match=r"line 3: bad JSON") as err:
        read_annotations(out, format=fmt)
    assert str(out) in str(err.value)


def test_bad_json_gold(tmp_path, seeds):
    out = export_spans(seeds, tmp_path / "gold.jsonl", format="prodigy")
    _break_line(out, 4)
    with pytest.raises(GoldFileError, match=r"line 4: bad JSON"):
        read_gold(out)


def _ls_widen(result, text):
    """Region 2 starts where region 1 starts (its text still matches)."""
    first, second = result[0]["value"], result[1]["value"]
    second["start"] = first["start"]
    second["text"] = text[second["start"] : second["end"]]


def _ls_edit(tmp_path, seeds, edit) -> Path:
    out = export_spans(seeds, tmp_path / "ls.json", format="label_studio")
    tasks = json.loads(out.read_text(encoding="utf8"))
    edit(tasks[1]["predictions"][0]["result"], tasks[1]["data"]["text"])
    out.write_text(json.dumps(tasks), encoding="utf8")
    return out


@pytest.mark.parametrize(
    "edit,problem",
    [
        (lambda r, _: r[0]["value"].update(text="Valium"), "does not match"),
        (lambda r, _: r[0]["value"].update(end=10**7), "outside the text"),
        (_ls_widen, "overlaps"),
        (lambda r, _: r[0]["value"].update(labels=["ASPIRIN"]), "unknown label"),
        (lambda r, _: r[0]["value"].update(labels=[]), "exactly one label"),
        (lambda r, _: r.append({**r[0], "type": "relation"}), "unsupported result"),
    ],
)
def test_corrupt_label_studio(tmp_path, seeds, edit, problem):
    out = _ls_edit(tmp_path, seeds, edit)
    with pytest.raises(AnnotationError) as err:
        read_annotations(out, format="label_studio")
    message = str(err.value)
    assert str(out) in message and "task 2" in message and problem in message


def test_corrupt_label_studio_json(tmp_path, seeds):
    out = export_spans(seeds, tmp_path / "ls.json", format="label_studio")
    out.write_text(out.read_text(encoding="utf8")[:-10], encoding="utf8")
    with pytest.raises(AnnotationError, match="bad JSON") as err:
        read_annotations(out, format="label_studio")
    assert str(out) in str(err.value)


def _brat_edit(tmp_path, seeds, edit) -> Path:
    out = export_spans(seeds, tmp_path / "brat", format="brat")
    ann = out / f"{seeds[1]['id']}.ann"
    lines = ann.read_text(encoding="utf8").splitlines()
    edit(lines)
    ann.write_text("\n".join(lines) + "\n", encoding="utf8")
    return ann


def _brat_field(line_no, field, change):
    def edit(lines):
        tid, head, text = lines[line_no].split("\t")
        parts = head.split()
        parts[field] = change(parts[field])
        lines[line_no] = "\t".join([tid, " ".join(parts), text])

    return edit


def _brat_text(line_no, text):
    def edit(lines):
        tid, head, _ = lines[line_no].split("\t")
        lines[line_no] = "\t".join([tid, head, text])

    return edit


def _brat_misalign(line_no):
    """Start one character later; the text column follows, so only alignment fails."""

    def edit(lines):
        tid, head, text = lines[line_no].split("\t")
        label, start, end = head.split()
        lines[line_no] = "\t".join([tid, f"{label} {int(start) + 1} {end}", text[1:]])

    return edit


@pytest.mark.parametrize(
    "edit,problem,where",
    [
        (_brat_text(2, "Valium"), "does not match", "(T3)"),
        (_brat_field(0, 2, lambda _: "9999999"), "outside the text", "(T1)"),
        (_brat_field(0, 0, lambda _: "ASPIRIN"), "unknown label", "(T1)"),
        (_brat_misalign(3), "token boundaries", "(T4)"),
        (lambda lines: lines.append("R1\tRel Arg1:T1 Arg2:T2"), "unsupported", "(R1)"),
        (lambda lines: lines.append("A9\tNegated T1"), "only NECESSITY", "(A9)"),
    ],
)
def test_corrupt_brat(tmp_path, seeds, edit, problem, where):
    ann = _brat_edit(tmp_path, seeds, edit)
    with pytest.raises(AnnotationError) as err:
        read_annotations(ann.parent, format="brat")
    message = str(err.value)
    assert str(ann) in message and "line " in message and where in message and problem in message


def test_brat_overlap(tmp_path, seeds):
    ann = _brat_edit(tmp_path, seeds, lambda lines: None)
    text = ann.with_suffix(".txt").read_text(encoding="utf8")
    lines = ann.read_text(encoding="utf8").splitlines()
    start = lines[0].split("\t")[1].split()[1]
    tid, head, _ = lines[1].split("\t")
    label, _, end = head.split()
    # T2 widened to start where T1 starts; its text column still matches.
    surface = text[int(start) : int(end)].replace("\n", " ")
    lines[1] = "\t".join([tid, f"{label} {start} {end}", surface])
    ann.write_text("\n".join(lines) + "\n", encoding="utf8")
    with pytest.raises(AnnotationError, match="overlaps") as err:
        read_annotations(ann.parent, format="brat")
    assert str(ann) in str(err.value) and "(T2)" in str(err.value)


def test_export_refuses_bad_spans(tmp_path, seeds):
    record = dict(seeds[0], spans=[{"start": 0, "end": 3, "label": "DRUG"}])
    with pytest.raises(AnnotationError, match=r"doc 1"):
        export_spans([record], tmp_path / "x.jsonl", format="prodigy")


# ---------------------------------------------------------------- property test


@st.composite
def _documents(draw):
    text = draw(st.text(alphabet="abcXY 12#.,-/()\n\té\U0001f48a", max_size=60))
    doc = _nlp().make_doc(text)
    candidates = [t.i for t in doc if not t.is_space]
    picks = sorted(draw(st.sets(st.sampled_from(candidates))) if candidates else [])
    spans, k = [], 0
    while k < len(picks):
        first = last = picks[k]
        if k + 1 < len(picks) and draw(st.booleans()):
            last = picks[k + 1]  # a multi-token span up to the next pick
            k += 1
        k += 1
        span = doc[first : last + 1]
        label = draw(st.sampled_from(LABELS))
        row = {"start": span.start_char, "end": span.end_char, "label": label}
        if label == "NECESSITY":
            row["negated"] = draw(st.booleans())
        spans.append(row)
    return {"id": "h", "text": text, "spans": spans}


@pytest.mark.parametrize("fmt", ["prodigy", "doccano"])
@settings(
    derandomize=True,
    max_examples=50,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(record=_documents())
def test_property_round_trip(fmt, record):
    with tempfile.TemporaryDirectory() as tmp:
        out = export_spans([record], Path(tmp) / "x.jsonl", format=fmt, nlp=_nlp())
        (doc,) = read_annotations(out, format=fmt, nlp=_nlp())
    assert doc.text == record["text"]
    assert _doc_spans(doc) == _gold_spans(record)
