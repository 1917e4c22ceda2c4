"""Shared fixtures: the pipeline is built once per test session."""

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
GOLD = SHARED / "gold" / "seeds.jsonl"
SEEDS = SHARED / "seeds"
EXAMPLES = REPO / "imr_nlp" / "examples"


@pytest.fixture(scope="session")
def nlp():
    import imr_nlp

    return imr_nlp.load()


@pytest.fixture(scope="session")
def gold():
    with GOLD.open() as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="session")
def gold_docs(nlp, gold):
    docs = []
    for g in gold:
        doc = nlp.make_doc(g["text"])
        doc._.doc_id = g["id"]
        for _, proc in nlp.pipeline:
            doc = proc(doc)
        docs.append(doc)
    return docs


def run_text(nlp, text, doc_id="test"):
    """Process a text with a doc id set before the components run."""
    doc = nlp.make_doc(text)
    doc._.doc_id = doc_id
    for _, proc in nlp.pipeline:
        doc = proc(doc)
    return doc
