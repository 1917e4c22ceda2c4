"""Scale run: a generated corpus with broken files through ``imr-nlp extract``.

Usage::

    python benchmarks/scale_run.py [--n 20000] [--broken-share 0.02] [--pdf-share 0.01] \\
        [--n-process 2] [--seed 0] [--workdir DIR] [--keep] \\
        [--out benchmarks/results/scale.json]

Steps:

1. ``tools/generate_corpus.write_corpus`` writes ``--n`` synthetic letters
   (a share of them deliberately broken: empty, whitespace only, binary junk,
   cp1252, no decision section, and for PDFs no text layer, encrypted,
   truncated) into ``WORKDIR/corpus`` with ``truth.jsonl`` and ``MANIFEST.json``.
2. ``imr-nlp extract WORKDIR/corpus --out WORKDIR/records.parquet --n-process N
   --quiet`` runs in a subprocess; its wall time and the peak memory of its
   process tree (RSS and PSS summed over the process and its workers, sampled
   every 0.2 s by psutil, and the largest single process by getrusage) are
   measured.
3. Checks: the command did not crash (exit status 0 or 1, no traceback); every
   broken file of the manifest is in ``records.errors.csv`` with the reason it
   should have; no good letter is reported as failed; every letter is either in
   the table or in the errors file; per letter, the number of records equals
   the number of truth items (mismatches are counted and listed, not hidden).

It prints letters/second, failures and warnings by reason, peak memory and the
checks, and writes the same figures to ``--out`` (JSON, atomically). The exit
status is 1 if a check other than the record counts fails (crash, unreported
broken file, good letter failed or lost), else 0.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# this checkout's imr_nlp first, then the letter generator (tools/) and the other benchmark
# scripts (plain scripts, not a package: pysbd installs a top-level ``benchmarks``)
sys.path[:] = [str(REPO), str(REPO / "tools"), str(REPO / "benchmarks")] + [
    p for p in sys.path if p and Path(p).resolve() != REPO
]

DEFAULT_OUT = REPO / "benchmarks" / "results" / "scale.json"
SAMPLE_SECONDS = 0.2
# What ``imr-nlp extract`` must report for each kind of broken file the generator makes.
EXPECTED = {
    "empty": ("error", "empty"),
    "whitespace_only": ("error", "whitespace_only"),
    "binary_junk": ("error", "binary"),
    "cp1252": ("warning", "encoding_fallback"),
    "no_decision_section": ("warning", "no_decision_section"),
    "pdf_no_text": ("error", "no_text"),
    "pdf_encrypted": ("error", "encrypted"),
    "pdf_corrupt": ("error", "bad_pdf"),
}
EXAMPLES = 10  # mismatches listed in the report


def run_measured(cmd: list[str], *, cwd: Path, log: Path) -> dict[str, Any]:
    """Run a command; RETURNS its exit status, wall time and peak memory of its process tree."""
    import psutil

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    peak_rss = peak_pss = 0
    samples = 0
    with log.open("w", encoding="utf-8") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=err, stderr=err)
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            rss = pss = 0
            try:
                for p in [root, *root.children(recursive=True)]:
                    try:
                        mem = p.memory_full_info()
                    except (psutil.NoSuchProcess, psutil.AccessDenied):
                        continue
                    rss += mem.rss
                    pss += getattr(mem, "pss", mem.rss)
            except psutil.NoSuchProcess:
                pass
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
            samples += 1
            time.sleep(SAMPLE_SECONDS)
        seconds = time.perf_counter() - t0
    # ru_maxrss of the children is in KiB on Linux: the largest single process waited for
    max_single = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "returncode": proc.returncode,
        "seconds": seconds,
        "peak_rss_tree_mb": peak_rss / 2**20,
        "peak_pss_tree_mb": peak_pss / 2**20,
        "max_rss_single_process_mb": max_single,
        "memory_samples": samples,
    }


def read_errors(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def check(corpus: Path, table_path: Path, errors_path: Path, manifest: dict) -> dict[str, Any]:
    """Compare the table and the errors file with the manifest and truth.jsonl."""
    from imr_nlp.extract import read_table

    truth = {}
    with (corpus / manifest["truth_file"]).open(encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            truth[rec["file"]] = rec
    rows = read_errors(errors_path)
    reported: dict[str, list[tuple[str, str]]] = {}
    for r in rows:
        reported.setdefault(Path(r["path"]).name, []).append((r["level"], r["reason"]))
    table = read_table(table_path) if table_path.is_file() else None
    counts = Counter(table["doc_id"]) if table is not None else Counter()

    unreported, wrong_reason, good_failed, lost = [], [], [], []
    fewer, more = [], []
    for f in manifest["files"]:
        name, broken = f["file"], f["broken"]
        got = reported.get(name, [])
        errors = [reason for level, reason in got if level == "error"]
        if broken:
            want = EXPECTED.get(broken)
            if not got:
                unreported.append(name)
            elif want not in got:
                wrong_reason.append({"file": name, "broken": broken, "reported": got})
        elif errors:
            good_failed.append({"file": name, "reported": got})
        n_truth = len(truth[name]["requests"])
        n_got = counts.get(f["doc_id"], 0)
        if n_got == 0 and not got:
            lost.append(name)  # neither records nor a report: silently lost
        if n_got < n_truth:
            fewer.append({"file": name, "truth": n_truth, "records": n_got})
        elif n_got > n_truth:
            more.append({"file": name, "truth": n_truth, "records": n_got})
    letter_files = {f["file"] for f in manifest["files"]}
    stray = sorted(n for n in reported if n not in letter_files)
    failures = Counter(r["reason"] for r in rows if r["level"] == "error")
    warnings = Counter(r["reason"] for r in rows if r["level"] == "warning")
    n_good = sum(1 for f in manifest["files"] if not f["broken"])
    exact = sum(
        1
        for f in manifest["files"]
        if counts.get(f["doc_id"], 0) == len(truth[f["file"]]["requests"])
    )
    return {
        "broken_files": sum(1 for f in manifest["files"] if f["broken"]),
        "broken_unreported": len(unreported),
        "broken_wrong_reason": len(wrong_reason),
        "good_letters": n_good,
        "good_letters_failed": len(good_failed),
        "letters_lost": len(lost),
        "other_files_reported": stray,
        "failures_by_reason": dict(sorted(failures.items())),
        "warnings_by_reason": dict(sorted(warnings.items())),
        "records": int(sum(counts.values())),
        "truth_items": manifest["n_requests"],
        "letters_with_truth_count": exact,
        "letters_with_fewer_records": len(fewer),
        "letters_with_more_records": len(more),
        "examples": {
            "unreported": unreported[:EXAMPLES],
            "wrong_reason": wrong_reason[:EXAMPLES],
            "good_failed": good_failed[:EXAMPLES],
            "lost": lost[:EXAMPLES],
            "fewer": fewer[:EXAMPLES],
            "more": more[:EXAMPLES],
        },
    }


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"


def report(result: dict[str, Any]) -> str:
    s, run, c = result["settings"], result["run"], result["checks"]
    lines = [
        f"== scale run: {s['n']} generated letters (broken share {s['broken_share']}, "
        f"PDF share {s['pdf_share']}, seed {s['seed']}), "
        f"imr-nlp extract --n-process {s['n_process']}",
        f"corpus written in {result['corpus_seconds']:.1f} s",
        f"extract: exit status {run['returncode']}, {run['seconds']:.1f} s wall "
        f"(pipeline load included) = {result['letters_per_second']:.1f} letters/s",
        f"peak memory: {run['peak_pss_tree_mb']:.0f} MB PSS / {run['peak_rss_tree_mb']:.0f} MB RSS "
        "summed over the process tree; largest single process "
        f"{run['max_rss_single_process_mb']:.0f} MB",
        f"records: {c['records']} (truth items: {c['truth_items']}); letters whose record count "
        f"equals the truth: {c['letters_with_truth_count']}/{s['n']}, fewer: "
        f"{c['letters_with_fewer_records']}, more: {c['letters_with_more_records']}",
        "failed letters by reason: " + _counts(c["failures_by_reason"]),
        "warnings by reason: " + _counts(c["warnings_by_reason"]),
        f"other files reported (not letters): {', '.join(c['other_files_reported']) or 'none'}",
        "checks:",
    ]
    for name, ok, detail in result["verdicts"]:
        lines.append(f"  [{'ok' if ok else 'FAIL'}] {name}: {detail}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--broken-share", type=float, default=0.02)
    ap.add_argument("--pdf-share", type=float, default=0.01)
    ap.add_argument("--n-process", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where the corpus and the table go (default: a temporary folder, removed)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the temporary workdir")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)

    from generate_corpus import write_corpus
    from throughput import machine_facts

    from imr_nlp.io import atomic_write

    temp = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="imr_scale_")) if temp else args.workdir
    corpus = workdir / "corpus"
    if corpus.exists():
        shutil.rmtree(corpus)
    table = workdir / "records.parquet"
    errors = workdir / "records.errors.csv"
    for stale in (table, errors):
        stale.unlink(missing_ok=True)
    try:
        facts = machine_facts()
        print(f"writing {args.n} letters to {corpus} ...", file=sys.stderr)
        manifest = write_corpus(
            corpus,
            n=args.n,
            seed=args.seed,
            broken_share=args.broken_share,
            pdf_share=args.pdf_share,
        )
        cmd = [
            sys.executable,
            "-m",
            "imr_nlp.cli",
            "extract",
            str(corpus),
            "--out",
            str(table),
            "--n-process",
            str(args.n_process),
            "--quiet",
        ]
        print("running: " + " ".join(cmd), file=sys.stderr)
        log = workdir / "extract.log"
        run = run_measured(cmd, cwd=workdir, log=log)
        stderr = log.read_text(encoding="utf-8", errors="replace")
        at = stderr.rfind("letters read:")
        run["summary"] = stderr[at:].strip() if at >= 0 else None
        checks = check(corpus, table, errors, manifest)
    finally:
        if temp and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    has_failures = any(EXPECTED[r][0] == "error" for r in manifest["broken_reasons"])
    crashed = run["returncode"] not in (0, 1) or "Traceback" in stderr
    verdicts = [
        (
            "no crash",
            not crashed,
            f"exit status {run['returncode']}"
            + ("; traceback in the log" if "Traceback" in stderr else ""),
        ),
        (
            "exit status says whether letters failed",
            run["returncode"] == (1 if has_failures else 0),
            f"{run['returncode']} (expected {1 if has_failures else 0})",
        ),
        (
            "every broken file reported with its reason",
            checks["broken_unreported"] == 0 and checks["broken_wrong_reason"] == 0,
            f"{checks['broken_files']} broken, {checks['broken_unreported']} unreported, "
            f"{checks['broken_wrong_reason']} with another reason",
        ),
        (
            "no good letter failed",
            checks["good_letters_failed"] == 0,
            f"{checks['good_letters_failed']} of {checks['good_letters']}",
        ),
        (
            "no letter lost (every letter has records or a report)",
            checks["letters_lost"] == 0,
            f"{checks['letters_lost']} lost",
        ),
    ]
    result = {
        "settings": {
            "n": args.n,
            "broken_share": args.broken_share,
            "pdf_share": args.pdf_share,
            "n_process": args.n_process,
            "seed": args.seed,
            "command": cmd,
            "memory_sampling_seconds": SAMPLE_SECONDS,
        },
        "machine": facts,
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "corpus": {
            k: manifest[k] for k in ("n", "n_requests", "layouts", "broken_reasons", "n_pdf")
        },
        "corpus_seconds": manifest["_seconds"],
        "run": run,
        "letters_per_second": args.n / run["seconds"] if run["seconds"] else None,
        "checks": checks,
        "verdicts": verdicts,
        "ok": all(ok for _, ok, _ in verdicts),
    }
    print(report(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(args.out) as f:
        f.write(json.dumps(result, indent=1) + "\n")
    print(f"written: {args.out}", file=sys.stderr)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
