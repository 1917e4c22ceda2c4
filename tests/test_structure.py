"""The letter's structure in one file (issues 10 and 12): items as real letters write them,
the header block, MAXIMUS lines, and a rule changed in a saved pipeline reaching the records."""

import json

import spacy

from imr_nlp.rules.structure import Structure

from .conftest import run_text

HEAD = (
    "Case Number: CM16-0000001\nDate Assigned: 11/09/2016 Date of Injury: 10/13/2016\n"
    "Decision Date: 12/09/2016 UR Denial Date: 11/03/2016\nPriority: Standard Application \n"
    "Received: \n11/03/2016\nHOW THE IMR FINAL DETERMINATION WAS MADE\n"
    "The Expert Reviewer has the following credentials:\nState(s) of Licensure: California\n"
    "Certification(s)/Specialty: Family Practice\nCLINICAL CASE SUMMARY\n"
    "The injured worker is a 48 year old male. He is being treated for lumbar radiculopathy.\n"
    "IMR ISSUES, DECISIONS AND RATIONALES\n"
    "The Final Determination was based on decisions for the disputed items/services set forth below:\n"
)
LINES = (
    "Claims Administrator guideline: Decision based on MTUS Low Back Complaints 2004.\n"
    "MAXIMUS guideline: Decision based on MTUS Low Back Complaints 2004, Section(s): \nSpecial Studies.\n"
    "Decision rationale: There is no evidence of red flags. The request is not medically necessary.\n"
)


def test_header_wrapped_over_lines_with_the_outcome_alone():
    text = HEAD + (
        "Additional physical therapy two times four visits (8) for the lumbar and bilateral\n"
        "knees:\nUpheld\n" + LINES + "MRI of the lumbar spine: Overturned\n" + LINES
    )
    items = Structure.default().items(text)
    assert [i.request_text for i in items] == [
        "Additional physical therapy two times four visits (8) for the lumbar and bilateral knees",
        "MRI of the lumbar spine",
    ]
    assert [i.outcome for i in items] == ["upheld", "overturned"]


def test_modified_request_keeps_its_parts(nlp):
    text = HEAD + (
        "Baclofen 100mg #30 was the original request. Baclofen 100mg #27 was authorized by the\n"
        "Claims Administrator. The remaining IMR eligible portion of the original request,\n"
        "Baclofen 100mg #3: Upheld\n"
        + LINES
        + "Acupuncture treatments (unspecified quantity) was the original request. The Claims\n"
        "Administrator authorized Acupuncture treatments, 6 sessions, leaving the original request\n"
        "IMR eligible. The original request, Acupuncture treatments (unspecified quantity) is:\n"
        "Overturned\n" + LINES
    )
    recs = run_text(nlp, text)._.requests
    assert [r["request_text"] for r in recs] == [
        "Baclofen 100mg #3",
        "Acupuncture treatments (unspecified quantity)",
    ]
    assert (
        recs[0]["original_request"] == "Baclofen 100mg #30"
        and recs[0]["authorized"] == "Baclofen 100mg #27"
    )
    assert recs[0]["quantity"] == 3 and recs[0]["drug"] == "Baclofen"
    assert recs[1]["original_request"] == "Acupuncture treatments (unspecified quantity)"
    assert recs[1]["authorized"] == "Acupuncture treatments, 6 sessions"
    assert [r["outcome"] for r in recs] == ["upheld", "overturned"]


def test_page_break_inside_an_item_header(nlp):
    """Plain text with a form feed where the page broke, inside the header."""
    text = (
        HEAD
        + "Chiropractic spinal manipulation for the cervical and\n\f lumbar spine: \n\fUpheld\n"
        + LINES
    )
    (rec,) = run_text(nlp, text)._.requests
    assert (
        rec["request_text"] == "Chiropractic spinal manipulation for the cervical and lumbar spine"
    )
    assert rec["category"] == "physical_medicine"


def test_header_block_and_maximus_line(nlp):
    (rec,) = run_text(nlp, HEAD + "MRI of the lumbar spine: Upheld\n" + LINES)._.requests
    assert rec["case_number"] == "CM16-0000001"
    assert (
        rec["date_assigned"],
        rec["date_of_injury"],
        rec["decision_date"],
        rec["ur_date"],
        rec["application_received"],
    ) == ("2016-11-09", "2016-10-13", "2016-12-09", "2016-11-03", "2016-11-03")
    assert rec["priority"] == "standard" and rec["layout"] == "issues_decisions"
    assert (rec["guideline_source"], rec["guideline_document"], rec["guideline_sections"]) == (
        "MTUS",
        "MTUS Low Back Complaints 2004",
        "Special Studies",
    )


def test_guideline_lines_of_each_kind():
    s = Structure.default()
    two = s.guideline_line(
        "Decision based on MTUS Low Back Complaints 2004, Section(s): Initial Care, Physical Methods, "
        "and Chronic Pain Medical Treatment 2016, Section(s): Physical medicine treatment."
    )
    assert (two["guideline_document"], two["guideline_sections"]) == (
        "MTUS Low Back Complaints 2004",
        "Initial Care, Physical Methods",
    )
    odg = s.guideline_line(
        "The Expert Reviewer based their decision on recommendation(s) outside of the MTUS Guidelines. "
        "Decision based on Non-MTUS Citation Official Disability Guidelines (ODG) Knee and Leg, Transportation."
    )
    assert odg["guideline_source"] == "ODG" and odg["guideline_document"].startswith(
        "Official Disability Guidelines (ODG) Knee"
    )
    acoem = s.guideline_line(
        "The Expert Reviewer based their decision on recommendation(s) outside of the MTUS. "
        "Decision based on Non-MTUS Citation ACOEM Practice Guidelines, Chapter 12."
    )
    assert acoem["guideline_source"] == "ACOEM"
    other = s.guideline_line(
        "The Expert Reviewer based their decision on recommendation(s) outside of the MTUS. "
        "Decision based on Non-MTUS Citation UpToDate: Syncope in adults."
    )
    assert other["guideline_source"] == "other"
    none = s.guideline_line(
        "The Expert Reviewer did not cite any medical evidence for its decision."
    )
    assert none["guideline_source"] is None and none["matched"] is True


def test_rule_changed_in_a_saved_pipeline_reaches_the_records(nlp, tmp_path):
    text = HEAD + "MRI of the lumbar spine: Upheld\n" + LINES
    assert nlp(text)._.requests[0]["rationale"]
    nlp.to_disk(tmp_path / "pipe")
    path = tmp_path / "pipe" / "imr_structure" / "structure.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for r in rows:  # the pipeline no longer knows the rationale label
        if r.get("literal") == "Decision rationale:":
            r["literal"] = "Decision reasoning:"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    changed = spacy.load(tmp_path / "pipe")
    rec = changed(text)._.requests[0]
    assert rec["rationale"] is None
    # the Sectionizer reads the same saved titles
    cats = [row[0] for row in changed(text)._.imr_sections]
    assert "decision_rationale" not in cats and "decision_rationale" in [
        row[0] for row in nlp(text)._.imr_sections
    ]
