"""Records (issue 3): the seeds field by field, other layouts, and the record helpers."""

import pytest

import imr_nlp
from imr_nlp.records import FIELDS, doses_per_day, iso_date, strength_mg

from .conftest import EXAMPLES, REPO, run_text

FIXTURES = REPO / "tests" / "fixtures"

GUIDELINE_LINES = (
    "Claims Administrator guideline: Decision based on MTUS Chronic Pain Treatment Guidelines "
    "Opioids Page(s): 78.\n\n"
    "MAXIMUS guideline: Decision based on MTUS Chronic Pain Treatment Guidelines Opioids "
    "Page(s): 78, 80.\n\n"
)
HEAD = (
    " HOW THE IMR FINAL DETERMINATION WAS MADE \n\nThe Expert Reviewer has the following credentials:\n\n"
    "State(s) of Licensure: California\n\nCertification(s)/Specialty: Orthopedic Surgery\n\n"
    "CLINICAL CASE SUMMARY\n\nThe injured worker is a 44 year old male who sustained an industrial "
    "injury on 3/4/2012. The diagnoses include lumbar radiculopathy.\n\n"
    "IMR ISSUES, DECISIONS AND RATIONALES\n\n"
)


def test_seed_records_equal_gold_field_by_field(gold_docs, gold):
    for doc, g in zip(gold_docs, gold, strict=False):
        got, expected = doc._.requests, g["requests"]
        assert len(got) == len(expected), g["id"]
        for rec, exp in zip(got, expected, strict=False):
            assert list(rec) == list(FIELDS)
            for key, value in exp.items():
                mine = rec[key]
                if key == "rationale":
                    mine, value = " ".join(mine.split()), " ".join(value.split())
                assert mine == value, (g["id"], rec["request_index"], key)
            assert rec["warnings"] == []


def test_two_items_one_upheld_one_overturned(nlp):
    text = HEAD + (
        "Norco 10/325mg #120: Upheld\n\n"
        + GUIDELINE_LINES
        + "Decision rationale: No functional improvement is documented. The request is not medically necessary.\n\n"
        "Gabapentin 600mg #90 TID: Overturned\n\n"
        + GUIDELINE_LINES
        + "Decision rationale: Neuropathic pain improved by 40%. The request is medically necessary.\n"
    )
    recs = run_text(nlp, text, "two")._.requests
    assert [r["outcome"] for r in recs] == ["upheld", "overturned"]
    assert [r["necessity_negated"] for r in recs] == [True, False]
    assert recs[1]["generic"] == "gabapentin" and recs[1]["drug_class"] == "anticonvulsant"
    assert recs[1]["frequency"] == "TID" and recs[1]["doses_per_day"] == 3.0
    assert recs[0]["strength_mg"] == 10.0 and recs[0]["quantity"] == 120
    assert recs[0]["guideline_pages"] == "78, 80" and recs[0]["guideline_source"] == "MTUS"
    assert recs[0]["patient_age"] == 44 and recs[0]["date_of_injury"] == "2012-03-04"
    assert recs[0]["diagnoses"] == ["lumbar radiculopathy"]
    assert all(r["warnings"] == [] for r in recs)


def test_2013_letter_with_two_numbered_items(nlp):
    doc = run_text(nlp, (EXAMPLES / "layout2013_frp.txt").read_text(), "2013")
    recs = doc._.requests
    assert [r["request_text"] for r in recs] == [
        "28 day functional restoration program",
        "Tramadol 50mg #60",
    ]
    assert [r["outcome"] for r in recs] == ["upheld", "overturned"]
    assert [r["necessity_negated"] for r in recs] == [True, False]
    assert recs[0]["category"] == "physical_medicine" and recs[0]["drug"] is None
    assert recs[1]["generic"] == "tramadol" and recs[1]["quantity"] == 60
    assert recs[0]["reviewer_states"] == ["California"]
    assert all(r["guideline_source"] == "MTUS" for r in recs)
    assert all(r["rationale"] for r in recs)


def test_non_drug_item_has_category_and_null_drug_fields(nlp):
    text = HEAD + (
        "Physical therapy 2x6 for the lumbar spine: Upheld\n\n"
        + GUIDELINE_LINES
        + "Decision rationale: The patient already had 24 sessions. The request is not medically necessary.\n"
    )
    (rec,) = run_text(nlp, text)._.requests
    assert rec["category"] == "physical_medicine"
    for key in (
        "drug",
        "generic",
        "drug_class",
        "strength",
        "strength_mg",
        "quantity",
        "frequency",
        "doses_per_day",
    ):
        assert rec[key] is None, key


def test_letter_without_decision_section_gives_no_records_and_one_warning(nlp):
    doc = run_text(nlp, (EXAMPLES / "nodecision_cutoff.txt").read_text(), "cut")
    assert doc._.requests == []
    assert len(doc._.imr_warnings) == 1 and "W002" in doc._.imr_warnings[0]


def test_contradiction_is_kept_and_flagged(nlp):
    text = HEAD + (
        "Soma 350mg #60: Upheld\n\n"
        + GUIDELINE_LINES
        + "Decision rationale: Short-term use is documented. The request is medically necessary.\n"
    )
    (rec,) = run_text(nlp, text, "odd")._.requests
    assert rec["outcome"] == "upheld" and rec["necessity_negated"] is False
    assert len(rec["warnings"]) == 1 and "W003" in rec["warnings"][0]


def test_every_example_letter_matches_its_hand_written_truth(nlp):
    import json

    for line in (FIXTURES / "examples_truth.jsonl").read_text().splitlines():
        truth = json.loads(line)
        recs = run_text(nlp, (EXAMPLES / truth["file"]).read_text(), truth["file"])._.requests
        assert len(recs) == len(truth["requests"]), truth["file"]
        for rec, exp in zip(recs, truth["requests"], strict=False):
            for key, value in exp.items():
                if key in rec:
                    assert rec[key] == value, (truth["file"], key)


def test_to_dataframe_columns_and_lists(gold_docs):
    df = imr_nlp.to_dataframe(gold_docs)
    assert list(df.columns) == list(FIELDS)
    assert len(df) == 8
    assert isinstance(df.loc[0, "reviewer_specialties"], list)
    # a count, or a non-whole amount of a cream ("106.32gm"): nullable floats (records.md)
    assert df["quantity"].dtype.name == "Float64"


@pytest.mark.parametrize(
    "s,mg",
    [
        ("10-325mg", 10.0),
        ("10/325mg", 10.0),
        ("1 Mg", 1.0),
        ("0.5 g", 500.0),
        ("100 mcg", 0.1),
        ("5%", None),
        ("25mcg/hr", None),
        ("350mg", 350.0),
    ],
)
def test_strength_mg(s, mg):
    assert strength_mg(s) == mg


@pytest.mark.parametrize(
    "freq,n",
    [
        ("QID", 4.0),
        ("TID", 3.0),
        ("BID", 2.0),
        ("twice daily", 2.0),
        ("once daily", 1.0),
        ("qhs", 1.0),
        ("at bedtime", 1.0),
        ("every 6 hours", 4.0),
        ("q8h", 3.0),
        ("q12h", 2.0),
        ("every four hours", 6.0),
        # a range of hours states no count (real-letter gold: "every 4-6 hrs as needed" -> null)
        ("q4-6h prn", None),
        ("every 4-6 hours", None),
        ("as needed", None),
        ("PRN", None),
    ],
)
def test_doses_per_day(freq, n):
    assert doses_per_day(freq) == n


@pytest.mark.parametrize(
    "s,iso",
    [
        ("December 13, 2001", "2001-12-13"),
        ("2/1/2013", "2013-02-01"),
        ("12/14/14", "2014-12-14"),
        ("Sept. 9, 2015", "2015-09-09"),
        ("13/45/2015", None),
    ],
)
def test_iso_date(s, iso):
    assert iso_date(s) == iso


def test_combination_written_as_ingredients(nlp):
    text = HEAD + (
        "Hydrocodone/APAP 10/325mg #90: Upheld\n\n"
        + GUIDELINE_LINES
        + "Decision rationale: No functional improvement. The request is not medically necessary.\n\n"
        "APAP/Codeine 300/30mg #60: Upheld\n\n"
        + GUIDELINE_LINES
        + "Decision rationale: No functional improvement. The request is not medically necessary.\n"
    )
    recs = run_text(nlp, text)._.requests
    assert [(r["drug"], r["generic"], r["drug_class"], r["strength_mg"]) for r in recs] == [
        ("Hydrocodone", "hydrocodone/acetaminophen", "opioid", 10.0),
        ("APAP", "acetaminophen/codeine", "opioid", 300.0),
    ]
