"""decision_reasons: the imr_reasons component, its evidence spans, and its quality on the real
dev letters against shared/gold/real_dev_reasons.jsonl by cross-validation over folds of letters
(the classifier that scores a letter never saw it; the cues are data, not fitted)."""

import importlib.util
import json
import sys

import pytest

from imr_nlp.patterns import load_patterns
from imr_nlp.rules.reasons import CODES, MAX_REASONS, SPANS_KEY, classify, format_scores, scope

from .conftest import REPO, SHARED

MIN_MICRO_F1 = 0.80
MIN_FIRST_CODE = 0.75
FOLDS = 5


def _evaluate_module():
    spec = importlib.util.spec_from_file_location(
        "evaluate_reasons", REPO / "scripts" / "evaluate_reasons.py"
    )
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclass looks its module up while being defined
    spec.loader.exec_module(mod)
    return mod


def test_rule_file_has_only_known_codes_and_scopes():
    rows = load_patterns("reasons")
    cues = [r for r in rows if r["kind"] == "cue"]
    assert cues and {r["code"] for r in cues} <= set(CODES)
    assert {r["scope"] for r in rows if r["kind"] == "scope"} == {
        "applied_strong",
        "quote",
        "applied",
        "guideline",
    }


def test_a_quoted_guideline_is_not_the_reviewers_argument():
    quoted = "The MTUS states that opioids are not recommended for long-term use without functional improvement."
    applied = "In this case, there is no documentation of objective functional improvement with prior use."
    assert scope(quoted) == "guideline" and scope(applied) == "applied"
    assert [r.code for r in classify(quoted, "upheld")] == []
    assert [r.code for r in classify(f"{quoted} {applied}", "upheld")][:1] == [
        "no_functional_benefit"
    ]


def test_overturned_items_get_criteria_met_and_empty_rationales_nothing():
    text = (
        "The guidelines support imaging after a month of conservative care. In this case the "
        "patient has a documented neurological deficit. The request is medically necessary."
    )
    assert [r.code for r in classify(text, "overturned")] == ["criteria_met"]
    assert classify("", "upheld") == [] and classify("   ", None) == []


def test_component_sets_codes_and_evidence_spans(nlp, gold_docs):
    assert "imr_reasons" in nlp.pipe_names
    assert nlp.pipe_names.index("imr_reasons") > nlp.pipe_names.index("imr_requests")
    seen = 0
    for doc in gold_docs:
        group = doc.spans[SPANS_KEY]
        for rec in doc._.imr_requests:
            codes = rec["decision_reasons"]
            assert (
                len(codes) <= MAX_REASONS
                and len(set(codes)) == len(codes)
                and set(codes) <= set(CODES)
            )
            seen += bool(codes)
            flat = " ".join(rec["rationale"].split())
            for code in codes:  # every code has a sentence of this rationale as evidence
                assert any(
                    sp.label_ == code and " ".join(sp.text.split()) in flat for sp in group
                ), code
        assert all(sp.label_ in CODES for sp in group)
    assert seen > 0


@pytest.fixture(scope="module")
def dev(nlp):
    if not (SHARED / "gold" / "real_dev_reasons.jsonl").is_file():
        pytest.skip("shared/gold/real_dev_reasons.jsonl not available")
    ev = _evaluate_module()
    items = ev.dev_items(nlp)
    return ev, items, ev.cross_validate(items, FOLDS)


def test_decision_reasons_cross_validated_on_the_dev_letters(dev):
    ev, items, cv = dev
    held = ev.held_out([it.letter for it in items])
    print("\n" + ev.report(items, cv, FOLDS))
    s = ev.scores(items, cv["combined"])
    print(format_scores(s, title="== combined (the pipeline's method), cross-validated"))
    assert s["items"] == sum(bool(it.rationale) for it in items) >= 0.8 * len(items)
    # every item was predicted by a fold that did not train on its letter
    assert set(cv["combined"]) == {i for i, it in enumerate(items) if it.rationale}
    h = ev.scores(items, cv["combined"], held)
    print(
        f"held-out letters ({len(held)}): micro F1 {h['micro']['f1']:.3f}, first code "
        f"{h['first_code_accuracy']:.3f}"
    )
    assert s["micro"]["f1"] >= MIN_MICRO_F1, s["micro"]
    assert s["first_code_accuracy"] >= MIN_FIRST_CODE, s["first_code_accuracy"]


def test_shipped_classifier_metrics_match_a_fresh_cross_validation(dev):
    """models/imr_reasons_textcat/cv_metrics.json is what scripts/build_reasons_model.py measured."""
    ev, items, cv = dev
    path = REPO / "models" / "imr_reasons_textcat" / "cv_metrics.json"
    shipped = json.loads(path.read_text())
    fresh = ev.scores(items, cv["combined"])
    assert shipped["combined"]["all"]["micro"]["f1"] == pytest.approx(
        fresh["micro"]["f1"], abs=0.02
    )


def test_evidence_found_when_the_rationale_is_not_verbatim_in_the_letter(nlp):
    """A record whose rationale has other spacing than the letter (line breaks collapsed)
    still gets its evidence sentence from the letter."""
    text = (
        "Item A: Upheld\nDecision rationale: The MTUS states that X is recommended.\nIn this case, "
        "there is no\ndocumentation of objective functional improvement with prior use."
    )
    doc = nlp.make_doc(text)
    rationale = " ".join(text.split("rationale: ")[1].split())
    doc._.imr_requests = [{"rationale": rationale, "outcome": "upheld", "decision_reasons": []}]
    doc = nlp.get_pipe("imr_reasons")(doc)
    assert doc._.imr_requests[0]["decision_reasons"] == ["no_functional_benefit"]
    (span,) = doc.spans[SPANS_KEY]
    assert (
        span.label_ == "no_functional_benefit"
        and span.text.startswith("In this case")
        and "\n" in span.text
    )


def test_cues_are_saved_with_the_pipeline_and_read_back(tmp_path):
    """A cue removed from a saved pipeline's reasons.jsonl changes the records it gives."""
    import json

    import spacy

    import imr_nlp

    nlp = imr_nlp.load()
    text = (
        "IMR ISSUES, DECISIONS AND RATIONALES\n"
        "Norco 10/325mg #120: Upheld\n"
        "MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016.\n"
        "Decision rationale: In this case, there is no documentation of objective functional "
        "improvement with the use of Norco. The request is not medically necessary.\n"
    )
    before = nlp(text)._.imr_requests[0]["decision_reasons"]
    assert before
    nlp.to_disk(tmp_path / "pipe")
    path = tmp_path / "pipe" / "imr_reasons" / "reasons.jsonl"
    assert (tmp_path / "pipe" / "imr_reasons" / "imr_reasons_textcat" / "config.cfg").is_file()
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    kept = [r for r in rows if not (r["kind"] == "cue" and r["code"] == before[0])]
    path.write_text("".join(json.dumps(r) + "\n" for r in kept))
    after = spacy.load(tmp_path / "pipe")(text)._.imr_requests[0]["decision_reasons"]
    assert before[0] not in after
