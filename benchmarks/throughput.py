"""Throughput, load time, memory and multiprocessing benchmark of ``imr_nlp.load()``.

Usage::

    python benchmarks/throughput.py [--n 500] [--generated 500] \\
        [--n-process-letters 1000] [--out benchmarks/results/throughput.json] [--quick]

One run measures, on the same corpora (the seed letters repeated to ``--n``
letters, and ``--generated`` letters from ``tools/generate_corpus.py``):

* letters/s and tokens/s of ``spacy.blank("en")`` (tokenizer only) and of the
  full ``imr_nlp.load()`` pipeline (records included), and their ratio;
* the time share of the tokenizer and of each pipeline component;
* the time of ``import imr_nlp; imr_nlp.load()`` in a fresh process (x3);
* the peak resident memory of a fresh process that loads the pipeline and
  runs ``--n`` seed letters;
* the speedup of ``nlp.pipe(n_process=2)`` over ``n_process=1``.

It prints a report and writes the same figures to a JSON file (atomically).
A measurement that fails is reported as an error (in the report and under
``"errors"`` in the JSON) and the script exits with status 1; a target that
is missed is reported as FAIL but does not change the exit status.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# this checkout's imr_nlp first, then the letter generator (tools/)
sys.path[:] = [str(REPO), str(REPO / "tools")] + [
    p for p in sys.path if p and Path(p).resolve() != REPO
]

DEFAULT_SEEDS = Path(os.environ.get("IMR_SEEDS_DIR", "/work/shared/seeds"))
DEFAULT_OUT = REPO / "benchmarks" / "results" / "throughput.json"
BATCH_SIZE = 50
WARMUP_LETTERS = 5
GENERATOR_SEED = 0
SCHEMA_VERSION = 1

# Targets: (key, description, comparison, threshold).
TARGETS = (
    ("ratio_full_over_blank", "ratio full/blank letters/s (seeds, 1 process)", ">=", 0.5),
    ("load_seconds_max", "load time, fresh process (max of 3), s", "<=", 2.0),
    ("peak_memory_mb", "peak resident memory, MB", "<", 600.0),
    ("n_process_speedup", "nlp.pipe n_process=2 speedup over n_process=1", ">=", 1.6),
    (
        "records_speedup",
        "records path (imr_nlp.parallel.pipe_records) 2 processes over 1",
        ">=",
        1.6,
    ),
)

LOAD_CODE = (
    "import time; t=time.perf_counter(); import imr_nlp; nlp=imr_nlp.load(); "
    "print(time.perf_counter()-t)"
)

MEMORY_CODE = r"""
import resource, sys
from pathlib import Path
import imr_nlp
n = int(sys.argv[1]); seeds_dir = Path(sys.argv[2]); batch_size = int(sys.argv[3])
seeds = [p.read_text(encoding="utf-8") for p in sorted(seeds_dir.glob("*.txt"))]
texts = [seeds[i % len(seeds)] for i in range(n)]
nlp = imr_nlp.load()
count = 0
for doc in nlp.pipe(texts, batch_size=batch_size):
    count += 1
assert count == n, (count, n)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


# --------------------------------------------------------------------------
# Corpora
# --------------------------------------------------------------------------


def read_seeds(seeds_dir: Path) -> list[str]:
    paths = sorted(Path(seeds_dir).glob("*.txt"))
    if not paths:
        raise FileNotFoundError(f"no seed letters (*.txt) in {seeds_dir}")
    return [p.read_text(encoding="utf-8") for p in paths]


def repeat_to(texts: list[str], n: int) -> list[str]:
    """``texts`` cycled to exactly ``max(n, len(texts))`` letters."""
    n = max(n, len(texts))
    return [texts[i % len(texts)] for i in range(n)]


def generated_texts(n: int, seed: int = GENERATOR_SEED) -> list[str]:
    from generate_corpus import generate_letters

    letters = generate_letters(n, seed)
    texts = [letter.text for letter in letters]
    if len(texts) != n or not all(isinstance(t, str) and t for t in texts):
        raise ValueError(f"generate_letters({n}, {seed}) did not give {n} non-empty texts")
    return texts


def mix(seeds: list[str], generated: list[str], n: int) -> list[str]:
    """``n`` letters alternating generated letters and seed letters (both cycled)."""
    out = []
    for i in range(n):
        source = generated if i % 2 == 0 else seeds
        out.append(source[(i // 2) % len(source)])
    return out


# --------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------


def run_pipe(nlp, texts: list[str], **kwargs) -> tuple[float, int, int]:
    """Seconds, letters and tokens of one ``nlp.pipe`` pass over ``texts``."""
    letters = tokens = 0
    t0 = time.perf_counter()
    for doc in nlp.pipe(texts, **kwargs):
        letters += 1
        tokens += len(doc)
    seconds = time.perf_counter() - t0
    if letters != len(texts):
        raise RuntimeError(f"nlp.pipe gave {letters} docs for {len(texts)} texts")
    return seconds, letters, tokens


def best_of(nlp, texts: list[str], repeats: int, warmup: bool = True, **kwargs) -> dict[str, Any]:
    """Warm up once on a few letters, then time ``repeats`` passes; keep the best."""
    if warmup:
        run_pipe(
            nlp, texts[:WARMUP_LETTERS], **{k: v for k, v in kwargs.items() if k != "n_process"}
        )
    runs = [run_pipe(nlp, texts, **kwargs) for _ in range(repeats)]
    seconds = [r[0] for r in runs]
    best = min(seconds)
    letters, tokens = runs[0][1], runs[0][2]
    return {
        "letters": letters,
        "tokens": tokens,
        "seconds_runs": seconds,
        "seconds_best": best,
        "letters_per_second": letters / best,
        "tokens_per_second": tokens / best,
    }


def component_times(nlp, texts: list[str]) -> dict[str, Any]:
    """Seconds spent in the tokenizer and in each component's ``__call__``, summed over ``texts``."""
    names = ["tokenizer"] + list(nlp.pipe_names)
    totals = dict.fromkeys(names, 0.0)
    perf = time.perf_counter
    for text in texts[:WARMUP_LETTERS]:  # warm-up
        doc = nlp.make_doc(text)
        for _, proc in nlp.pipeline:
            doc = proc(doc)
    for text in texts:
        t0 = perf()
        doc = nlp.make_doc(text)
        t1 = perf()
        totals["tokenizer"] += t1 - t0
        for name, proc in nlp.pipeline:
            t0 = perf()
            doc = proc(doc)
            totals[name] += perf() - t0
    total = sum(totals.values())
    return {
        "letters": len(texts),
        "total_seconds": total,
        "components": {
            name: {"seconds": s, "percent": 100.0 * s / total if total else 0.0}
            for name, s in totals.items()
        },
    }


def _subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return env


def load_times(runs: int = 3, timeout: float = 300) -> dict[str, Any]:
    seconds = []
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-c", LOAD_CODE],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=_subprocess_env(),
            timeout=timeout,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"load subprocess failed (rc={proc.returncode}): {proc.stderr.strip()[-2000:]}"
            )
        seconds.append(float(proc.stdout.strip().splitlines()[-1]))
    return {
        "seconds_runs": seconds,
        "seconds_max": max(seconds),
        "note": "fresh process; includes the import of imr_nlp and spaCy and building the pipeline",
    }


def peak_memory(n: int, seeds_dir: Path, timeout: float = 1800) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", MEMORY_CODE, str(n), str(seeds_dir), str(BATCH_SIZE)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=_subprocess_env(),
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"memory subprocess failed (rc={proc.returncode}): {proc.stderr.strip()[-2000:]}"
        )
    kb = int(proc.stdout.strip().splitlines()[-1])
    return {
        "letters": n,
        "max_rss_kb": kb,
        "max_rss_mb": kb / 1024.0,
        "note": "fresh process: import, imr_nlp.load(), nlp.pipe over the seed letters; "
        "ru_maxrss of RUSAGE_SELF (KB on Linux)",
    }


def records_speedup(nlp, texts: list[str], repeats: int) -> dict[str, Any]:
    """The path imr-nlp extract takes: workers return records, not Docs."""
    from imr_nlp.parallel import pipe_records

    items = [(t, {"doc_id": str(i)}) for i, t in enumerate(texts)]

    def rate(n_process: int) -> float:
        best = 0.0
        for _ in range(repeats):
            t0 = time.perf_counter()
            n = sum(
                1 for _ in pipe_records(items, nlp=nlp, n_process=n_process, batch_size=BATCH_SIZE)
            )
            best = max(best, n / (time.perf_counter() - t0))
        return best

    one, two = rate(1), rate(2)
    return {
        "letters": len(texts),
        "batch_size": BATCH_SIZE,
        "one_process_letters_per_second": one,
        "two_processes_letters_per_second": two,
        "speedup": two / one,
        "note": "best of repeats; 2 processes include forking the workers on each pass",
    }


def n_process_speedup(nlp, texts: list[str], repeats: int) -> dict[str, Any]:
    one = best_of(nlp, texts, repeats, n_process=1, batch_size=BATCH_SIZE)
    two = best_of(nlp, texts, repeats, warmup=False, n_process=2, batch_size=BATCH_SIZE)
    return {
        "letters": len(texts),
        "batch_size": BATCH_SIZE,
        "n_process_1": one,
        "n_process_2": two,
        "speedup": two["letters_per_second"] / one["letters_per_second"],
        "note": "n_process=2 includes starting the worker processes on each pass",
    }


# --------------------------------------------------------------------------
# Facts, targets, report
# --------------------------------------------------------------------------


def machine_facts() -> dict[str, Any]:
    import spacy

    facts: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "spacy": spacy.__version__,
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "git_commit": None,
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    try:
        from importlib.metadata import version

        import medspacy  # noqa: F401

        facts["medspacy"] = version("medspacy")
    except Exception:
        facts["medspacy"] = None
    try:
        import psutil

        facts["cpu_count_physical"] = psutil.cpu_count(logical=False)
        facts["memory_total_mb"] = psutil.virtual_memory().total / 2**20
    except Exception:
        pass
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=REPO, timeout=30
        )
        if proc.returncode == 0:
            facts["git_commit"] = proc.stdout.strip()
            dirty = subprocess.run(
                ["git", "status", "--porcelain"],
                capture_output=True,
                text=True,
                cwd=REPO,
                timeout=30,
            )
            facts["git_dirty"] = bool(dirty.stdout.strip()) if dirty.returncode == 0 else None
    except Exception:
        pass
    return facts


def _get(d: dict, *path: str) -> float | None:
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d if isinstance(d, (int, float)) else None


def evaluate_targets(result: dict[str, Any]) -> dict[str, Any]:
    measured = {
        "ratio_full_over_blank": _get(result, "corpora", "seeds", "ratio_full_over_blank"),
        "load_seconds_max": _get(result, "load", "seconds_max"),
        "peak_memory_mb": _get(result, "peak_memory", "max_rss_mb"),
        "n_process_speedup": _get(result, "n_process", "speedup"),
        "records_speedup": _get(result, "records_path", "speedup"),
    }
    out = {}
    for key, desc, op, threshold in TARGETS:
        value = measured[key]
        if value is None:
            status = "ERROR"
        else:
            ok = {">=": value >= threshold, "<=": value <= threshold, "<": value < threshold}[op]
            status = "PASS" if ok else "FAIL"
        out[key] = {
            "description": desc,
            "op": op,
            "threshold": threshold,
            "measured": value,
            "status": status,
        }
    return out


def _fmt(x: Any, spec: str = ",.1f") -> str:
    return format(x, spec) if isinstance(x, (int, float)) else "n/a"


def report(result: dict[str, Any]) -> str:
    lines: list[str] = []
    add = lines.append
    m = result["machine"]
    s = result["settings"]
    add(
        "imr_nlp throughput benchmark"
        + (" (QUICK mode: small sizes, 1 repeat)" if s["quick"] else "")
    )
    add(
        f"  {m.get('date')}  python {m.get('python')}  spaCy {m.get('spacy')}  medspaCy {m.get('medspacy')}  "
        f"cpus {m.get('cpu_count')}  "
        f"loadavg {_fmt((m.get('load_average_at_start') or [None])[0], '.2f')}  "
        f"commit {(m.get('git_commit') or 'n/a')[:12]}"
        + ("  (uncommitted changes)" if m.get("git_dirty") else "")
    )
    add(
        f"  timings: best of {s['repeats']} run(s) after a warm-up on {WARMUP_LETTERS} letters; "
        f"nlp.pipe batch_size={s['batch_size']}"
    )
    add("")
    add("Throughput (single process)")
    add(
        f"  {'corpus':<10} {'letters':>7} {'pipeline':<28} {'letters/s':>10} {'tokens/s':>11} {'best s':>8}"
    )
    for cname, c in result["corpora"].items():
        if "error" in c:
            add(f"  {cname:<10} ERROR: {c['error']}")
            continue
        for key, label in (
            ("blank", 'spacy.blank("en") tokenizer'),
            ("full", "imr_nlp.load() full"),
        ):
            r = c.get(key)
            if not isinstance(r, dict):
                continue
            add(
                f"  {cname:<10} {r['letters']:>7} {label:<28} {_fmt(r['letters_per_second']):>10} "
                f"{_fmt(r['tokens_per_second'], ',.0f'):>11} {_fmt(r['seconds_best'], '.3f'):>8}"
            )
        add(
            f"  {cname:<10} ratio full/blank (letters/s): {_fmt(c.get('ratio_full_over_blank'), '.4f')}"
        )
    add("")
    add("Time per component (tokenizer, then each pipe's __call__, one pass, summed over letters)")
    for cname, c in result["components"].items():
        if "error" in c:
            add(f"  {cname}: ERROR: {c['error']}")
            continue
        add(f"  {cname} ({c['letters']} letters, total {c['total_seconds']:.3f} s):")
        for name, v in sorted(c["components"].items(), key=lambda kv: -kv[1]["seconds"]):
            add(f"    {name:<20} {v['seconds']:>9.3f} s  {v['percent']:>5.1f} %")
    add("")
    ld = result["load"]
    if "error" in ld:
        add(f"Load time: ERROR: {ld['error']}")
    else:
        add(
            "Load time, fresh process (includes importing imr_nlp and spaCy): "
            + ", ".join(f"{x:.2f} s" for x in ld["seconds_runs"])
            + f"; max {ld['seconds_max']:.2f} s"
        )
    pm = result["peak_memory"]
    if "error" in pm:
        add(f"Peak memory: ERROR: {pm['error']}")
    else:
        add(
            f"Peak resident memory, fresh process loading the pipeline and running {pm['letters']} seed letters: "
            f"{pm['max_rss_mb']:.1f} MB"
        )
    npx = result["n_process"]
    if "error" in npx:
        add(f"n_process: ERROR: {npx['error']}")
    else:
        add(
            f"n_process on {npx['letters']} letters (generated + seeds, batch_size={npx['batch_size']}): "
            f"n_process=1 {npx['n_process_1']['letters_per_second']:.1f} letters/s, "
            f"n_process=2 {npx['n_process_2']['letters_per_second']:.1f} letters/s, "
            f"speedup {npx['speedup']:.2f}x"
        )
    rp = result.get("records_path", {})
    if "error" in rp:
        add(f"records path: ERROR: {rp['error']}")
    elif rp:
        add(
            f"records path (imr-nlp extract) on {rp['letters']} letters: 1 process "
            f"{rp['one_process_letters_per_second']:.1f} letters/s, 2 processes "
            f"{rp['two_processes_letters_per_second']:.1f} letters/s, speedup {rp['speedup']:.2f}x"
        )
    if result["errors"]:
        add("")
        add("ERRORS")
        for k, v in result["errors"].items():
            add(f"  {k}: {v.splitlines()[-1] if v else v}")
    add("")
    add("Targets")
    for t in result["targets"].values():
        add(
            f"  {t['status']:<5} {t['description']}: measured {_fmt(t['measured'], '.3f')} "
            f"(target {t['op']} {t['threshold']})"
        )
    return "\n".join(lines)


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=None, help="seed letters (repeated), default 500")
    p.add_argument("--generated", type=int, default=None, help="generated letters, default 500")
    p.add_argument(
        "--n-process-letters",
        type=int,
        default=None,
        help="letters for the n_process test, default 1000",
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output file")
    p.add_argument(
        "--seeds", type=Path, default=DEFAULT_SEEDS, help="folder of seed letters (*.txt)"
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="timed passes per measurement (best kept), default 3",
    )
    p.add_argument("--quick", action="store_true", help="small sizes and one repeat (for tests)")
    args = p.parse_args(argv)
    small = {"n": 30, "generated": 30, "n_process_letters": 60, "repeats": 1}
    full = {"n": 500, "generated": 500, "n_process_letters": 1000, "repeats": 3}
    for key, value in (small if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    for key in ("n", "generated", "n_process_letters", "repeats"):
        if getattr(args, key) < 1:
            p.error(f"--{key.replace('_', '-')} must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    errors: dict[str, str] = {}

    def attempt(section: str, fn: Callable[[], Any]) -> Any:
        print(f"[throughput] {section} ...", file=sys.stderr, flush=True)
        try:
            return fn()
        except Exception as e:  # a failed measurement is reported, not hidden
            errors[section] = "".join(traceback.format_exception_only(type(e), e)).strip()
            traceback.print_exc(file=sys.stderr)
            lines = [ln for ln in errors[section].splitlines() if ln.strip()]
            return {"error": lines[-1] if lines else type(e).__name__}

    result: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "settings": {
            "quick": args.quick,
            "n": args.n,
            "generated": args.generated,
            "n_process_letters": args.n_process_letters,
            "repeats": args.repeats,
            "timing": f"best of {args.repeats} timed pass(es) with time.perf_counter, after one warm-up "
            f"on {WARMUP_LETTERS} letters",
            "batch_size": BATCH_SIZE,
            "generator_seed": GENERATOR_SEED,
            "seeds_dir": str(args.seeds),
        },
        "machine": machine_facts(),
    }

    import spacy

    seeds = attempt("seeds", lambda: read_seeds(args.seeds))
    gen = attempt(
        "generated_corpus",
        lambda: generated_texts(max(args.generated, args.n_process_letters // 2)),
    )
    corpora: dict[str, Any] = {}
    if isinstance(seeds, list):
        corpora["seeds"] = repeat_to(seeds, args.n)
    if isinstance(gen, list):
        corpora["generated"] = gen[: args.generated]
    result["settings"]["n_seed_files"] = len(seeds) if isinstance(seeds, list) else None

    blank = spacy.blank("en")
    nlp = attempt("load_in_process", lambda: __import__("imr_nlp").load())
    if isinstance(nlp, dict):
        nlp = None
    else:
        result["settings"]["pipe_names"] = list(nlp.pipe_names)

    def need_nlp():
        if nlp is None:
            raise RuntimeError("imr_nlp.load() failed in this process (see errors.load_in_process)")
        return nlp

    result["corpora"] = {}
    result["components"] = {}
    for cname in ("seeds", "generated"):
        texts = corpora.get(cname)
        if texts is None:
            msg = f"corpus {cname!r} unavailable"
            result["corpora"][cname] = {"error": msg}
            result["components"][cname] = {"error": msg}
            errors.setdefault(f"corpus_{cname}", msg)
            continue
        entry: dict[str, Any] = {"letters": len(texts), "chars": sum(map(len, texts))}
        entry["blank"] = attempt(
            f"{cname}.blank",
            lambda texts=texts: best_of(blank, texts, args.repeats, batch_size=BATCH_SIZE),
        )
        entry["full"] = attempt(
            f"{cname}.full",
            lambda texts=texts: best_of(need_nlp(), texts, args.repeats, batch_size=BATCH_SIZE),
        )
        b, f = _get(entry, "blank", "letters_per_second"), _get(entry, "full", "letters_per_second")
        entry["ratio_full_over_blank"] = f / b if b and f else None
        result["corpora"][cname] = entry
        result["components"][cname] = attempt(
            f"{cname}.components", lambda texts=texts: component_times(need_nlp(), texts)
        )

    result["load"] = attempt("load", load_times)
    result["peak_memory"] = attempt("peak_memory", lambda: peak_memory(args.n, args.seeds))

    def _np():
        if not isinstance(seeds, list) or not isinstance(gen, list):
            raise RuntimeError("seed or generated corpus unavailable")
        return n_process_speedup(need_nlp(), mix(seeds, gen, args.n_process_letters), args.repeats)

    result["n_process"] = attempt("n_process", _np)

    def _rp():
        if not isinstance(seeds, list) or not isinstance(gen, list):
            raise RuntimeError("seed or generated corpus unavailable")
        return records_speedup(need_nlp(), mix(seeds, gen, args.n_process_letters), args.repeats)

    result["records_path"] = attempt("records_path", _rp)
    result["errors"] = errors
    result["targets"] = evaluate_targets(result)

    text = report(result)
    print(text)
    write_json_atomic(args.out, result)
    print(f"\nwrote {args.out}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
