"""One corpus run: list the letters, name them, run batches on an engine, commit partitions."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..errors import Errors
from ..io import input_root, letter_ids
from .dataset import DatasetWriter, provenance, read_errors
from .work import Task, error_row

DEFAULT_PART_SIZE = 500


def default_batch_size(n_letters: int, n_workers: int) -> int:
    """Letters per task: large enough that Dask's ~2 ms per task is small next to ~20-100 ms
    a letter, small enough that every worker gets at least 4 tasks."""
    return max(1, min(16, -(-n_letters // max(1, 4 * n_workers))))


def make_tasks(files: list[Path], given: Any) -> list[Task]:
    """One ``Task`` per letter, with its ``doc_id`` by the rule of ``io.letter_ids``."""
    paths: list[Any] = [given] if isinstance(given, (str, os.PathLike)) else list(given)
    ids = letter_ids(files, input_root(paths))
    return [Task(str(p), os.path.realpath(p), i) for p, i in zip(files, ids, strict=True)]


def run_corpus(
    paths: Any,
    folder: str | Path,
    engine: Any,
    *,
    exclude: Iterable[str | Path] = (),
    resume: bool = False,
    part_size: int = DEFAULT_PART_SIZE,
    batch_size: int | None = None,
    n_workers: int = 1,
    progress: bool = False,
):
    """Run a corpus into the dataset ``folder`` and summarise it.

    engine: has ``run(batches) -> iterator of (batch id, result)`` in any order.
    RETURNS (extract.Summary): counts, failures and warnings (read back from the dataset).
    """
    from ..extract import Summary, list_inputs

    t0 = time.perf_counter()
    files, others = list_inputs(paths, exclude=exclude)
    writer = DatasetWriter(folder, resume=resume, meta=provenance())
    writer.start()
    tasks = make_tasks(files, paths)
    keys = {t.key for t in tasks}
    resumed = len(writer.done & keys)
    todo = [t for t in tasks if t.key not in writer.done]
    batch_size = batch_size or default_batch_size(len(todo), n_workers)
    part_size = max(part_size, batch_size)
    groups = [todo[i : i + part_size] for i in range(0, len(todo), part_size)]
    n_batches = [-(-len(g) // batch_size) for g in groups]
    first = writer.next_part
    bar = _progress(len(todo), progress)

    def batches() -> Iterator[tuple[tuple[int, int], list[Task]]]:
        for k, g in enumerate(groups):
            for j in range(n_batches[k]):
                yield (k, j), g[j * batch_size : (j + 1) * batch_size]

    got: dict[int, dict[int, dict]] = {}
    for (k, j), result in engine.run(batches()):
        part = got.setdefault(k, {})
        if j in part:  # never expected: each batch gives one result
            continue
        part[j] = result
        bar.update(len(result["done"]))
        if len(part) == n_batches[k]:
            del got[k]
            ordered = [part[i] for i in range(n_batches[k])]
            writer.write_partition(
                first + k,
                [r for res in ordered for r in res["records"]],
                [e for res in ordered for e in res["errors"]],
                [key for res in ordered for key in res["done"]],
            )
    bar.close()
    inputs = []
    # Never expected; a safety net so that a lost letter is reported, not silent.
    for t in tasks:
        if t.key not in writer.done:
            msg = Errors.E019.format(path=t.path, stage="processing", detail="no result")
            inputs.append(error_row(t, "error", "not_processed", msg))
    for p in others:
        inputs.append(
            {
                "source_path": str(p),
                "doc_id": None,
                "level": "warning",
                "reason": "unsupported",
                "message": Errors.E014.format(path=p, suffix=p.suffix),
            }
        )
    writer.write_input_errors(inputs)
    summary = Summary(out=str(folder), errors_file=str(Path(folder) / "_errors"))
    errors = read_errors(folder)
    for row in errors.itertuples(index=False):
        target = summary.failures if row.level == "error" else summary.warnings
        target.append({"path": row.source_path, "reason": row.reason, "message": row.message})
    summary.letters = len(writer.done & keys)
    summary.records = writer.n_records
    summary.resumed = resumed
    summary.seconds = time.perf_counter() - t0
    writer.finish(
        {
            "letters": summary.letters,
            "records": summary.records,
            "failed": len(summary.failures),
            "warnings": len(summary.warnings),
        }
    )
    return summary


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="letter", disable=not enabled, file=sys.stderr, smoothing=0.1)
