"""The imr-nlp command: every ordinary mistake is one coded line on stderr, never a traceback."""

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from imr_nlp import __version__
from imr_nlp.cli import build_parser, main

REPO = Path(__file__).resolve().parents[1]
GOLD = REPO.parent / "shared" / "gold" / "seeds.jsonl"
EXAMPLES = REPO / "imr_nlp" / "examples"
CODED = re.compile(r"^imr-nlp: \[E\d{3}\] \S.*$")


def _run(argv, capsys):
    rc = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def _one_coded_line(err: str, code: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert CODED.match(lines[0]) and f"[{code}]" in lines[0], lines[0]


@pytest.fixture(scope="module")
def doccano_file(tmp_path_factory):
    from imr_nlp import export_spans
    from imr_nlp.evaluation import read_gold_file

    path = tmp_path_factory.mktemp("doccano") / "seeds.jsonl"
    export_spans(read_gold_file(GOLD)[:2], path, format="doccano")
    return path


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"imr-nlp {__version__}"


def test_every_argument_has_help():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for name, sub in [("imr-nlp", parser), *subparsers.choices.items()]:
        for action in sub._actions:
            if (
                not isinstance(action, (argparse._HelpAction, argparse._SubParsersAction))
                and not action.help
            ):
                missing.append(f"{name} {action.dest}")
    assert missing == []


def test_train_refuses_an_existing_folder_that_is_not_a_model(tmp_path, capsys):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    rc, _, err = _run(["train", GOLD, "--format", "gold", "--out", out], capsys)
    assert rc == 2
    _one_coded_line(err, "E042")
    assert (out / "keep.txt").read_text() == "mine"


def test_train_missing_corrected_file(tmp_path, capsys):
    rc, _, err = _run(["train", tmp_path / "nope.jsonl", "--out", tmp_path / "m"], capsys)
    assert rc == 2
    _one_coded_line(err, "E031")


def test_evaluate_missing_gold_file(tmp_path, capsys):
    rc, _, err = _run(["evaluate", tmp_path / "nope.jsonl"], capsys)
    assert rc == 2
    _one_coded_line(err, "E050")


def test_evaluate_doccano_file_as_gold_is_a_coded_error(doccano_file, capsys):
    rc, _, err = _run(["evaluate", doccano_file], capsys)
    assert rc == 2
    _one_coded_line(err, "E051")
    assert "--format" in err


def test_evaluate_format_reads_the_annotation_file(doccano_file, capsys):
    """The same letters scored from gold JSONL and from their doccano export agree."""
    rc, out, _ = _run(["evaluate", doccano_file, "--format", "doccano"], capsys)
    assert rc == 0
    from imr_nlp import load
    from imr_nlp.evaluation import evaluate_file, format_table

    gold_two = doccano_file.parent / "gold_two.jsonl"
    gold_two.write_text(
        "".join(GOLD.read_text(encoding="utf8").splitlines(keepends=True)[:2]), encoding="utf8"
    )
    expected = format_table(evaluate_file(gold_two, nlp=load()), title="")
    assert out.strip().splitlines()[1:] == expected.strip().splitlines()


@pytest.mark.parametrize("command", ["extract", "evaluate"])
def test_model_that_is_not_a_pipeline(command, tmp_path, capsys):
    target = (
        ["--out", tmp_path / "t.csv", EXAMPLES / "layout2013_frp.txt"]
        if command == "extract"
        else [GOLD]
    )
    rc, _, err = _run([command, *target, "--model", tmp_path / "no_model"], capsys)
    assert rc == 2
    _one_coded_line(err, "E046")


def test_export_reports_bad_files_and_goes_on(tmp_path, capsys):
    letters = tmp_path / "letters"
    letters.mkdir()
    (letters / "a_empty.txt").write_text("")
    (letters / "b_good.txt").write_text(
        (EXAMPLES / "layout2013_frp.txt").read_text(encoding="utf8")
    )
    out = tmp_path / "tasks.jsonl"
    rc, _, err = _run(["export", letters, "--out", out], capsys)
    assert rc == 1
    assert "a_empty.txt" in err and "[E010]" in err and "Traceback" not in err
    assert "exported 1 letters" in err and "1 skipped" in err
    assert len(out.read_text(encoding="utf8").splitlines()) == 1


def test_a_mistake_in_a_fresh_process_has_no_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "imr_nlp.cli", "evaluate", str(tmp_path / "x.jsonl")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    _one_coded_line(proc.stderr, "E050")
