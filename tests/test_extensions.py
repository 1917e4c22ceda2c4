"""imr_nlp's attributes carry imr names and leave medspaCy's and scispaCy's alone."""

import json
import os
import subprocess
import sys
from pathlib import Path

from spacy.tokens import Token

REPO = Path(__file__).resolve().parents[1]

_SNAPSHOT = """
import json, sys
import medspacy, scispacy.abbreviation  # noqa: F401  (medspaCy registers its attributes at import)
medspacy.load()  # ... and its ConText the rest (modifiers, context_graph)
from spacy.tokens.underscore import Underscore
def snap():
    return {kind: {k: repr(v) for k, v in getattr(Underscore, kind + "_extensions").items()}
            for kind in ("doc", "span", "token")}
before = snap()
import imr_nlp
nlp = imr_nlp.load()
nlp("IMR ISSUES, DECISIONS AND RATIONALES\\n\\nXanax 1 mg #60 is not medically necessary.")
json.dump({"before": before, "after": snap()}, sys.stdout)
"""


def test_load_adds_only_imr_names_and_replaces_nothing():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", _SNAPSHOT],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    snap = json.loads(out)
    from imr_nlp.extensions import DOC_ALIASES, SPAN_ALIASES

    aliases = {"doc": set(DOC_ALIASES), "span": set(SPAN_ALIASES), "token": set()}
    for kind, before in snap["before"].items():
        after = snap["after"][kind]
        changed = sorted(k for k in before if after[k] != before[k])
        assert changed == [], (kind, changed)
        added = sorted(k for k in after if k not in before)
        assert all(k.startswith("imr_") or k in aliases[kind] for k in added), (kind, added)
        # the old short names stand only where no other library holds them
        assert not aliases[kind] & set(before), kind


def test_medspacy_sectionizer_keeps_its_own_token_section(nlp):
    """A plain medspaCy Sectionizer in the same process as imr_nlp.load() sets and reads
    its own ``token._.section`` and ``doc._.sections``."""
    import spacy
    from medspacy.section_detection import SectionRule

    other = spacy.blank("en")
    sectionizer = other.add_pipe("medspacy_sectionizer", config={"rules": None})
    # one phrase rule and one token-pattern rule (medspaCy runs a matcher for each kind)
    sectionizer.add(
        [
            SectionRule("Diagnoses:", "diagnoses"),
            SectionRule("Plan:", "plan", pattern=[{"LOWER": "plan"}, {"ORTH": ":"}]),
        ]
    )
    doc = other("Intro text.\nDiagnoses: low back pain.\nPlan: rest.")
    assert [s.category for s in doc._.sections] == [None, "diagnoses", "plan"]
    back = next(t for t in doc if t.text == "back")
    assert back._.section is not None and back._.section.category == "diagnoses"
    assert back._.section_category == "diagnoses"
    # imr_nlp's own view of the same tokens is separate (and empty: imr_sections did not run)
    assert back._.imr_section is None


def test_imr_sections_are_read_through_imr_attributes(nlp):
    text = "CLINICAL CASE SUMMARY\nThe patient takes Xanax 1 mg.\n"
    doc = nlp(text)
    xanax = next(e for e in doc.ents if e.text == "Xanax")
    assert xanax._.imr_section_category == "case_summary"
    assert xanax[0]._.imr_section.category == "case_summary"
    assert [s.label_ for s in doc.spans["imr_sections"]] == ["case_summary"]
    # medspaCy's attribute is medspaCy's: imr_nlp does not fill it
    assert doc[0]._.section is None


def test_defaults_are_immutable_and_aliases_share_the_value(nlp):
    from imr_nlp.extensions import DOC_EXTENSIONS, SPAN_EXTENSIONS

    for name, default in {**DOC_EXTENSIONS, **SPAN_EXTENSIONS}.items():
        assert isinstance(default, (type(None), bool, tuple)), name
    doc = nlp("Xanax 1 mg #60 is not medically necessary.")
    doc._.doc_id = "x1"
    assert doc._.imr_doc_id == "x1" and doc._.requests is doc._.imr_requests
    drug = next(e for e in doc.ents if e.label_ == "DRUG")
    assert drug._.generic == drug._.imr_generic == "alprazolam"
    assert Token.has_extension("imr_section")
