"""Corpora on a Dask cluster and the one Parquet schema (imr_nlp.corpus).

A ``distributed.LocalCluster`` of 2 worker processes on the loopback interface
runs the bundled example letters plus broken files; its records must be those of
the single-process run, with every broken file in the errors table, whatever
happens to a worker.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from spacy.language import Language

import imr_nlp
import imr_nlp.corpus as corpus
from imr_nlp.cli import main
from imr_nlp.extract import extract, read_table
from imr_nlp.io import letter_ids
from imr_nlp.records.schema import FIELDS, arrow_schema

distributed = pytest.importorskip("distributed")

EXAMPLES = Path(imr_nlp.__file__).resolve().parent / "examples"
KEY = ["doc_id", "request_index"]
BROKEN = {  # file -> reason in the errors table
    "zero.txt": "empty",
    "blank.txt": "whitespace_only",
    "junk.txt": "binary",
    "garbage.pdf": "bad_pdf",
}


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def letters(tmp_path_factory) -> Path:
    """The example letters, one of them again in a subfolder (same stem), and broken files."""
    folder = tmp_path_factory.mktemp("letters")
    for p in sorted(EXAMPLES.glob("*.txt")):
        (folder / p.name).write_bytes(p.read_bytes())
    (folder / "again").mkdir()
    first = sorted(EXAMPLES.glob("*.txt"))[0]
    (folder / "again" / first.name).write_bytes(first.read_bytes())
    (folder / "zero.txt").write_bytes(b"")
    (folder / "blank.txt").write_bytes(b" \n\t \n")
    (folder / "junk.txt").write_bytes(bytes(range(256)) * 8)
    (folder / "garbage.pdf").write_bytes(b"%PDF-1.4\n this is no pdf \x00\x01" * 20)
    (folder / "notes.md").write_text("not a letter", encoding="utf8")
    return folder


@pytest.fixture(scope="module")
def reference(letters, nlp, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "records"
    summary = extract(letters, out, nlp=nlp, progress=False)
    return out, summary


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(KEY, ignore_index=True)


def _errors(folder: Path) -> set[tuple[str, str, str]]:
    e = corpus.read_errors(folder)
    return {
        (Path(p).name, level, reason)
        for p, level, reason in zip(e["source_path"], e["level"], e["reason"], strict=True)
    }


def _check_table(folder: Path) -> pd.DataFrame:
    """Every partition has the declared schema; keys unique and never null."""
    parts = sorted(folder.glob("part-*.parquet"))
    assert parts
    for p in parts:
        assert pq.read_schema(p).equals(arrow_schema(), check_metadata=False), p
    table = read_table(folder)
    assert table["doc_id"].notna().all() and table["source_path"].notna().all()
    assert not table.duplicated(KEY).any()
    return table


# ---------------------------------------------------------------- keys


def test_letter_ids_rule():
    ids = letter_ids(
        ["/d/a/letter.txt", "/d/b/letter.txt", "/d/x.txt", "/d/x.pdf", "/d/c/y.txt"], "/d"
    )
    assert ids == ["a/letter", "b/letter", "x.txt", "x.pdf", "y"]


def test_to_dataframe_never_has_a_null_doc_id(nlp):
    texts = [p.read_text(encoding="utf8") for p in sorted(EXAMPLES.glob("00*.txt"))[:2]]
    plain = imr_nlp.to_dataframe(nlp.pipe(texts))
    assert len(plain) > 0 and plain["doc_id"].notna().all()
    assert set(plain["doc_id"]) == {"0", "1"}  # positions, when nothing names the letters
    named = imr_nlp.to_dataframe(nlp.pipe(texts), ids=["a", "b"])
    assert set(named["doc_id"]) == {"a", "b"}
    ctx = [(t, {"doc_id": f"id{i}", "source_path": f"/x/{i}.txt"}) for i, t in enumerate(texts)]
    tuples = imr_nlp.to_dataframe(nlp.pipe(ctx, as_tuples=True))
    assert set(tuples["doc_id"]) == {"id0", "id1"}
    assert set(tuples["source_path"]) == {"/x/0.txt", "/x/1.txt"}
    assert not tuples.duplicated(KEY).any()


# ---------------------------------------------------------------- Dask


def test_dask_run_gives_the_records_of_the_single_process_run(client, letters, reference, tmp_path):
    ref_out, ref_summary = reference
    out = tmp_path / "records"
    summary = corpus.extract(letters, client=client, out=out, batch_size=2, part_size=4)
    assert summary.letters == ref_summary.letters == len(list(letters.rglob("*.txt"))) + 1
    expected = _check_table(ref_out)
    got = _check_table(out)
    pd.testing.assert_frame_equal(_sorted(got), _sorted(expected))
    assert len(sorted(out.glob("part-*.parquet"))) > 1  # several partitions, one schema
    # the example letter twice: named by its path below the common folder
    stem = sorted(EXAMPLES.glob("*.txt"))[0].stem
    assert {stem, f"again/{stem}"} <= set(got["doc_id"]) and stem not in set(got["doc_id"]) - {stem}
    assert set(got["source_path"]) <= {str(p) for p in letters.rglob("*")}
    errors = _errors(out)
    assert errors == _errors(ref_out)
    for name, reason in BROKEN.items():
        assert (name, "error", reason) in errors
    assert ("notes.md", "warning", "unsupported") in errors
    assert ("nodecision_cutoff.txt", "warning", "no_decision_section") in errors
    assert {f["reason"] for f in summary.failures} == set(BROKEN.values())


@Language.factory("imr_test_die_once", default_config={"marker": ""})
def _die_once(nlp, name, marker):
    def component(doc):
        if "IMR_TEST_KILL_WORKER" in doc.text:
            try:
                fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return doc
            os.close(fd)
            os._exit(1)  # the worker process dies in the middle of its batch
        return doc

    return component


def _pipeline_killing_once(marker: str):
    nlp = imr_nlp.load()
    nlp.add_pipe("imr_test_die_once", first=True, config={"marker": marker})
    return nlp


def test_worker_killed_mid_run_every_record_once(client, letters, nlp, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for p in sorted(letters.rglob("*")):
        if p.is_file():
            target = folder / p.relative_to(letters)
            target.parent.mkdir(exist_ok=True)
            target.write_bytes(p.read_bytes())
    victim = folder / "overturned_two_items.txt"
    victim.write_text(
        victim.read_text(encoding="utf8") + "\nIMR_TEST_KILL_WORKER\n", encoding="utf8"
    )
    ref = tmp_path / "ref"
    extract(folder, ref, nlp=nlp, progress=False)
    marker = tmp_path / "killed"
    out = tmp_path / "records"
    summary = corpus.extract(
        folder,
        client=client,
        out=out,
        batch_size=2,
        part_size=3,
        pipeline=functools.partial(_pipeline_killing_once, str(marker)),
    )
    assert marker.exists()  # a worker did die
    got = _check_table(out)
    pd.testing.assert_frame_equal(_sorted(got), _sorted(read_table(ref)))
    assert "overturned_two_items" in set(got["doc_id"])
    assert _errors(out) == _errors(ref)
    assert {f["reason"] for f in summary.failures} == set(BROKEN.values())


@Language.component("imr_test_always_die")
def _always_die(doc):
    if "IMR_TEST_POISON" in doc.text:
        os._exit(1)
    return doc


def _pipeline_with_poison():
    nlp = imr_nlp.load()
    nlp.add_pipe("imr_test_always_die", first=True)
    return nlp


def test_letter_that_kills_every_worker_is_an_error_row(letters, tmp_path):
    """Dask gives up on a task that killed its workers (KilledWorker): its batch is split
    into single letters, and the one that still kills is reported, the rest kept."""
    import dask
    from distributed import Client, LocalCluster

    folder = tmp_path / "in"
    folder.mkdir()
    names = sorted(p.name for p in EXAMPLES.glob("*.txt"))[:4]
    for name in names:
        (folder / name).write_bytes((EXAMPLES / name).read_bytes())
    poison = folder / names[1]
    poison.write_text(poison.read_text(encoding="utf8") + "\nIMR_TEST_POISON\n", encoding="utf8")
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        ) as cluster,
        Client(cluster) as c,
    ):
        summary = corpus.extract(
            folder, client=c, out=tmp_path / "records", batch_size=4, pipeline=_pipeline_with_poison
        )
    assert [(Path(f["path"]).name, f["reason"]) for f in summary.failures] == [
        (poison.name, "worker_died")
    ]
    assert summary.failures[0]["message"].startswith("[E019]")
    got = _check_table(tmp_path / "records")
    assert set(got["doc_id"]) == {Path(n).stem for n in names if n != poison.name} - {
        "nodecision_cutoff"
    }
    assert summary.letters == len(names)


def test_lazy_dataframes_on_the_cluster(client, letters, reference):
    import dask

    ref_out, _ = reference
    lazy = corpus.extract(letters, client=client, batch_size=3)
    records, errors = dask.compute(lazy.records, lazy.errors)
    assert list(records.columns) == list(FIELDS)
    expected = read_table(ref_out)
    assert sorted(zip(records["doc_id"], records["request_index"], strict=False)) == sorted(
        zip(expected["doc_id"], expected["request_index"], strict=False)
    )
    assert {Path(p).name for p in errors.loc[errors["level"] == "error", "source_path"]} == set(
        BROKEN
    )
    back = corpus.read(ref_out).compute()
    assert len(back) == len(expected) and list(back.columns) == list(FIELDS)


def test_cli_dask_scheduler_address(client, letters, reference, tmp_path, capsys):
    ref_out, _ = reference
    out = tmp_path / "cli"
    status = main(
        ["extract", str(letters), "--out", str(out), "--dask", client.scheduler.address, "--quiet"]
    )
    assert status == 1  # broken files failed
    assert "letters read:" in capsys.readouterr().err
    pd.testing.assert_frame_equal(_sorted(_check_table(out)), _sorted(read_table(ref_out)))


# ---------------------------------------------------------------- one schema, resume


def test_two_runs_read_as_one_dataset_with_provenance(nlp, tmp_path):
    plain = tmp_path / "plain"
    flagged = tmp_path / "flagged"
    plain.mkdir()
    flagged.mkdir()
    src = EXAMPLES / "001_f3e1b04c8ae5c364.txt"
    (plain / src.name).write_bytes(src.read_bytes())
    text = src.read_text(encoding="utf8")
    assert "This request is not medically necessary." in text
    (flagged / "contradicts.txt").write_text(
        text.replace(
            "This request is not medically necessary.", "This request is medically necessary."
        ),
        encoding="utf8",
    )
    runs = tmp_path / "runs"
    extract(plain, runs / "a", nlp=nlp, progress=False)
    extract(flagged, runs / "b", nlp=nlp, progress=False)
    a, b = read_table(runs / "a"), read_table(runs / "b")
    assert not any(len(w) for w in a["warnings"]) and any(len(w) for w in b["warnings"])
    # one table of both runs, without a cast error (the errors tables under _errors are skipped)
    both = ds.dataset(runs).to_table()
    assert both.num_rows == len(a) + len(b)
    assert both.schema.field("warnings").type == pa.list_(pa.string())
    assert both.schema.field("decision_date").type == pa.date32()
    assert both.schema.field("quantity").type == pa.float64()
    meta = {
        k.decode(): v.decode()
        for k, v in pq.read_schema(next((runs / "b").glob("part-*.parquet"))).metadata.items()
    }
    assert meta["imr_nlp.version"] == imr_nlp.__version__
    assert (
        meta["imr_nlp.rules_sha256"] == corpus.rules_hash()
        and len(meta["imr_nlp.rules_sha256"]) == 64
    )
    assert meta["imr_nlp.run_started"].startswith("20")
    # a single .parquet file has the same schema
    extract(plain, tmp_path / "one.parquet", nlp=nlp, progress=False)
    assert pq.read_schema(tmp_path / "one.parquet").equals(arrow_schema(), check_metadata=False)


def test_rules_hash_follows_the_rule_files(monkeypatch, tmp_path):
    import shutil

    from imr_nlp import patterns

    copy = tmp_path / "patterns"
    shutil.copytree(patterns.patterns_dir(), copy)
    monkeypatch.setattr(patterns, "patterns_dir", lambda: copy)
    before = corpus.rules_hash()
    with (copy / "drugs.jsonl").open("a", encoding="utf8") as f:
        f.write(json.dumps({"label": "DRUG", "pattern": "examplemab", "id": "examplemab"}) + "\n")
    assert corpus.rules_hash() != before


def test_resume_redoes_an_uncommitted_partition_only(letters, nlp, reference, tmp_path):
    ref_out, _ = reference
    out = tmp_path / "records"
    extract(letters, out, nlp=nlp, part_size=3, batch_size=1, progress=False)
    manifests = sorted((out / "_manifest").glob("part-*.json"))
    assert len(manifests) >= 3
    # as if the run had been killed after writing the last partition but before its manifest
    manifests[-1].unlink()
    kept = sum(len(json.loads(m.read_text())["letters"]) for m in manifests[:-1])
    summary = extract(letters, out, nlp=nlp, part_size=3, batch_size=1, resume=True, progress=False)
    assert summary.resumed == kept
    pd.testing.assert_frame_equal(_sorted(_check_table(out)), _sorted(read_table(ref_out)))
    assert _errors(out) == _errors(ref_out)


def test_dataset_folder_refuses_foreign_files(letters, nlp, tmp_path):
    from imr_nlp.errors import ImrError

    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_bytes(b"x")
    with pytest.raises(ImrError, match="E021"):
        extract(EXAMPLES, out, nlp=nlp, progress=False)
    assert (out / "thesis.docx").exists()


def test_benchmark_script_small_run(tmp_path):
    """benchmarks/corpus_bench.py end to end on a tiny corpus (structure only, no timing)."""
    import subprocess
    import sys

    repo = Path(__file__).resolve().parent.parent
    out = tmp_path / "corpus.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(repo / "benchmarks" / "corpus_bench.py"),
            "--real",
            str(tmp_path / "none"),
            "--n-small",
            "12",
            "--skip-large",
            "--repeat",
            "1",
            "--out",
            str(out),
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text(encoding="utf8"))
    (entry,) = result["corpora"].values()
    assert entry["agree"] and set(entry["runs"]) == {
        "1 process",
        "--n-process 2",
        "--dask local, 1 worker",
        "--dask local, 2 workers",
    }
    for run in entry["runs"].values():
        assert run["letters"] == 12 and run["driver_peak_rss_mb"] > 0
    assert entry["dask_speedup_2_over_1"] > 0


def test_resume_refuses_partitions_of_other_rules(nlp, tmp_path):
    from imr_nlp.errors import ImrError

    out = tmp_path / "records"
    extract(EXAMPLES, out, nlp=nlp, progress=False)
    run = json.loads((out / "_run.json").read_text(encoding="utf8"))
    run["meta"]["imr_nlp.rules_sha256"] = "0" * 64  # as if written before a rule file changed
    (out / "_run.json").write_text(json.dumps(run), encoding="utf8")
    with pytest.raises(ImrError, match="E022"):
        extract(EXAMPLES, out, nlp=nlp, resume=True, progress=False)
    extract(EXAMPLES, out, nlp=nlp, progress=False)  # a fresh run replaces the dataset
    assert (
        json.loads((out / "_run.json").read_text())["meta"]["imr_nlp.rules_sha256"]
        == corpus.rules_hash()
    )
