"""Tests of imr_nlp.io: reading .txt/.pdf letters, listing them, writing atomically."""

from __future__ import annotations

import dataclasses
import os
import re
import stat
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imr_nlp.errors import ImrWarning, InputError
from imr_nlp.io import (
    Letter,
    atomic_write,
    atomic_write_bytes,
    clean_pdf_pages,
    iter_letter_paths,
    join_hyphenated,
    pdf_to_text,
    read_letter,
)
from imr_nlp.patterns import patterns_dir, read_jsonl

SEED = Path("/work/shared/seeds/001_f3e1b04c8ae5c364.txt")
CASE_HEADER = "Case Number: CM15-0031234"


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _make_pdf(path: Path, paragraphs: list[str], *, header: bool = True, size: int = 11) -> int:
    """Write a letter as a PDF with a case-number header and "Page N of M" footer.

    RETURNS (int): the number of pages.
    """
    from fpdf import FPDF

    class LetterPDF(FPDF):
        def header(self):
            if header:
                self.set_font("Helvetica", size=9)
                self.cell(0, 6, CASE_HEADER, new_x="LMARGIN", new_y="NEXT")
                self.ln(2)

        def footer(self):
            if header:
                self.set_y(-15)
                self.set_font("Helvetica", size=9)
                self.cell(0, 6, f"Page {self.page_no()} of {{nb}}", align="C")

    pdf = LetterPDF()
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    pdf.set_font("Helvetica", size=size)
    for para in paragraphs:
        pdf.multi_cell(0, 6, para, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return pdf.page_no()


# ---------------------------------------------------------------------------- .txt


def test_utf8_file(tmp_path):
    path = tmp_path / "a1.txt"
    text = "Norco 10mg #90: Upheld \n\nPatient is 57 years old; pain ≥ 7/10, café.\n"
    path.write_bytes(text.encode("utf8"))
    letter = read_letter(path)
    assert isinstance(letter, Letter)
    assert letter.text == text
    assert letter.doc_id == "a1"
    assert letter.source == "txt"
    assert letter.encoding == "utf-8"
    assert letter.path == str(path)
    assert letter.warnings == ()


def test_letter_is_frozen(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("text\n")
    letter = read_letter(path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        letter.text = "other"  # type: ignore[misc]


def test_utf8_bom_is_stripped(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbfIMR decision \n\nUpheld\n")
    letter = read_letter(path)
    assert letter.text == "IMR decision \n\nUpheld\n"
    assert letter.encoding == "utf-8-sig"
    assert letter.warnings == ()


def test_cp1252_falls_back_with_w001(tmp_path):
    path = tmp_path / "cp.txt"
    text = "The \u201cNorco\u201d request \u2013 the patient\u2019s pain \u2026\n"
    path.write_bytes(text.encode("cp1252"))
    with pytest.warns(ImrWarning, match="W001") as record:
        letter = read_letter(path)
    assert letter.text == text
    assert letter.encoding == "cp1252"
    assert len(letter.warnings) == 1 and "W001" in letter.warnings[0]
    assert str(record[0].message) == letter.warnings[0]


def test_latin1_is_the_last_resort(tmp_path):
    path = tmp_path / "l1.txt"
    path.write_bytes(b"caf\xe9 \x81 done\n")  # 0x81 is undefined in cp1252
    with pytest.warns(ImrWarning, match="W001.*latin-1"):
        letter = read_letter(path)
    assert letter.text == "caf\xe9 \x81 done\n"
    assert letter.encoding == "latin-1"


def test_utf16_with_bom(tmp_path):
    path = tmp_path / "u16.txt"
    path.write_bytes("Upheld \u2013 yes\r\n".encode("utf-16"))
    with pytest.warns(ImrWarning, match="W001"):
        letter = read_letter(path)
    assert letter.text == "Upheld \u2013 yes\n"


def test_crlf_and_cr_become_lf(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"line one \r\n\r\nline two\rline three\r\n")
    letter = read_letter(path)
    assert letter.text == "line one \n\nline two\nline three\n"
    with open(path, encoding="utf8") as f:  # the gold-offset convention
        assert letter.text == f.read()


def test_seed_letter_matches_open_read():
    letter = read_letter(SEED)
    with open(SEED) as f:
        assert letter.text == f.read()
    assert letter.doc_id == SEED.stem


_CHUNK = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff"),
    max_size=8,
) | st.sampled_from(["\n", "\r", "\r\n", "\t", " "])
_TEXT = st.lists(_CHUNK, min_size=1, max_size=30).map("".join).filter(lambda t: t.strip())


@settings(max_examples=60, deadline=None)
@given(_TEXT)
def test_text_equals_universal_newline_read(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "h.txt"
        path.write_bytes(text.encode("utf8"))
        with open(path, encoding="utf8") as f:
            expected = f.read()
        assert read_letter(path).text == expected


def test_suffix_in_any_case(tmp_path):
    path = tmp_path / "UPPER.TXT"
    path.write_text("Overturned\n")
    assert read_letter(path).doc_id == "UPPER"


def test_empty_file(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    with pytest.raises(InputError, match=r"\[E010\]") as e:
        read_letter(path)
    assert e.value.reason == "empty"
    assert e.value.path == str(path)


def test_whitespace_only(tmp_path):
    path = tmp_path / "ws.txt"
    path.write_bytes(b" \r\n\n\t \n")
    with pytest.raises(InputError) as e:
        read_letter(path)
    assert e.value.reason == "whitespace_only"


def test_binary_junk(tmp_path):
    path = tmp_path / "junk.txt"
    path.write_bytes(bytes(range(256)) * 8 + b"\x00" * 500)
    with pytest.raises(InputError, match=r"\[E017\].*binary") as e:
        read_letter(path)
    assert e.value.reason == "binary"


def test_few_control_characters_are_not_binary(tmp_path):
    path = tmp_path / "bell.txt"
    path.write_bytes(b"A letter with one stray \x07 bell and a \x0c form feed in it.\n")
    assert "\x07" in read_letter(path).text


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "letter.docx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(InputError, match=r"\[E014\]") as e:
        read_letter(path)
    assert e.value.reason == "unsupported"


def test_missing_path(tmp_path):
    with pytest.raises(InputError, match=r"\[E015\]") as e:
        read_letter(tmp_path / "nope.txt")
    assert e.value.reason == "not_found"


def test_unreadable_file(tmp_path, monkeypatch):
    # CI runs as root, where chmod 0 does not stop a read: make the read fail instead
    path = tmp_path / "locked.txt"
    path.write_text("secret\n")

    def deny(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(type(path), "read_bytes", deny)
    monkeypatch.setattr(type(path), "open", deny)
    with pytest.raises(InputError, match=r"\[E015\]") as e:
        read_letter(path)
    assert e.value.reason == "unreadable"


# ---------------------------------------------------------------------------- .pdf


def test_seed_pdf_round_trip(tmp_path):
    source = SEED.read_text()
    paragraphs = [line.strip() for line in source.split("\n") if line.strip()]
    path = tmp_path / "seed.PDF"
    pages = _make_pdf(path, paragraphs, size=16)
    assert pages >= 3

    letter = read_letter(path)
    assert letter.source == "pdf"
    assert letter.encoding is None
    assert letter.doc_id == "seed"
    text = letter.text
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert CASE_HEADER not in text
    assert not re.search(r"(?im)^\s*page \d+ of \d+\s*$", text)
    out = _collapse(text)
    sentences = [s for s in re.split(r"(?<=[.:])\s+", _collapse(source)) if s]
    missing = [s for s in sentences if s not in out]
    assert not missing
    # Nothing but the headers and footers was dropped, so no word was lost either.
    assert out.split() == _collapse(source).split()


def test_pdf_hyphenated_line_breaks(tmp_path):
    path = tmp_path / "hyph.pdf"
    _make_pdf(
        path,
        [
            "The request is not medi-\ncally necessary for long-\nterm use in this 57-year-\nold "
            "patient; the re-\nquest was non-\ncertified.",
            "MTUS supports NSAID-\nrelated care.",
        ],
    )
    text = pdf_to_text(path)
    out = _collapse(text)
    assert "not medically necessary for long-term use" in out
    assert "57-year-old patient" in out
    assert "the request was non-certified." in out
    assert "NSAID-related" in out


@pytest.mark.parametrize(
    "before,after",
    [
        ("medi-\ncally", "medically"),
        ("medi- \n  cally", "medically"),
        ("Medi-\ncally", "Medically"),
        ("long-\nterm", "long-term"),
        ("Non-\ncertified", "Non-certified"),
        ("follow-\nup", "follow-up"),
        ("x-\nrays", "x-rays"),
        ("57-year-\nold", "57-year-old"),
        ("45-\nminute", "45-minute"),
        ("NSAID-\nrelated", "NSAID-related"),
        ("COX-\n2", "COX-\n2"),
        ("trial -\nnot", "trial -\nnot"),
        ("end-\n\nnext", "end-\n\nnext"),
        ("re-\nview", "review"),
        ("Page(s): 63-\n66", "Page(s): 63-\n66"),
    ],
)
def test_join_hyphenated(before, after):
    assert join_hyphenated(before) == after


def test_clean_pages_drops_edges_but_keeps_body_numbers():
    pages = [
        "CM15-1\nFirst body line\nPage(s): 24.\n24\nbody\nbody\nbody\nlast body line\n1",
        "CM15-1\nsecond page body\nmore body\n2",
    ]
    text = clean_pdf_pages(pages)
    # The bare "24" is body text here (not among a page's first/last 3 non-blank lines).
    assert text == (
        "First body line\nPage(s): 24.\n24\nbody\nbody\nbody\nlast body line\n"
        "second page body\nmore body\n"
    )


def test_clean_pages_needs_repeats_on_two_pages():
    # A line at the edge of one page of two is not a header.
    text = clean_pdf_pages(["Alprazolam 1mg\nbody one", "Norco 10mg\nbody two"])
    assert text == "Alprazolam 1mg\nbody one\nNorco 10mg\nbody two\n"


def test_word_broken_across_pages_is_joined():
    pages = ["HEADER X\nthis is not medi-\nPage 1 of 2", "HEADER X\ncally necessary.\nPage 2 of 2"]
    assert clean_pdf_pages(pages) == "this is not medically necessary.\n"


def test_pdf_without_text(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 80, 120, style="F")  # a "scan": graphics, no text layer
    pdf.add_page()
    path = tmp_path / "scan.pdf"
    pdf.output(str(path))
    with pytest.raises(InputError, match=r"\[E011\]") as e:
        read_letter(path)
    assert e.value.reason == "no_text"


def test_pdf_with_only_footers_has_no_text(tmp_path):
    path = tmp_path / "footers.pdf"
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for _ in range(2):
        pdf.add_page()
        pdf.cell(0, 6, f"Page {pdf.page_no()} of 2")
    pdf.output(str(path))
    with pytest.raises(InputError) as e:
        pdf_to_text(path)
    assert e.value.reason == "no_text"


def _encrypted_pdf(path: Path, user_password: str | None) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, "Norco 10mg, #90: Upheld")
    pdf.set_encryption(owner_password="owner-pw", user_password=user_password)
    pdf.output(str(path))


def test_encrypted_pdf(tmp_path):
    path = tmp_path / "locked.pdf"
    _encrypted_pdf(path, "secret")
    with pytest.raises(InputError, match=r"\[E012\]") as e:
        read_letter(path)
    assert e.value.reason == "encrypted"


def test_encrypted_pdf_with_empty_user_password_is_read(tmp_path):
    path = tmp_path / "owner_only.pdf"
    _encrypted_pdf(path, None)
    assert pdf_to_text(path) == "Norco 10mg, #90: Upheld\n"


def test_truncated_pdf(tmp_path):
    good = tmp_path / "good.pdf"
    _make_pdf(good, ["Norco 10mg, #90: Upheld"] * 40)
    data = good.read_bytes()
    bad = tmp_path / "truncated.pdf"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"\[E013\]") as e:
        read_letter(bad)
    assert e.value.reason == "bad_pdf"


def test_not_a_pdf_at_all(tmp_path):
    path = tmp_path / "fake.pdf"
    path.write_text("this is a text file named .pdf\n")
    with pytest.raises(InputError) as e:
        read_letter(path)
    assert e.value.reason == "bad_pdf"


def test_empty_pdf_file(tmp_path):
    path = tmp_path / "zero.pdf"
    path.write_bytes(b"")
    with pytest.raises(InputError) as e:
        read_letter(path)
    assert e.value.reason == "empty"


def test_pdf_noise_rules_are_valid():
    rows = read_jsonl(patterns_dir() / "pdf_noise.jsonl", required=("kind", "pattern"))
    drops = [re.compile(r["pattern"]) for r in rows if r["kind"] == "drop_line"]
    assert drops
    assert {r["kind"] for r in rows} <= {"drop_line", "keep_hyphen", "body_line"}
    for footer in ("Page 2 of 4", "  page 3/4 ", "Page 7"):
        assert any(r.search(footer) for r in drops), footer
    for body in ("Opioids Page(s): 78, 80.", "Norco 10mg, #90: Upheld", "on page 2 of the report"):
        assert not any(r.search(body) for r in drops), body


# ---------------------------------------------------------------------------- paths


def test_iter_letter_paths(tmp_path):
    (tmp_path / "b" / "deep").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    files = [
        tmp_path / "a.txt",
        tmp_path / "b" / "c.PDF",
        tmp_path / "b" / "deep" / "d.txt",
    ]
    for f in files:
        f.write_text("x")
    for junk in ("notes.md", "b/deep/e.docx", ".hidden/f.txt", "b/._c.pdf"):
        (tmp_path / junk).write_text("x")

    assert iter_letter_paths([tmp_path]) == sorted(files)
    assert iter_letter_paths(str(tmp_path)) == sorted(files)
    # A folder and a file inside it, and the same file twice: each letter once.
    again = iter_letter_paths([tmp_path / "b" / "deep" / "d.txt", tmp_path, files[0]])
    assert again == sorted(files)
    assert iter_letter_paths([tmp_path / "b" / "deep"]) == [files[2]]


def test_iter_letter_paths_missing(tmp_path):
    with pytest.raises(InputError, match=r"\[E015\]") as e:
        iter_letter_paths([tmp_path, tmp_path / "missing"])
    assert e.value.reason == "not_found"


def test_iter_letter_paths_named_file_of_other_type(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("x")
    with pytest.raises(InputError) as e:
        iter_letter_paths([path])
    assert e.value.reason == "unsupported"


# ---------------------------------------------------------------------------- writing


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_atomic_write_failure_leaves_nothing(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError, match="boom"), atomic_write(target) as f:
        f.write("half a file")
        raise RuntimeError("boom")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_failure_keeps_old_file(tmp_path):
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    with pytest.raises(KeyError), atomic_write(target) as f:
        f.write("new\n")
        raise KeyError("x")
    assert target.read_text() == "old\n"
    assert _leftovers(tmp_path) == []


def test_atomic_write_replaces_on_success(tmp_path):
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    target.chmod(0o640)
    with atomic_write(target) as f:
        f.write("new \u2013 text\n")
        # Until the body ends the old file is intact and the new one is a hidden temp file.
        assert target.read_text() == "old\n"
        temps = _leftovers(tmp_path)
        assert len(temps) == 1 and re.fullmatch(r"\.out\.jsonl\.\w+\.tmp", temps[0])
    assert target.read_text(encoding="utf8") == "new \u2013 text\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert _leftovers(tmp_path) == []


def test_atomic_write_new_file_gets_usual_permissions(tmp_path):
    target = tmp_path / "fresh.txt"
    with atomic_write(target) as f:
        f.write("x")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_atomic_write_bytes(tmp_path):
    target = tmp_path / "out.parquet"
    atomic_write_bytes(target, b"\x00\x01PAR1")
    assert target.read_bytes() == b"\x00\x01PAR1"
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    assert _leftovers(tmp_path) == []


def test_atomic_write_rejects_other_modes(tmp_path):
    with pytest.raises(ValueError), atomic_write(tmp_path / "x", mode="a"):
        pass


def test_folder_named_like_a_letter_is_unreadable(tmp_path):
    path = tmp_path / "folder.txt"
    path.mkdir()
    with pytest.raises(InputError, match=r"\[E015\]") as e:
        read_letter(path)
    assert e.value.reason == "unreadable"


def test_running_text_at_page_edges_is_not_taken_for_a_footer():
    """'necessary.' ending an item on two pages is text, not a repeated footer."""
    from imr_nlp.io import clean_pdf_pages

    pages = [
        "Case Number: CM16-1\nA first line\nthe request is not medically\nnecessary.",
        "Case Number: CM16-1\nNext item: Upheld\nthe request is not medically\nnecessary.",
    ]
    text = clean_pdf_pages(pages)
    assert text.count("necessary.") == 2 and "Case Number" not in text


def test_pdfium_line_break_hyphen_becomes_a_hyphenated_break():
    from imr_nlp.io import clean_pdf_pages

    assert clean_pdf_pages(["trials of anti\ufffedepressants and guide\ufffelines"]) == (
        "trials of anti-depressants and guidelines\n"
    )
