"""Tests of the synthetic letter generator (tools/generate_corpus.py)."""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pytest

from imr_nlp.records import CATEGORIES as RECORD_CATEGORIES
from imr_nlp.records import DRUG_CLASSES as RECORD_DRUG_CLASSES

ROOT = Path(__file__).resolve().parents[1]
# tools/ is on pytest's pythonpath (pyproject.toml); a plain import of this file needs it too
if str(ROOT / "tools") not in sys.path:
    sys.path.insert(0, str(ROOT / "tools"))

from generate_corpus import (  # noqa: E402
    GENERATED_MARK,
    LAYOUTS,
    PDF_BROKEN_REASONS,
    TEXT_BROKEN_REASONS,
    generate_letters,
    main,
    write_corpus,
)

CATEGORIES = set(RECORD_CATEGORIES)  # records.md
DRUG_CLASSES = set(RECORD_DRUG_CLASSES)  # records.md
TRUTH_KEYS = {
    "request_text",
    "outcome",
    "drug",
    "generic",
    "drug_class",
    "strength",
    "quantity",
    "frequency",
    "category",
    "necessity_negated",
}


@pytest.fixture(scope="module")
def letters300():
    return generate_letters(n=300, seed=0)


def _flat(text: str) -> str:
    """Undo the generator's PDF noise (hyphenation, page headers) and collapse whitespace."""
    text = re.sub(r"(?m)^(Page \d+ of \d+|CM\d\d-\d{7}) \n\n", "", text)
    return " ".join(text.replace("-\n\n", "").split())


def _digest(letters) -> str:
    h = hashlib.sha256()
    for lt in letters:
        h.update(lt.doc_id.encode())
        h.update(lt.to_bytes())
        h.update(json.dumps(lt.truth_record(), sort_keys=True).encode())
    return h.hexdigest()


def test_same_seed_same_bytes_different_seed_differs():
    a = generate_letters(n=80, seed=11, broken_share=0.1, pdf_share=0.1)
    b = generate_letters(n=80, seed=11, broken_share=0.1, pdf_share=0.1)
    c = generate_letters(n=80, seed=12, broken_share=0.1, pdf_share=0.1)
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)
    assert [x.text for x in a] != [x.text for x in c]


def test_letter_depends_only_on_seed_and_index():
    short = generate_letters(n=20, seed=5)
    long = generate_letters(n=60, seed=5)
    assert [x.text for x in short] == [x.text for x in long[:20]]


def test_variety_in_300_letters(letters300):
    layouts = Counter(lt.layout for lt in letters300)
    assert set(layouts) == set(LAYOUTS)
    items = [r for lt in letters300 for r in lt.truth]
    assert {r["outcome"] for r in items} == {"upheld", "overturned"}
    assert any(r["drug"] is None for r in items), "no non-drug item"
    assert any(r["drug"] is not None for r in items)
    assert len({r["category"] for r in items}) >= 8
    assert len({r["drug_class"] for r in items if r["drug_class"]}) >= 8
    assert any(r["frequency"] for r in items)
    assert {len(lt.truth) for lt in letters300} >= {1, 2, 3, 4}
    assert max(len(lt.truth) for lt in letters300) <= 6
    words = sorted(len(lt.text.split()) for lt in letters300)
    assert 450 <= words[len(words) // 2] <= 1100
    # PDF-like noise appears on a share of letters
    assert any(lt.meta["noise"]["hyphenation"] for lt in letters300)
    assert any(lt.meta["noise"]["page_headers"] for lt in letters300)


def test_truth_fields_and_request_text_verbatim(letters300):
    for lt in letters300:
        assert lt.text.endswith(GENERATED_MARK + "\n")
        assert "\x00" not in lt.text and "{" not in lt.text
        assert lt.text.isascii()
        for r in lt.truth:
            assert set(r) >= TRUTH_KEYS
            assert r["request_text"] in lt.text, (lt.doc_id, r["request_text"])
            assert r["outcome"] in ("upheld", "overturned")
            assert r["necessity_negated"] is (r["outcome"] == "upheld")
            assert r["category"] in CATEGORIES
            if r["drug"] is None:
                assert r["category"] != "pharmaceutical"
                assert r["generic"] is r["drug_class"] is r["strength"] is None
                assert r["quantity"] is None and r["frequency"] is None
            else:
                assert r["category"] == "pharmaceutical"
                assert r["drug"] in lt.text
                assert r["generic"] == r["generic"].lower()
                assert r["drug_class"] in DRUG_CLASSES
                assert r["quantity"] is None or isinstance(r["quantity"], int)
            if lt.layout == "2013":
                neg = "not " if r["outcome"] == "upheld" else ""
                decision = (
                    f"has determined the request for {r['request_text']} is {neg}"
                    "medically necessary and appropriate."
                )
                assert decision in _flat(lt.text)
            else:
                outcome = r["outcome"].capitalize()
                assert any(
                    line.startswith(r["request_text"] + ":") and line.rstrip().endswith(outcome)
                    for line in lt.text.split("\n\n")
                )
        assert lt.meta["patient_sex"] in ("male", "female")
        assert lt.meta["reviewer_states"]


def test_broken_share_respected_and_reasons_recorded():
    n = 200
    letters = generate_letters(n=n, seed=3, broken_share=0.1)
    broken = [lt for lt in letters if lt.broken]
    assert len(broken) == 20
    assert {lt.broken for lt in broken} == set(TEXT_BROKEN_REASONS)
    for lt in broken:
        data = lt.to_bytes()
        if lt.broken == "empty":
            assert data == b""
        elif lt.broken == "whitespace_only":
            assert data and not data.strip()
        elif lt.broken == "binary_junk":
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")
        elif lt.broken == "cp1252":
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")
            text = data.decode("cp1252")
            assert any(ch in text for ch in "\u201c\u201d\u2019\u2014")
            assert lt.truth and all(r["request_text"] in text for r in lt.truth)
        elif lt.broken == "no_decision_section":
            assert lt.truth == []
            assert "CLINICAL CASE SUMMARY" in lt.text
            assert "DECISIONS AND RATIONALES" not in lt.text
            assert "DECISION(S) AND RATIONALE(S)" not in lt.text
            assert "Upheld" not in lt.text and "Overturned" not in lt.text
        if lt.broken != "cp1252":
            assert lt.truth == []


def test_pdf_share_and_broken_pdfs():
    letters = generate_letters(n=100, seed=4, broken_share=0.16, pdf_share=0.05)
    reasons = Counter(lt.broken for lt in letters if lt.broken)
    assert sum(reasons.values()) == 16
    assert set(reasons) == set(TEXT_BROKEN_REASONS) | set(PDF_BROKEN_REASONS)
    good_pdfs = [lt for lt in letters if lt.ext == "pdf" and not lt.broken]
    assert len(good_pdfs) == 5
    pdf = good_pdfs[0].to_bytes()
    assert pdf.startswith(b"%PDF")
    for lt in letters:
        if lt.broken == "pdf_corrupt":
            assert lt.to_bytes().startswith(b"%PDF")
            assert not lt.to_bytes().rstrip().endswith(b"%%EOF")


def test_pdfs_read_back_with_the_pdf_reader():
    from imr_nlp.errors import InputError
    from imr_nlp.io import pdf_to_text

    letters = generate_letters(n=60, seed=9, broken_share=0.14, pdf_share=0.05)
    seen = set()
    for lt in letters:
        if lt.ext != "pdf" or lt.broken in seen:
            continue
        seen.add(lt.broken)
        if lt.broken == "pdf_corrupt":
            continue  # truncated: readers fail or recover partly
        path = Path(tempfile.mkdtemp()) / "letter.pdf"
        path.write_bytes(lt.to_bytes())
        if lt.broken in ("pdf_encrypted", "pdf_no_text"):
            with pytest.raises(InputError) as e:
                pdf_to_text(path)
            assert (
                e.value.reason
                == {"pdf_encrypted": "encrypted", "pdf_no_text": "no_text"}[lt.broken]
            )
            continue
        flat = " ".join(pdf_to_text(path).split())
        assert all(" ".join(r["request_text"].split()) in flat for r in lt.truth)
    assert None in seen and "pdf_encrypted" in seen and "pdf_no_text" in seen


def test_write_corpus_writes_what_it_says(tmp_path):
    out = tmp_path / "corpus"
    manifest = write_corpus(out, n=50, seed=2, broken_share=0.16, pdf_share=0.06)
    on_disk = json.loads((out / "MANIFEST.json").read_text())
    assert on_disk["generated"] is True and on_disk["n"] == 50
    files = on_disk["files"]
    assert len(files) == 50 == len({f["file"] for f in files})
    for f in files:
        p = out / f["file"]
        assert p.exists() and p.stat().st_size == f["bytes"]
        assert f["file"].startswith("gen_") and f["generated"] is True
    assert sum(1 for f in files if f["broken"]) == 8
    assert on_disk["broken_reasons"] == manifest["broken_reasons"]
    assert sum(on_disk["broken_reasons"].values()) == 8
    assert on_disk["n_pdf"] == sum(1 for f in files if f["file"].endswith(".pdf")) >= 3
    truth = [json.loads(x) for x in (out / "truth.jsonl").read_text().splitlines()]
    assert [t["file"] for t in truth] == [f["file"] for f in files]
    assert all(t["generated"] is True for t in truth)
    assert on_disk["n_requests"] == sum(len(t["requests"]) for t in truth)
    for t in truth:
        if t["file"].endswith(".txt") and t["broken"] in (None, "no_decision_section"):
            text = (out / t["file"]).read_text(encoding="utf-8")
            assert text.endswith(GENERATED_MARK + "\n")
            assert all(r["request_text"] in text for r in t["requests"])
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f["file"] for f in files] + ["MANIFEST.json", "truth.jsonl"]
    )


def test_cli(tmp_path, capsys):
    assert main([str(tmp_path / "cli"), "--n", "12", "--seed", "1", "--broken-share", "0"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n"] == 12
    assert len(list((tmp_path / "cli").glob("gen_*.txt"))) == 12


def test_bundled_examples_truth_matches_files():
    ex = ROOT / "imr_nlp" / "examples"
    truth = ROOT / "tests" / "fixtures" / "examples_truth.jsonl"
    rows = [json.loads(x) for x in truth.read_text().splitlines()]
    assert {r["file"] for r in rows} >= {
        "layout2013_frp.txt",
        "newer_documents_reviewed.txt",
        "overturned_two_items.txt",
        "nodecision_cutoff.txt",
    }
    for r in rows:
        text = (ex / r["file"]).read_text(encoding="utf-8")
        assert " \n\n" in text
        for q in r["requests"]:
            assert set(q) >= TRUTH_KEYS
            assert q["request_text"] in text
        if r["file"].startswith("nodecision"):
            assert r["requests"] == []
