"""Corpus engines side by side: 1 process, ``--n-process 2``, ``--dask local`` with 1 and 2 workers.

Usage::

    python benchmarks/corpus_bench.py [--real ../shared/real/pdf] [--real-copies 4] \\
        [--n-small 2000] [--n-large 20000] [--repeat 2] [--workdir DIR] [--skip-large] \\
        [--out benchmarks/results/corpus.json]

One run, on the same machine and corpora:

1. the real published letters (PDF, ``--real``), copied ``--real-copies`` times
   into one folder (so that each engine has enough letters to time), and a
   generated corpus of ``--n-small`` letters (``tools/generate_corpus.py``);
   each is run by ``imr-nlp extract ... --out DIR`` (the Parquet dataset) as
   four commands: 1 process, ``--n-process 2``, ``--dask local --dask-workers 1``
   and ``--dask local --dask-workers 2``, round-robin ``--repeat`` times (the
   fastest run of each is kept, all are saved);
2. for each command: letters/s of the run (the time ``extract`` reports, which
   starts once the pipeline is built: in this process, or on every Dask worker),
   the wall time of the whole command, and the peak RSS of the driver process
   alone (the command's own process, not its workers; psutil, every 0.1 s) and
   its CPU time (with ``--dask local`` the driver also hosts the scheduler);
3. driver memory as the corpus grows: the generated corpus at ``--n-small``
   and at ``--n-large`` letters with ``--n-process 2`` and ``--dask local``
   (2 workers); the ratio of the peak driver RSS at the two sizes;
4. every run of a corpus must give the same number of records and failures.

Ratios are taken within this run (speed varies with what else the machine
runs; the load average at start and end is saved). Targets, reported as
PASS/FAIL (a FAIL does not change the exit status; a run that crashes or
disagrees does, status 1):

- ``--dask local`` 2 workers over 1 worker: >= 1.7x letters/s (2 cores);
- driver peak RSS at ``--n-large`` letters <= 1.2x its value at ``--n-small``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# this checkout's imr_nlp first, then the letter generator (tools/)
sys.path[:] = [str(REPO), str(REPO / "tools")] + [
    p for p in sys.path if p and Path(p).resolve() != REPO
]

DEFAULT_OUT = REPO / "benchmarks" / "results" / "corpus.json"
DEFAULT_REAL = REPO.parent / "shared" / "real" / "pdf"
SAMPLE_SECONDS = 0.1
SPEEDUP_TARGET = 1.7
MEMORY_GROWTH_TARGET = 1.2
ENGINES = {
    "1 process": [],
    "--n-process 2": ["--n-process", "2"],
    "--dask local, 1 worker": ["--dask", "local", "--dask-workers", "1"],
    "--dask local, 2 workers": ["--dask", "local", "--dask-workers", "2"],
}
MEMORY_ENGINES = ("--n-process 2", "--dask local, 2 workers")
_SUMMARY = re.compile(
    r"letters read: (\d+).*?records written: (\d+).*?failed letters: (\d+)"
    r".*?time: ([\d.]+) s \(([\d.]+) letters/s\)",
    re.DOTALL,
)


def run_measured(cmd: list[str], *, log: Path) -> dict[str, Any]:
    """Run ``cmd``; its wall time, the driver's peak RSS and the figures ``extract`` reports."""
    import psutil

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    t0 = time.perf_counter()
    with log.open("w") as f:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=f, stderr=f)
        driver = psutil.Process(proc.pid)
        peak = 0
        cpu = 0.0
        while proc.poll() is None:
            try:
                peak = max(peak, driver.memory_info().rss)
                t = driver.cpu_times()
                cpu = t.user + t.system
            except psutil.NoSuchProcess:
                break
            time.sleep(SAMPLE_SECONDS)
        proc.wait()
    wall = time.perf_counter() - t0
    text = log.read_text(errors="replace")
    m = _SUMMARY.search(text)
    out: dict[str, Any] = {
        "command": cmd[2:],
        "returncode": proc.returncode,
        "wall_seconds": round(wall, 2),
        "driver_peak_rss_mb": round(peak / 2**20, 1),
        "driver_cpu_seconds": round(cpu, 2),
    }
    if m is None or proc.returncode not in (0, 1) or "Traceback" in text:
        out["error"] = text[-3000:]
        return out
    letters, records, failed, seconds, _rate = m.groups()
    out.update(
        letters=int(letters),
        records=int(records),
        failed=int(failed),
        run_seconds=float(seconds),
        letters_per_second=round(int(letters) / float(seconds), 2),
    )
    return out


def run_engines(corpus: Path, work: Path, engines: list[str], repeat: int = 1) -> dict[str, Any]:
    """Each engine ``repeat`` times, round-robin (so that a burst of load from elsewhere hits
    all of them alike); per engine the fastest run, with every run's figures under ``all``."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in engines}
    for rep in range(repeat):
        for name in engines:
            out = work / f"out_{re.sub(r'[^a-z0-9]+', '_', name.lower()).strip('_')}"
            shutil.rmtree(out, ignore_errors=True)
            cmd = [
                sys.executable,
                "-m",
                "imr_nlp.cli",
                "extract",
                str(corpus),
                "--out",
                str(out),
                "--quiet",
                *ENGINES[name],
            ]
            print(f"  {name} (run {rep + 1}/{repeat}) ...", flush=True)
            r = run_measured(cmd, log=work / f"{out.name}.log")
            r["load_average"] = list(os.getloadavg())
            runs[name].append(r)
            print(
                f"    {r.get('letters_per_second', 'ERROR')} letters/s, driver "
                f"{r['driver_peak_rss_mb']} MB, wall {r['wall_seconds']} s",
                flush=True,
            )
            shutil.rmtree(out, ignore_errors=True)
    results = {}
    for name, rs in runs.items():
        good = [r for r in rs if "letters_per_second" in r]
        best = dict(max(good, key=lambda r: r["letters_per_second"]) if good else rs[0])
        best["driver_peak_rss_mb"] = max(r["driver_peak_rss_mb"] for r in rs)
        best["all_letters_per_second"] = [r.get("letters_per_second") for r in rs]
        if any("error" in r for r in rs):
            best["error"] = next(r["error"] for r in rs if "error" in r)
        results[name] = best
    return results


def agree(results: dict[str, Any]) -> bool:
    seen = {(r.get("letters"), r.get("records"), r.get("failed")) for r in results.values()}
    return len(seen) == 1 and None not in next(iter(seen))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--real", type=Path, default=DEFAULT_REAL)
    ap.add_argument("--real-copies", type=int, default=4)
    ap.add_argument("--n-small", type=int, default=2000)
    ap.add_argument("--n-large", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=2, help="runs of each engine (fastest kept)")
    ap.add_argument("--skip-large", action="store_true", help="no --n-large memory runs")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)

    import psutil
    from generate_corpus import write_corpus

    from imr_nlp.io import atomic_write

    work = args.workdir or Path(tempfile.mkdtemp(prefix="imr_corpus_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "memory_total_mb": round(psutil.virtual_memory().total / 2**20),
            "load_average_at_start": list(os.getloadavg()),
            "note": "a 2-core machine shared with other agents' work; ratios are within this run",
        },
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "settings": vars(args)
        | {"real": str(args.real), "workdir": str(work), "out": str(args.out)},
        "corpora": {},
        "memory": {},
        "targets": [],
    }
    ok = True

    # 1-2. real PDFs and the small generated corpus, four engines each
    corpora: dict[str, Path] = {}
    pdfs = sorted(args.real.glob("*.pdf")) if args.real.is_dir() else []
    if pdfs:
        real = work / "real"
        for c in range(args.real_copies):
            (real / f"copy{c}").mkdir(parents=True, exist_ok=True)
            for p in pdfs:
                shutil.copyfile(p, real / f"copy{c}" / p.name)
        corpora[f"real PDFs ({len(pdfs)} x {args.real_copies})"] = real
    small = work / f"generated_{args.n_small}"
    write_corpus(small, n=args.n_small, seed=0)
    corpora[f"generated ({args.n_small})"] = small
    for name, folder in corpora.items():
        print(f"{name}:", flush=True)
        runs = run_engines(folder, work, list(ENGINES), args.repeat)
        one, two = runs["--dask local, 1 worker"], runs["--dask local, 2 workers"]
        entry: dict[str, Any] = {"runs": runs, "agree": agree(runs)}
        if "letters_per_second" in one and "letters_per_second" in two:
            entry["dask_speedup_2_over_1"] = round(
                two["letters_per_second"] / one["letters_per_second"], 3
            )
        base, fork = runs["1 process"], runs["--n-process 2"]
        if "letters_per_second" in base and "letters_per_second" in fork:
            entry["n_process_speedup_2_over_1"] = round(
                fork["letters_per_second"] / base["letters_per_second"], 3
            )
        ok &= entry["agree"] and all("error" not in r for r in runs.values())
        result["corpora"][name] = entry
        sp = entry.get("dask_speedup_2_over_1")
        result["targets"].append(
            {
                "target": f"{name}: --dask local 2 workers / 1 worker letters/s",
                "value": sp,
                "threshold": f">= {SPEEDUP_TARGET}",
                "pass": sp is not None and sp >= SPEEDUP_TARGET,
            }
        )

    # 3. driver memory as the corpus grows
    if not args.skip_large:
        large = work / f"generated_{args.n_large}"
        write_corpus(large, n=args.n_large, seed=0)
        print(f"generated ({args.n_large}):", flush=True)
        big = run_engines(large, work, list(MEMORY_ENGINES))
        small_runs = result["corpora"][f"generated ({args.n_small})"]["runs"]
        for name in MEMORY_ENGINES:
            a, b = small_runs[name], big[name]
            growth = round(b["driver_peak_rss_mb"] / a["driver_peak_rss_mb"], 3)
            result["memory"][name] = {
                f"driver_peak_rss_mb_at_{args.n_small}": a["driver_peak_rss_mb"],
                f"driver_peak_rss_mb_at_{args.n_large}": b["driver_peak_rss_mb"],
                "growth": growth,
                "run_at_large": b,
            }
            ok &= "error" not in b
            result["targets"].append(
                {
                    "target": f"{name}: driver peak RSS at {args.n_large} / at {args.n_small} letters",
                    "value": growth,
                    "threshold": f"<= {MEMORY_GROWTH_TARGET}",
                    "pass": growth <= MEMORY_GROWTH_TARGET,
                }
            )
        shutil.rmtree(large, ignore_errors=True)

    result["machine"]["load_average_at_end"] = list(os.getloadavg())
    result["ok"] = bool(ok)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(args.out) as f:
        json.dump(result, f, indent=2)
    print("\ntargets:")
    for t in result["targets"]:
        print(
            f"  {'PASS' if t['pass'] else 'FAIL'}  {t['target']}: {t['value']} ({t['threshold']})"
        )
    print(f"ok: {ok}; results in {args.out}")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
