"""Tests of the pieces the package shares: the JSONL writer, the rule-file mixin of the
components, the sentence-id helper, the conflict rule of trained spans and the gold reader."""

import json
import shutil
from pathlib import Path

import pytest
from spacy.tokens import Span

import imr_nlp
from imr_nlp.errors import GoldFileError
from imr_nlp.evaluation import read_gold
from imr_nlp.patterns import SCHEMAS, load_patterns, patterns_dir, read_jsonl, write_jsonl
from imr_nlp.pipeline.entities import RULE_FILES
from imr_nlp.pipeline.sentences import sentence_ids, sentence_starts
from imr_nlp.pipeline.tokenizer import blank
from imr_nlp.training.combine import fill_gaps


def test_write_jsonl_round_trips_through_read_jsonl(tmp_path):
    rows = [{"kind": "a", "pattern": "x\u2013y"}, {"kind": "b", "pattern": "z", "_compiled": 1}]
    path = write_jsonl(tmp_path / "sub" / "rules.jsonl", rows, header=["a comment"], atomic=True)
    text = path.read_text(encoding="utf8")
    assert text.startswith("// a comment\n") and "\u2013" in text
    assert read_jsonl(path, required=("kind", "pattern")) == [
        {"kind": "a", "pattern": "x\u2013y"},
        {"kind": "b", "pattern": "z"},
    ]


def test_sentence_ids_and_starts_agree_with_doc_sents(nlp):
    doc = nlp("Norco is requested. It is not medically necessary. The request is upheld.")
    ids = sentence_ids(doc)
    starts = sentence_starts(doc)
    assert starts == [s.start for s in doc.sents]
    for k, sent in enumerate(doc.sents):
        assert set(ids[sent.start : sent.end].tolist()) == {ids[starts[k]]}
    assert len(set(ids.tolist())) == len(starts) == 3


def test_sentence_helpers_without_boundaries():
    doc = blank()("two words")
    assert sentence_starts(doc) == [0]
    assert sentence_ids(doc).tolist() == [0, 0]


def test_fill_gaps_keeps_rule_spans_and_fills_only_gaps():
    doc = blank()("Xanax 1mg is requested for anxiety")
    rules = [Span(doc, 0, 1, "DRUG")]
    earlier = [Span(doc, 0, 2, "STRENGTH"), Span(doc, 5, 6, "DIAGNOSIS")]
    got = fill_gaps(doc, rules, earlier)
    assert [(s.start, s.end, s.label_) for s in got] == [(0, 1, "DRUG"), (5, 6, "DIAGNOSIS")]


def _copy_entity_rules(folder: Path) -> Path:
    folder.mkdir()
    for name in RULE_FILES:
        shutil.copy(patterns_dir() / f"{name}.jsonl", folder / f"{name}.jsonl")
    return folder


def test_entities_read_a_rules_folder_in_initialize(tmp_path):
    folder = _copy_entity_rules(tmp_path / "rules")
    drugs = read_jsonl(folder / "drugs.jsonl", required=SCHEMAS["drugs"])
    new = {"label": "DRUG", "pattern": "zorvextamine", "id": "zorvextamine", "class": "other"}
    drugs.append(new)
    write_jsonl(folder / "drugs.jsonl", drugs)
    nlp = imr_nlp.load(disable=["imr_requests"])
    text = "Zorvextamine is requested."
    assert not [e for e in nlp(text).ents if e.label_ == "DRUG"]
    nlp.get_pipe("imr_entities").initialize(rules_path=folder)
    drugs_found = [(e.text, e.label_) for e in nlp(text).ents if e.label_ == "DRUG"]
    assert drugs_found == [("Zorvextamine", "DRUG")]


def test_a_saved_pipeline_without_a_newer_rule_file_takes_the_packages(tmp_path, nlp):
    import spacy

    nlp.to_disk(tmp_path / "pipe")
    (tmp_path / "pipe" / "imr_entities" / "span_filters.jsonl").unlink()
    loaded = spacy.load(tmp_path / "pipe")
    assert loaded.get_pipe("imr_entities").rules["span_filters"] == load_patterns("span_filters")


def test_read_gold_checks_the_file_as_gold(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf8")
    with pytest.raises(GoldFileError, match="E051"):
        read_gold(empty)
    no_spans = tmp_path / "no_spans.jsonl"
    no_spans.write_text(json.dumps({"text": "Norco"}) + "\n", encoding="utf8")
    with pytest.raises(GoldFileError, match=r"line 1: missing key"):
        read_gold(no_spans)
    with pytest.raises(GoldFileError, match="E050"):
        read_gold(tmp_path / "missing.jsonl")
