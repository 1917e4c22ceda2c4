"""``imr-nlp extract``: tables in three formats, PDFs, bad files, long files, kill and resume.

Every bad input is reported in ``<out stem>.errors.csv`` with its reason while
every other letter's records are still written; a run killed with SIGKILL
leaves no table, and ``--resume`` finishes it with exactly the records of an
uninterrupted run.
"""

from __future__ import annotations

import csv
import faulthandler
import json
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest
from spacy.language import Language

from imr_nlp.cli import main
from imr_nlp.errors import ImrError, ImrWarning
from imr_nlp.extract import extract, process_long_text, read_table
from imr_nlp.io import read_letter
from imr_nlp.records import FIELDS, records_dataframe

from .conftest import REPO, SEEDS

SEED_FILES = sorted(SEEDS.glob("*.txt"))
pytestmark = pytest.mark.skipif(not SEED_FILES, reason="../shared/seeds not found")

# Plain `pytest` does not put the repo root first on sys.path, and pysbd (a medspacy
# dependency) installs a top-level package also called `benchmarks` into site-packages.
if sys.path[:1] != [str(REPO)]:
    sys.path.insert(0, str(REPO))
_other = sys.modules.get("benchmarks")
if _other is not None and Path(getattr(_other, "__file__", "") or "").parent.parent != REPO:
    del sys.modules["benchmarks"]


def _expected(nlp, paths) -> pd.DataFrame:
    """The records of the letters processed one by one, as the table should hold them."""
    records = []
    for path in paths:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ImrWarning)  # W001, asserted where it matters
            letter = read_letter(path)
        doc = nlp.make_doc(letter.text)
        doc._.doc_id = letter.doc_id
        records.extend({**r, "source_path": str(path)} for r in nlp(doc)._.requests)
    return records_dataframe(records)


def _errors(out: Path) -> dict[str, tuple[str, str]]:
    """{file name: (level, reason)} of the errors file next to ``out``."""
    with out.with_name(out.stem + ".errors.csv").open(encoding="utf8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert all(r["message"].startswith("[") for r in rows), rows  # every message has a code
    return {Path(r["path"]).name: (r["level"], r["reason"]) for r in rows}


def _letter_pdf(
    text: str, path: Path, *, password: str | None = None, scanned: bool = False
) -> Path:
    """Draw a letter on PDF pages, one text line per line; ``scanned``: grey bars, no text."""
    from fpdf import FPDF

    pdf = FPDF(format="letter", unit="mm")
    pdf.set_auto_page_break(False)
    pdf.set_font("Helvetica", size=9)
    if password:
        pdf.set_encryption(owner_password="owner", user_password=password)
    lines = [line.rstrip() for line in text.split("\n\n")]
    for start in range(0, len(lines), 50):
        pdf.add_page()
        for j, line in enumerate(lines[start : start + 50]):
            if not line.strip():
                continue
            if scanned:
                pdf.set_fill_color(90, 90, 90)
                pdf.rect(12, 12 + j * 5, min(185.0, 1.7 * len(line)), 3.0, style="F")
            else:
                pdf.text(12, 15 + j * 5, line)
    pdf.output(str(path))
    return path


# ---------------------------------------------------------------- tables


def test_formats_read_back_to_the_same_table(tmp_path, nlp):
    tables = {}
    for suffix in (".csv", ".jsonl", ".parquet"):
        out = tmp_path / f"records{suffix}"
        summary = extract(SEEDS, out, nlp=nlp, progress=False)
        assert summary.failures == [] and summary.letters == len(SEED_FILES)
        assert not (tmp_path / f"records{suffix}.parts").exists()
        tables[suffix] = read_table(out)
    expected = _expected(nlp, SEED_FILES)
    assert list(expected.columns) == list(FIELDS) and len(expected) > 0
    for suffix, df in tables.items():
        pd.testing.assert_frame_equal(df, expected, obj=suffix)


def test_round_trip_keeps_types_of_sparse_columns(tmp_path, nlp):
    """One letter (columns entirely null, pages like "24") and no letter at all."""
    one = tmp_path / "one"
    one.mkdir()
    (one / SEED_FILES[-1].name).write_bytes(SEED_FILES[-1].read_bytes())
    empty = tmp_path / "none"
    empty.mkdir()
    (empty / "zero.txt").write_bytes(b"")
    for folder, n in ((one, len(_expected(nlp, [one / SEED_FILES[-1].name]))), (empty, 0)):
        frames = []
        for suffix in (".csv", ".jsonl", ".parquet"):
            out = tmp_path / f"{folder.name}{suffix}"
            extract(folder, out, nlp=nlp, progress=False)
            frames.append(read_table(out))
        for df in frames[1:]:
            pd.testing.assert_frame_equal(df, frames[0])
        assert len(frames[0]) == n
    assert all(isinstance(p, str) for p in frames[0]["guideline_pages"].dropna())


def test_pdf_gives_the_records_of_its_text(tmp_path, nlp):
    text_path = SEED_FILES[2]
    pdf = _letter_pdf(text_path.read_text(encoding="utf8"), tmp_path / "letter.pdf")
    extract(pdf, tmp_path / "pdf.jsonl", nlp=nlp, progress=False)
    extract(text_path, tmp_path / "txt.jsonl", nlp=nlp, progress=False)
    from_pdf, from_txt = read_table(tmp_path / "pdf.jsonl"), read_table(tmp_path / "txt.jsonl")
    assert len(from_pdf) == len(from_txt) == 2
    exact = [f for f in FIELDS if f not in ("doc_id", "source_path", "rationale")]
    pd.testing.assert_frame_equal(from_pdf[exact], from_txt[exact])

    # pdf_to_text joins words hyphenated across lines ("long-\nterm" -> "long-term")
    def norm(s: str) -> str:
        return re.sub(r"-\s+", "-", " ".join(s.split()))

    assert list(from_pdf["rationale"].map(norm)) == list(from_txt["rationale"].map(norm))


# ---------------------------------------------------------------- bad inputs


@pytest.fixture
def bad_folder(tmp_path):
    """Good letters plus one file of each kind of bad input."""
    folder = tmp_path / "letters"
    folder.mkdir()
    good = []
    for p in SEED_FILES[:3]:
        good.append(folder / p.name)
        good[-1].write_bytes(p.read_bytes())
    seed = SEED_FILES[3].read_text(encoding="utf8")
    cp = folder / "windows.txt"
    cp.write_bytes((seed + "Reviewer\u2019s note \u2013 none.\n").encode("cp1252"))
    good.append(cp)
    (folder / "zero.txt").write_bytes(b"")
    (folder / "blank.txt").write_bytes(b" \n\t\r\n   \n")
    (folder / "junk.txt").write_bytes(bytes(range(256)) * 8)
    cut = seed.index("IMR ISSUES, DECISIONS AND RATIONALES")
    (folder / "nodecision.txt").write_text(seed[:cut], encoding="utf8")
    _letter_pdf(seed, folder / "scanned.pdf", scanned=True)
    _letter_pdf(seed, folder / "locked.pdf", password="secret")
    whole = _letter_pdf(seed, tmp_path / "whole.pdf").read_bytes()
    (folder / "truncated.pdf").write_bytes(whole[: len(whole) // 2])
    (folder / "letter.docx").write_bytes(b"PK\x03\x04 not really a docx")
    (folder / "unreadable.txt").write_text(seed, encoding="utf8")
    (folder / "dangling.txt").symlink_to(folder / "gone.txt")
    return folder, good


EXPECTED_REPORT = {
    "zero.txt": ("error", "empty"),
    "blank.txt": ("error", "whitespace_only"),
    "junk.txt": ("error", "binary"),
    "scanned.pdf": ("error", "no_text"),
    "locked.pdf": ("error", "encrypted"),
    "truncated.pdf": ("error", "bad_pdf"),
    "unreadable.txt": ("error", "unreadable"),
    "dangling.txt": ("error", "not_found"),
    "windows.txt": ("warning", "encoding_fallback"),
    "nodecision.txt": ("warning", "no_decision_section"),
    "letter.docx": ("warning", "unsupported"),
}


def test_cli_reports_each_bad_file_and_keeps_every_good_record(
    bad_folder, tmp_path, nlp, monkeypatch, capsys
):
    folder, good = bad_folder
    real_read_bytes = Path.read_bytes

    def read_bytes(self):
        if self.name == "unreadable.txt":
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    out = tmp_path / "out" / "records.csv"
    status = main(["extract", str(folder), "--out", str(out), "--quiet"])
    assert status == 1  # some letters failed

    assert _errors(out) == EXPECTED_REPORT
    with out.with_name("records.errors.csv").open(encoding="utf8") as f:
        text = f.read()
    assert "[W001]" in text and "decoded as cp1252" in text
    assert "[E012]" in text and "[E011]" in text and "[E010]" in text
    with pytest.warns(ImrWarning, match=r"\[W001\].*cp1252"):  # the library itself warns
        read_letter(folder / "windows.txt")

    table = read_table(out)
    expected = _expected(nlp, good)
    assert set(table["doc_id"]) == {p.stem for p in good}
    pd.testing.assert_frame_equal(table, expected)

    report = capsys.readouterr().err
    assert "failed letters: 8" in report
    for reason in ("empty", "binary", "encrypted", "no_text", "bad_pdf", "unreadable", "not_found"):
        assert f"  {reason}: 1" in report


def test_named_files_of_other_types_and_missing_paths(tmp_path, capsys):
    docx = tmp_path / "letter.docx"
    docx.write_bytes(b"PK")
    seed = tmp_path / SEED_FILES[0].name
    seed.write_bytes(SEED_FILES[0].read_bytes())
    out = tmp_path / "r.jsonl"
    # a named file of another type is a failed letter; the run goes on
    assert main(["extract", str(seed), str(docx), "--out", str(out), "--quiet"]) == 1
    assert _errors(out) == {"letter.docx": ("error", "unsupported")}
    assert len(read_table(out)) == 1
    # a path that does not exist, or a bad --out suffix, is a usage error
    assert main(["extract", str(tmp_path / "nowhere"), "--out", str(out), "--quiet"]) == 2
    assert main(["extract", str(seed), "--out", str(tmp_path / "r.xlsx"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "[E015]" in err and "[E020]" in err


def test_symlink_loop_is_reported(tmp_path, nlp):
    (tmp_path / "loop.txt").symlink_to(tmp_path / "loop.txt")
    (tmp_path / SEED_FILES[0].name).write_bytes(SEED_FILES[0].read_bytes())
    out = tmp_path / "out" / "r.jsonl"
    summary = extract(tmp_path, out, nlp=nlp, progress=False)
    assert summary.failures_by_reason == {"unreadable": 1}


# ---------------------------------------------------------------- long texts


@pytest.fixture
def short_nlp(nlp):
    """The session pipeline with max_length just above the longest seed letter."""
    saved = nlp.max_length
    nlp.max_length = max(len(p.read_text(encoding="utf8")) for p in SEED_FILES) + 10
    yield nlp
    nlp.max_length = saved


def test_long_file_is_split_at_letter_titles(tmp_path, short_nlp):
    nlp = short_nlp
    seeds = [p.read_text(encoding="utf8") for p in SEED_FILES[:3]]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "month.txt").write_text("".join(seeds), encoding="utf8")
    (folder / "huge.txt").write_text(seeds[0] + "filler words " * 600, encoding="utf8")
    out = tmp_path / "r.jsonl"
    summary = extract(folder, out, nlp=nlp, progress=False)
    assert summary.failures_by_reason == {"too_long": 1}
    assert "[E016]" in summary.failures[0]["message"]
    table = read_table(out)
    assert sorted(set(table["doc_id"])) == ["month#1", "month#2", "month#3"]
    expected = [r["request_text"] for t in seeds for r in nlp(t)._.requests]
    assert list(table["request_text"]) == expected

    docs = process_long_text("".join(seeds), nlp)
    assert [len(d._.requests) for d in docs] == [len(nlp(t)._.requests) for t in seeds]
    with pytest.raises(ImrError, match=r"\[E016\]"):
        process_long_text(seeds[0] + "filler words " * 600, nlp)


# ---------------------------------------------------------------- a letter that breaks the pipeline


@Language.component("imr_test_boom")
def _boom(doc):
    if "BOOM" in doc.text:
        raise RuntimeError("boom")
    return doc


def test_pipeline_error_in_a_worker_fails_one_letter_only(tmp_path):
    """With two processes a letter that raises is reported; its batch and the run go on.

    (spaCy's own ``nlp.pipe(n_process=2)`` loses the batch and can hang; a watchdog
    ends the test run if that ever comes back.)
    """
    import imr_nlp

    nlp = imr_nlp.load()
    nlp.add_pipe("imr_test_boom", first=True)
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(12):
        text = SEED_FILES[i % len(SEED_FILES)].read_text(encoding="utf8")
        boom = "BOOM\n" if i in (4, 9) else ""
        (folder / f"l{i:02d}.txt").write_text(text + boom, encoding="utf8")
    out = tmp_path / "r.jsonl"
    faulthandler.dump_traceback_later(240, exit=True)
    try:
        summary = extract(folder, out, nlp=nlp, n_process=2, batch_size=3, progress=False)
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert [(Path(f["path"]).name, f["reason"]) for f in summary.failures] == [
        ("l04.txt", "pipeline_error"),
        ("l09.txt", "pipeline_error"),
    ]
    assert "RuntimeError: boom" in summary.failures[0]["message"]
    table = read_table(out)
    assert set(table["doc_id"]) == {f"l{i:02d}" for i in range(12) if i not in (4, 9)}
    # records and their warnings name their letter, also from a worker process
    assert list(table["doc_id"]) == sorted(table["doc_id"])


# ---------------------------------------------------------------- SIGKILL and --resume


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "imr_nlp.cli", "extract", *args]


def test_sigkill_leaves_no_table_and_resume_finishes_it(tmp_path, nlp):
    from generate_corpus import write_corpus

    corpus = tmp_path / "corpus"
    manifest = write_corpus(corpus, n=120, seed=11, broken_share=0.05)
    n_files = len([f for f in manifest["files"]])
    reference = tmp_path / "reference" / "records.csv"
    ref_summary = extract(corpus, reference, nlp=nlp, progress=False)
    assert ref_summary.letters == n_files and ref_summary.failures

    work = tmp_path / "run"
    work.mkdir()
    out = work / "records.csv"
    parts = work / "records.csv.parts"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with (tmp_path / "killed.log").open("w") as log:
        proc = subprocess.Popen(
            _cli(str(corpus), "--out", str(out), "--quiet", "--part-size", "5"),
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 120
            while not list(parts.glob("_manifest/part-*.json")):
                assert proc.poll() is None, "the run ended before committing a part"
                assert time.monotonic() < deadline, "no part committed in 120 s"
                time.sleep(0.01)
            os.kill(proc.pid, signal.SIGKILL)
            assert proc.wait(timeout=30) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    # no table, no errors file, no temporary file: only the committed parts
    assert sorted(p.name for p in work.iterdir()) == ["records.csv.parts"]
    committed = sum(
        len(json.loads(p.read_text(encoding="utf8"))["letters"])
        for p in parts.glob("_manifest/part-*.json")
    )
    assert 0 < committed < n_files, committed

    # resume, naming the corpus by another path: letters are known by their real path
    resumed = subprocess.run(
        _cli(
            os.path.relpath(corpus, work),
            "--out",
            "records.csv",
            "--quiet",
            "--resume",
            "--part-size",
            "5",
        ),
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 1, resumed.stderr[-2000:]  # the corpus has broken files
    m = re.search(r"letters read: (\d+) \((\d+) from an earlier run\)", resumed.stderr)
    assert m, resumed.stderr[-2000:]
    assert int(m.group(1)) == n_files and 0 < int(m.group(2)) < n_files, m.group(0)
    assert not parts.exists()

    key = ["doc_id", "request_index"]
    table = read_table(out).sort_values(key, ignore_index=True)
    expected = read_table(reference).sort_values(key, ignore_index=True)
    assert not table.duplicated(key).any()
    # source_path is the file as each run was given it (here: absolute, then relative)
    assert list(table["source_path"].map(lambda p: Path(p).name)) == list(
        expected["source_path"].map(lambda p: Path(p).name)
    )
    pd.testing.assert_frame_equal(
        table.drop(columns="source_path"), expected.drop(columns="source_path")
    )
    assert _errors(out) == _errors(reference)


def test_scale_script_small_run(tmp_path):
    """benchmarks/scale_run.py end to end on a small corpus with every kind of broken file."""
    out = tmp_path / "scale.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "scale_run.py"),
            "--n",
            "60",
            "--broken-share",
            "0.2",
            "--pdf-share",
            "0.2",
            "--workdir",
            str(tmp_path / "work"),
            "--out",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["ok"] and result["run"]["returncode"] == 1
    checks = result["checks"]
    assert checks["broken_files"] == 12 and checks["broken_unreported"] == 0
    assert set(checks["failures_by_reason"]) == {
        "empty",
        "whitespace_only",
        "binary",
        "no_text",
        "encrypted",
        "bad_pdf",
    }
    assert checks["records"] == result["corpus"]["n_requests"]
    assert result["letters_per_second"] > 0 and result["run"]["peak_pss_tree_mb"] > 0
