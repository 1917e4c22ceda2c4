"""Tests of imr_nlp.training: train on tiny docs, load alone and with the rules,
the conflict rule, the shipped model and the leave-one-out metrics.

Training here runs spaCy's trainer for a few steps on two made-up letters (a
few seconds). spaCy 3.7.5 / thinc 8.2.5 give no UserWarning while training,
sourcing or loading, so no warning is filtered beyond pyproject's named
third-party filters (click's ``split_arg_string`` on ``import spacy``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from spacy.language import Language
from spacy.symbols import ORTH
from spacy.tokens import Doc, Span

from imr_nlp import LABELS, PIPE_NAMES
from imr_nlp.errors import ImrWarning
from imr_nlp.training import (
    META_FILE,
    TRAINED_NAME,
    check_compatible,
    load_trained,
    load_trained_only,
    read_docs,
    score_exact,
    split_docs,
    train,
)

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "models" / "imr_ner_seeds"
GOLD = REPO.parent / "shared" / "gold" / "seeds.jsonl"
META_KEYS = {
    "labels",
    "train_docs",
    "dev_docs",
    "dev_is_train",
    "seed",
    "dev_scores",
    "date",
    "command",
    "max_steps",
    "n_spans",
    "config",
    "sources",
}


def _letter(doc_id: str, text: str, spans: list[tuple[str, str]]) -> dict:
    """A gold-style record; each (surface, label) is found by str.index."""
    out = []
    for surface, label in spans:
        start = text.index(surface)
        out.append({"start": start, "end": start + len(surface), "label": label})
    return {"id": doc_id, "text": text, "spans": out}


TINY = [
    _letter(
        "a",
        "Xanax 1mg #120 is not medically necessary per MTUS Guidelines page 24.",
        [
            ("Xanax", "DRUG"),
            ("1mg", "STRENGTH"),
            ("#120", "QUANTITY"),
            ("MTUS Guidelines page 24", "GUIDELINE"),
        ],
    ),
    _letter(
        "b",
        "Norco 10mg #90 was upheld for chronic pain.",
        [("Norco", "DRUG"), ("10mg", "STRENGTH"), ("#90", "QUANTITY")],
    ),
]


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf8")
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("train")
    data = _write_jsonl(tmp / "tiny.jsonl", TINY)
    return train(data, tmp / "model", format="prodigy", max_steps=8, seed=1)


@pytest.fixture(scope="module")
def combined(tiny_model) -> Language:
    return load_trained(tiny_model)


def test_train_writes_best_model_and_meta(tiny_model):
    assert (tiny_model / "config.cfg").is_file() and (tiny_model / "ner").is_dir()
    assert not (tiny_model / "model-last").exists() and not (tiny_model / "model-best").exists()
    meta = json.loads((tiny_model / META_FILE).read_text())
    assert set(meta) >= META_KEYS
    assert meta["labels"] == list(LABELS)
    assert len(meta["train_docs"]) == 1 and len(meta["dev_docs"]) == 1
    assert set(meta["train_docs"] + meta["dev_docs"]) == {"a", "b"}
    assert meta["dev_is_train"] is False and meta["seed"] == 1 and meta["max_steps"] == 8
    assert "ents_f" in meta["dev_scores"]
    # the temp folder of the run leaves no trace in the saved config
    assert "imr_nlp_train_" not in (tiny_model / "config.cfg").read_text()


def test_trained_only_has_all_labels(tiny_model):
    nlp = load_trained_only(tiny_model)
    assert nlp.pipe_names == ["ner"]
    assert set(nlp.get_pipe("ner").labels) == set(LABELS)
    assert isinstance(nlp("Xanax 1mg #120"), Doc)


def test_single_doc_trains_with_dev_equal_train(tmp_path):
    data = _write_jsonl(tmp_path / "one.jsonl", TINY[:1])
    out = train(data, tmp_path / "m", max_steps=2)
    meta = json.loads((out / META_FILE).read_text())
    assert meta["dev_is_train"] is True and meta["train_docs"] == meta["dev_docs"] == ["a"]
    assert "note" in meta


def test_train_refuses_to_overwrite_other_folders(tmp_path):
    data = _write_jsonl(tmp_path / "tiny.jsonl", TINY)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="E042"):
        train(data, tmp_path / "notes", max_steps=2)
    with pytest.raises(ValueError, match="E040"):
        train(data, tmp_path / "m", format="conll")


def test_load_trained_puts_trained_ner_before_rules(combined):
    names = combined.pipe_names
    assert TRAINED_NAME in names and set(PIPE_NAMES) <= set(names)
    assert names.index(TRAINED_NAME) == names.index("imr_entities") - 1
    assert combined.get_pipe_config("imr_entities")["overwrite_ents"] is False
    assert combined.get_pipe("imr_entities").overwrite_ents is False


def test_load_trained_disable(tiny_model):
    nlp = load_trained(tiny_model, disable=("imr_requests",))
    assert "imr_requests" not in nlp.pipe_names and TRAINED_NAME in nlp.pipe_names
    rules = load_trained(tiny_model, disable=(TRAINED_NAME,))
    assert rules.pipe_names == list(PIPE_NAMES)


def test_imr_nlp_load_with_model(tiny_model):
    import imr_nlp

    assert TRAINED_NAME in imr_nlp.load(tiny_model).pipe_names


def _fixed_ents(doc: Doc, spans: list[tuple[int, int, str]]) -> Doc:
    """Stands in for trained_ner: sets the given spans."""
    doc.ents = [Span(doc, s, e, label=lab) for s, e, lab in spans]
    return doc


@pytest.mark.parametrize(
    "fixed,fill,expected",
    [
        # equal span, other label: the rule span wins, with its attributes
        ([(0, 1, "DRUG_CLASS")], None, [("Xanax", "DRUG", "alprazolam")]),
        # a longer trained span over a rule span: the rule span still wins
        ([(0, 3, "DRUG")], None, [("Xanax", "DRUG", "alprazolam")]),
        # a trained GUIDELINE over a rule DRUG: the rule span wins
        ([(0, 1, "GUIDELINE")], None, [("Xanax", "DRUG", "alprazolam")]),
        # a trained span in a gap of the rules is kept when its label may fill gaps ...
        (
            [(6, 7, "DIAGNOSIS")],
            {"DIAGNOSIS"},
            [("Xanax", "DRUG", "alprazolam"), ("requested", "DIAGNOSIS", None)],
        ),
        # ... and dropped when it may not
        ([(6, 7, "DIAGNOSIS")], {"DRUG"}, [("Xanax", "DRUG", "alprazolam")]),
    ],
)
def test_conflict_rule(combined, fixed, fill, expected):
    entities = combined.get_pipe("imr_entities")
    before = entities.fill_labels
    entities.fill_labels = fill
    try:
        doc = combined.make_doc("Xanax 1mg #120 is requested now.")
        for name, proc in combined.pipeline:
            doc = _fixed_ents(doc, fixed) if name == TRAINED_NAME else proc(doc)
    finally:
        entities.fill_labels = before
    got = [(e.text, e.label_, e._.generic) for e in doc.ents if e.label_ in ("DRUG", "DIAGNOSIS")]
    assert got == expected


def test_check_compatible_warns_on_other_tokens(tiny_model, combined):
    trained = load_trained_only(tiny_model)
    assert check_compatible(combined, trained)
    trained.tokenizer.add_special_case("Xanax", [{ORTH: "Xa"}, {ORTH: "nax"}])
    with pytest.warns(ImrWarning, match="W040"):
        assert not check_compatible(combined, trained)


def test_split_docs_is_deterministic_by_document():
    from imr_nlp.pipeline.tokenizer import blank

    nlp = blank()
    docs = [nlp.make_doc(f"letter {i}") for i in range(5)]
    train_a, dev_a, same = split_docs(docs, dev_share=0.2, seed=0)
    train_b, dev_b, _ = split_docs(list(reversed(docs)), dev_share=0.2, seed=0)
    assert not same and len(dev_a) == 1 and len(train_a) == 4
    assert {d.text for d in dev_a} == {d.text for d in dev_b}
    assert {d.text for d in train_a} == {d.text for d in train_b}
    _, dev_small, _ = split_docs(docs[:2], dev_share=0.0, seed=0)
    assert len(dev_small) == 1


def test_score_exact():
    from imr_nlp.pipeline.tokenizer import blank

    nlp = blank()
    gold, pred = nlp.make_doc("Xanax 1mg #120"), nlp.make_doc("Xanax 1mg #120")
    gold.ents = [Span(gold, 0, 1, "DRUG"), Span(gold, 1, 2, "STRENGTH")]
    pred.ents = [Span(pred, 0, 1, "DRUG"), Span(pred, 1, 3, "STRENGTH")]
    s = score_exact([pred], [gold])
    assert (s["tp"], s["n_pred"], s["n_gold"], s["f"]) == (1, 2, 2, 0.5)
    assert s["per_label"]["DRUG"]["f"] == 1.0 and s["per_label"]["STRENGTH"]["f"] == 0.0


@pytest.mark.skipif(not GOLD.is_file(), reason="gold seeds.jsonl not found")
def test_shipped_model_tags_a_seed_letter():
    nlp = load_trained_only(SHIPPED)
    letter = read_docs(GOLD, format="gold")[0]
    doc = nlp(letter.text)
    assert len(doc.ents) >= 10
    assert {e.label_ for e in doc.ents} <= set(LABELS)
    # the model knows the letter's drug, as the gold does
    assert {e.text for e in doc.ents if e.label_ == "DRUG"} & {
        e.text for e in letter.ents if e.label_ == "DRUG"
    }


def test_shipped_model_files():
    meta = json.loads((SHIPPED / META_FILE).read_text())
    assert set(meta) >= META_KEYS and meta["sources"]["paths"] == ["../shared/gold/seeds.jsonl"]
    assert not (SHIPPED / "model-last").exists()
    loo = json.loads((SHIPPED / "loo_metrics.json").read_text())
    assert len(loo["folds"]) == 5 and 0.0 < loo["mean_f"] <= 1.0
    size = sum(p.stat().st_size for p in SHIPPED.rglob("*") if p.is_file())
    assert size < 5_000_000


def test_shipped_combined_pipeline_scores_at_least_the_rules_on_the_seeds():
    import imr_nlp
    from imr_nlp.evaluation import evaluate_file

    from .conftest import GOLD, REPO

    model = REPO / "models" / "imr_ner_seeds"
    rules = evaluate_file(GOLD, nlp=imr_nlp.load())["exact"]["micro"]["f"]
    combined = evaluate_file(GOLD, nlp=imr_nlp.load(model=model))["exact"]["micro"]["f"]
    assert combined >= rules


def test_evaluate_compares_three_pipelines_in_one_table(capsys):
    from imr_nlp.cli import main

    from .conftest import GOLD, REPO

    assert main(["evaluate", str(GOLD), "--model", str(REPO / "models" / "imr_ner_seeds")]) == 0
    out = capsys.readouterr().out.splitlines()
    header = next(line for line in out if line.startswith("label"))
    assert header.split() == ["label", "rules", "trained", "combined"]
    micro = next(line for line in out if line.startswith("micro ")).split()
    rules, trained, combined = map(float, micro[1:])
    assert combined >= rules and 0 < trained <= 1
