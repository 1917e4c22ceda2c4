"""The throughput benchmark script runs end to end and writes a complete JSON report.

Only the shape of the output is checked; speed is never asserted here.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "throughput.py"


def _positive(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0


def _throughput(r: dict) -> None:
    assert r["letters"] > 0 and r["tokens"] > 0
    for key in ("seconds_best", "letters_per_second", "tokens_per_second"):
        assert _positive(r[key]), (key, r[key])
    assert r["seconds_runs"] and all(_positive(s) for s in r["seconds_runs"])


def test_quick_benchmark_writes_complete_json(tmp_path):
    out = tmp_path / "t.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Targets" in proc.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert not list(tmp_path.glob("*.tmp"))  # written atomically, no temp file left

    assert data["errors"] == {}
    assert data["settings"]["quick"] is True

    m = data["machine"]
    assert _positive(m["cpu_count"])
    for key in ("python", "spacy", "date"):
        assert isinstance(m[key], str) and m[key]
    assert "git_commit" in m

    for corpus in ("seeds", "generated"):
        c = data["corpora"][corpus]
        assert c["letters"] > 0
        _throughput(c["blank"])
        _throughput(c["full"])
        assert _positive(c["ratio_full_over_blank"])

        comp = data["components"][corpus]
        assert _positive(comp["total_seconds"])
        names = set(comp["components"])
        assert {"tokenizer", "imr_entities", "imr_requests"} <= names
        for v in comp["components"].values():
            assert _positive(v["seconds"]) and _positive(v["percent"])
        assert abs(sum(v["percent"] for v in comp["components"].values()) - 100) < 1e-6

    load = data["load"]
    assert len(load["seconds_runs"]) == 3 and all(_positive(s) for s in load["seconds_runs"])
    assert load["seconds_max"] == max(load["seconds_runs"])

    assert _positive(data["peak_memory"]["max_rss_mb"])

    npx = data["n_process"]
    assert npx["letters"] > 0
    _throughput(npx["n_process_1"])
    _throughput(npx["n_process_2"])
    assert _positive(npx["speedup"])

    targets = data["targets"]
    assert set(targets) == {
        "ratio_full_over_blank",
        "load_seconds_max",
        "peak_memory_mb",
        "n_process_speedup",
        "records_speedup",
    }
    rp = data["records_path"]
    assert rp["letters"] > 0 and _positive(rp["speedup"])
    for t in targets.values():
        assert t["status"] in ("PASS", "FAIL")  # not ERROR; PASS/FAIL itself is not asserted
        assert _positive(t["measured"])
