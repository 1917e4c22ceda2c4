"""imr_nlp as a spaCy citizen: scoring through nlp.evaluate / spacy evaluate, displaCy
options, versioned factory names (old names still load), and an honest nlp.meta."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from spacy import displacy
from spacy.training import Example

import imr_nlp
from imr_nlp import LABELS
from imr_nlp.annotations import to_docbin
from imr_nlp.evaluation import evaluate_file, read_gold
from imr_nlp.factories import FACTORIES

REPO = Path(__file__).resolve().parents[1]
GOLD = REPO.parent / "shared" / "gold" / "seeds.jsonl"
EXAMPLES = REPO / "imr_nlp" / "examples"


def _env():
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }


@pytest.fixture(scope="module")
def examples(nlp):
    return [Example(nlp.make_doc(g.text), g) for g in read_gold(GOLD)]


def test_nlp_evaluate_reports_ents_per_type(nlp, examples):
    scores = nlp.evaluate(examples)
    per_type = scores["ents_per_type"]
    gold_labels = {e.label_ for ex in examples for e in ex.reference.ents}
    assert gold_labels <= set(per_type) <= set(LABELS)
    # the same exact-match micro F1 as imr_nlp's own scorer on the same letters
    ours = evaluate_file(GOLD, nlp=nlp)["exact"]["micro"]["f"]
    assert scores["ents_f"] == pytest.approx(ours, abs=1e-9)
    for label in gold_labels:
        assert per_type[label]["f"] == pytest.approx(
            evaluate_file(GOLD, nlp=nlp)["exact"][label]["f"]
        )


def test_spacy_evaluate_cli(nlp, tmp_path):
    nlp.to_disk(tmp_path / "pipe")
    to_docbin(read_gold(GOLD)).to_disk(tmp_path / "gold.spacy")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "spacy",
            "evaluate",
            str(tmp_path / "pipe"),
            str(tmp_path / "gold.spacy"),
            "--output",
            str(tmp_path / "metrics.json"),
        ],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert {"DRUG", "NECESSITY", "OUTCOME"} <= set(metrics["ents_per_type"])


def test_displacy_span_style_renders_sections_in_colour(nlp):
    doc = nlp((EXAMPLES / "overturned_two_items.txt").read_text(encoding="utf8"))
    options = imr_nlp.displacy_options("imr_sections")
    html = displacy.render(doc, style="span", options=options)
    labels = {s.label_ for s in doc.spans["imr_sections"]}
    assert len(labels) >= 3
    for label in labels:
        assert label in html and options["colors"][label] in html


def test_displacy_ent_style_colours_our_labels(nlp):
    doc = nlp("Xanax 1 mg #60 is not medically necessary. The request is upheld.")
    options = imr_nlp.displacy_options()
    html = displacy.render(doc, style="ent", options=options)
    for label in {e.label_ for e in doc.ents}:
        assert options["colors"][label] in html
    items = displacy.render(
        nlp((EXAMPLES / "overturned_two_items.txt").read_text(encoding="utf8")),
        style="span",
        options=imr_nlp.displacy_options("imr_items"),
    )
    assert "upheld" in items and "overturned" in items


def test_factories_are_versioned(nlp):
    assert [nlp.get_pipe_meta(n).factory for n in nlp.pipe_names] == [
        FACTORIES[n] for n in nlp.pipe_names
    ]


def test_pipeline_saved_with_old_factory_names_loads(nlp, tmp_path):
    """A pipeline saved before the versioned names (factory = "imr_sentences" ...) still loads
    in a fresh process and tags as the current one does."""
    nlp.to_disk(tmp_path / "old")
    config = (tmp_path / "old" / "config.cfg").read_text(encoding="utf8")
    for old, new in FACTORIES.items():
        assert f'factory = "{new}"' in config
        config = config.replace(f'factory = "{new}"', f'factory = "{old}"')
    (tmp_path / "old" / "config.cfg").write_text(config, encoding="utf8")
    text = (EXAMPLES / "layout2013_frp.txt").read_text(encoding="utf8")
    code = f"""
import json, spacy
nlp = spacy.load({str(tmp_path / "old")!r})
doc = nlp(open({str(EXAMPLES / "layout2013_frp.txt")!r}, encoding="utf8").read())
print(json.dumps([[nlp.get_pipe_meta(n).factory for n in nlp.pipe_names],
                  [(e.start_char, e.end_char, e.label_) for e in doc.ents]]))
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    factories, ents = json.loads(proc.stdout.strip().splitlines()[-1])
    assert factories == list(FACTORIES)
    assert ents == [[e.start_char, e.end_char, e.label_] for e in nlp(text).ents]


def test_meta_is_imr_nlp(nlp, tmp_path):
    assert nlp.meta["name"] == "imr_nlp" and nlp.meta["version"] == imr_nlp.__version__
    assert "Independent Medical Review" in nlp.meta["description"]
    assert any("medspaCy" in s["name"] for s in nlp.meta["sources"])
    nlp.to_disk(tmp_path / "pipe")
    saved = json.loads((tmp_path / "pipe" / "meta.json").read_text())
    assert saved["name"] == "imr_nlp" and saved["version"] == imr_nlp.__version__


def test_a_config_points_components_at_other_rule_files(tmp_path):
    """Components read their rules in initialize(): [initialize.components.X] rules_path
    in a config replaces the package's file, the spaCy way."""
    from spacy.util import load_model_from_config
    from thinc.api import Config

    rules = tmp_path / "sections.jsonl"
    rules.write_text(
        json.dumps({"category": "my_part", "literal": "MY OWN TITLE"}) + "\n", encoding="utf8"
    )
    config = Config(imr_nlp.blank_config())
    config["initialize"] = {"components": {"imr_sections": {"rules_path": str(rules)}}}
    imr_nlp.load()  # registers the factories
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    nlp.initialize()
    text = "MY OWN TITLE\nXanax 1 mg.\nCLINICAL CASE SUMMARY\nThe patient has low back pain.\n"
    doc, default = nlp(text), imr_nlp.load()(text)
    assert [s.label_ for s in doc.spans["imr_sections"]] == ["my_part"]
    assert [s.label_ for s in default.spans["imr_sections"]] == ["case_summary"]


def test_a_missing_rules_path_is_a_coded_error(tmp_path):
    from spacy.util import load_model_from_config
    from thinc.api import Config

    from imr_nlp.errors import PatternFileError

    imr_nlp.load()
    config = Config(imr_nlp.blank_config())
    config["initialize"] = {
        "components": {"imr_context": {"rules_path": str(tmp_path / "none.jsonl")}}
    }
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    with pytest.raises(PatternFileError, match=r"\[E001\]"):
        nlp.initialize()


def test_components_added_by_hand_read_their_rules_on_first_use():
    import spacy

    from imr_nlp import components  # noqa: F401  (registers the factories)

    nlp = spacy.blank("en")
    nlp.add_pipe("imr_sentences")
    nlp.add_pipe("imr_sections")
    doc = nlp("CLINICAL CASE SUMMARY\nThe patient has pain. She takes Xanax.\n")
    assert [s.label_ for s in doc.spans["imr_sections"]] == ["case_summary"]
    assert len(list(doc.sents)) >= 2
