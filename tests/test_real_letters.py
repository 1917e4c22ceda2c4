"""Real letters as the DWC publishes them (issue 10): extract's records against gold, field by field.

``shared/real/pdf`` holds 49 published letters (PDF, AES-encrypted with an empty
user password) and ``shared/gold/real_dev.jsonl`` their records, read from the text
as ``shared/real/GUIDE.md`` says. The floors are the issue's: every item found with
its outcome, every other field the gold has at 0.97 or better, diagnoses set F1 0.85.
"""

from pathlib import Path

import pytest

from imr_nlp.extract import extract, read_table
from imr_nlp.records.evaluate import format_record_scores, read_gold_records, score_records

from .conftest import SHARED

REAL = SHARED / "real" / "pdf"
GOLD = SHARED / "gold" / "real_dev.jsonl"
FIELD_FLOOR = 0.97
DIAGNOSES_FLOOR = 0.85


@pytest.fixture(scope="module")
def scores(tmp_path_factory, nlp):
    out = tmp_path_factory.mktemp("real") / "records.jsonl"
    summary = extract([REAL], out, nlp=nlp, progress=False)
    assert not summary.failures, summary.report()
    records = read_table(out).to_dict("records")
    for r in records:
        r["doc_id"] = Path(r["source_path"]).stem if r.get("source_path") else r["doc_id"]
    result = score_records(records, read_gold_records(GOLD))
    print("\n" + format_record_scores(result))
    return result


def test_every_real_letter_is_read_and_every_item_found(scores):
    assert scores["letters"]["with_records"] == scores["letters"]["gold"] == 49
    items = scores["items"]
    assert items["found"] == items["gold"] == 111
    assert items["outcome_right"] == items["gold"]


def test_every_field_at_its_floor(scores):
    low = {
        f: round(s["accuracy"], 3)
        for f, s in scores["fields"].items()
        if s["accuracy"] < FIELD_FLOOR
    }
    misses = [m for m in scores["misses"] if m[1] in low]
    assert not low, (low, misses[:20])


def test_diagnoses_set_f1(scores):
    assert scores["diagnoses"]["f1"] >= DIAGNOSES_FLOOR, scores["diagnoses"]


def test_modified_requests_keep_their_parts(scores):
    """The 12 modified requests: what IMR decided, the original and what UR authorized."""
    for field in ("request_text", "original_request", "authorized"):
        assert scores["fields"][field]["accuracy"] >= FIELD_FLOOR, field
