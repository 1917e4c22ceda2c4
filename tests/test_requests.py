"""The imr_requests component on spans a trained model can produce, and doc.spans['imr_items']."""

from pathlib import Path

from spacy.tokens import Span

EXAMPLES = Path(__file__).resolve().parents[1] / "imr_nlp" / "examples"

LETTER = (
    "IMR ISSUES, DECISIONS AND RATIONALES\n"
    "The Final Determination was based on decisions for the disputed items/services "
    "set forth below:\n"
    "Xanax 1 mg #sixty: Upheld\n"
    "Claims Administrator guideline: Decision based on MTUS.\n"
)


def _tag_then(nlp, text, change):
    doc = nlp.make_doc(text)
    for name, proc in nlp.pipeline:
        if name == "imr_requests":
            change(doc)
        doc = proc(doc)
    return doc


def test_quantity_span_without_digits_in_an_item_header(nlp):
    """A trained NER may call '#sixty' a QUANTITY: the record has no number for it, and no crash."""

    def add_quantity(doc):
        start = doc.text.index("#sixty")
        span = doc.char_span(
            start, start + len("#sixty"), label="QUANTITY", alignment_mode="expand"
        )
        assert span is not None
        doc.ents = [e for e in doc.ents if e.end <= span.start or e.start >= span.end] + [span]

    doc = _tag_then(nlp, LETTER, add_quantity)
    assert any(e.label_ == "QUANTITY" and not any(c.isdigit() for c in e.text) for e in doc.ents)
    [record] = doc._.imr_requests
    assert record["request_text"] == "Xanax 1 mg #sixty" and record["quantity"] is None


def test_item_spans_cover_each_item(nlp):
    doc = nlp((EXAMPLES / "overturned_two_items.txt").read_text(encoding="utf8"))
    items = list(doc.spans["imr_items"])
    assert [s.label_ for s in items] == [r["outcome"] for r in doc._.imr_requests]
    for span, rec in zip(items, doc._.imr_requests, strict=True):
        assert isinstance(span, Span) and span.text.startswith(rec["request_text"])
    assert all(a.end <= b.start for a, b in zip(items, items[1:], strict=False))
