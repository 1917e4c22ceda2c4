"""Letters on disk to one table of records, for whole corpora.

``extract(paths, out)`` reads ``.txt`` and ``.pdf`` letters, runs the pipeline
with ``nlp.pipe`` (optionally on several processes), and writes one row per
disputed item as CSV, JSONL or Parquet, chosen by the suffix of ``out``.

Nothing is lost and nothing is half-written:

- a letter that cannot be read (empty, binary, encrypted or text-less PDF,
  ...) is reported with its reason and the run goes on; a letter read but
  without a decision section is reported as a warning;
- results are committed as they come in part files next to the output
  (``<out>.parts/part-NNNNN.jsonl``, each written atomically); the table is
  written once, atomically, at the end, and the parts are removed. A killed
  run therefore leaves no output table, and ``resume=True`` continues from the
  committed parts without duplicate or lost records;
- texts longer than ``nlp.max_length`` (a month of letters in one file) are
  split at the title that starts each letter; a piece still too long is
  reported as ``too_long`` (E016), never cut at an arbitrary point.
"""

import json
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from .errors import Errors, ImrError, InputError
from .io import atomic_write, iter_letter_paths, read_letter
from .records import FIELDS

FORMATS = (".csv", ".jsonl", ".parquet")
LIST_FIELDS = ("reviewer_states", "reviewer_specialties", "diagnoses", "warnings")
_LETTER_START = re.compile(
    r"(?m)^[ \t]*(?:HOW THE IMR FINAL DETERMINATION WAS MADE|INDEPENDENT MEDICAL REVIEW DECISION AND RATIONALE)"
)


@dataclass
class Summary:
    """What a run did: counts, failures by reason, speed."""

    letters: int = 0
    records: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    resumed: int = 0
    seconds: float = 0.0
    out: str | None = None

    @property
    def failures_by_reason(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.failures + self.warnings:
            out[f["reason"]] = out.get(f["reason"], 0) + 1
        return dict(sorted(out.items()))

    def report(self) -> str:
        rate = self.letters / self.seconds if self.seconds else 0.0
        lines = [
            f"letters read: {self.letters} ({self.resumed} from an earlier run)",
            f"records written: {self.records} -> {self.out}",
            f"failed letters: {len(self.failures)}; letters without records: {len(self.warnings)}",
            f"time: {self.seconds:.1f} s ({rate:.1f} letters/s)",
        ]
        for reason, n in self.failures_by_reason.items():
            lines.append(f"  {reason}: {n}")
        return "\n".join(lines)


def split_letters(text: str, max_length: int) -> list[str]:
    """Split a text longer than ``max_length`` at the titles that start IMR letters.

    RETURNS (list[str]): the pieces, in order (the text itself if it is short enough).
    """
    if len(text) <= max_length:
        return [text]
    starts = [m.start() for m in _LETTER_START.finditer(text)]
    if not starts or starts[0] != 0:
        starts = [0] + starts
    return [text[s:e] for s, e in zip(starts, starts[1:] + [len(text)]) if text[s:e].strip()]


def _letters(paths: list[Path], done: set[str], max_length: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (text, context) for each letter; failures as (None, context)."""
    for path in paths:
        key = str(path)
        if key in done:
            continue
        try:
            letter = read_letter(path)
        except InputError as e:
            yield "", {"path": key, "doc_id": path.stem, "error": {"reason": e.reason, "message": str(e)}}
            continue
        pieces = split_letters(letter.text, max_length)
        for i, piece in enumerate(pieces):
            doc_id = letter.doc_id if len(pieces) == 1 else f"{letter.doc_id}#{i + 1}"
            ctx = {"path": key, "doc_id": doc_id, "last": i == len(pieces) - 1}
            if len(piece) > max_length:
                msg = Errors.E016.format(length=len(piece), max_length=max_length)
                yield "", {**ctx, "error": {"reason": "too_long", "message": msg}}
            else:
                yield piece, ctx


def extract(
    paths: str | Path | Iterable[str | Path],
    out: str | Path,
    *,
    nlp: Any = None,
    n_process: int = 1,
    batch_size: int = 32,
    resume: bool = False,
    part_size: int = 200,
    progress: bool = True,
) -> Summary:
    """Extract the records of many letters into one table.

    paths (str | Path | Iterable): files and folders of .txt / .pdf letters.
    out (str | Path): the table; its suffix (.csv, .jsonl, .parquet) picks the format.
    nlp (Language | None): the pipeline; ``imr_nlp.load()`` when None.
    n_process (int): processes for ``nlp.pipe``.
    batch_size (int): letters per batch.
    resume (bool): continue a killed run from its committed part files.
    part_size (int): letters per committed part file.
    progress (bool): show a progress bar with letters per second (stderr).
    RETURNS (Summary): counts, failures by reason and speed.
    """
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise ImrError(Errors.E020.format(suffix=out.suffix))
    t0 = time.perf_counter()
    files = iter_letter_paths(paths)
    parts_dir = out.with_name(out.name + ".parts")
    done: set[str] = set()
    if parts_dir.exists() and not resume:
        shutil.rmtree(parts_dir)
    parts_dir.mkdir(parents=True, exist_ok=True)
    for part in sorted(parts_dir.glob("part-*.jsonl")):
        for row in _read_part(part):
            if row.get("last", True):
                done.add(row["path"])
    resumed = len(done)
    if nlp is None:
        from . import load

        nlp = load()
    bar = _progress(len(files) - resumed, progress)
    buffer: list[dict[str, Any]] = []
    n_part = len(list(parts_dir.glob("part-*.jsonl")))
    stream = _letters(files, done, nlp.max_length)
    good = ((t, c) for t, c in stream if not _route_failure(t, c, buffer))
    for doc, ctx in nlp.pipe(good, as_tuples=True, n_process=n_process, batch_size=batch_size):
        records = doc._.requests or []
        for r in records:
            r["doc_id"] = ctx["doc_id"]
        buffer.append({**ctx, "records": records})
        if ctx.get("last", True):
            bar.update(1)
        if len(buffer) >= part_size and buffer[-1].get("last", True):
            n_part += 1
            _write_part(parts_dir, n_part, buffer)
            buffer = []
    if buffer:
        n_part += 1
        _write_part(parts_dir, n_part, buffer)
    bar.close()
    summary = _finish(files, parts_dir, out)
    summary.resumed = resumed
    summary.seconds = time.perf_counter() - t0
    return summary


def _route_failure(text: str, ctx: dict[str, Any], buffer: list[dict[str, Any]]) -> bool:
    if "error" in ctx:
        buffer.append({**ctx, "records": []})
        return True
    return False


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="letter", disable=not enabled, file=sys.stderr, smoothing=0.1)


def _write_part(parts_dir: Path, n: int, rows: list[dict[str, Any]]) -> None:
    with atomic_write(parts_dir / f"part-{n:05d}.jsonl") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")


def _read_part(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _finish(files: list[Path], parts_dir: Path, out: Path) -> Summary:
    order = {str(p): i for i, p in enumerate(files)}
    # a resumed run may redo the pieces of a split file: the last copy of each piece wins
    unique = {(r["path"], r["doc_id"]): r for part in sorted(parts_dir.glob("part-*.jsonl")) for r in _read_part(part)}
    rows = list(unique.values())
    rows.sort(key=lambda r: (order.get(r["path"], len(order)), r["doc_id"]))
    summary = Summary(out=str(out))
    records = []
    seen: set[str] = set()
    for row in rows:
        if row["path"] not in seen and row.get("last", True):
            summary.letters += 1
        if row.get("last", True):
            seen.add(row["path"])
        if "error" in row:
            summary.failures.append({"path": row["path"], **row["error"]})
        elif not row["records"]:
            summary.warnings.append({"path": row["path"], "reason": "no_decision_section",
                                     "message": f"[W002] {row['doc_id']}: no IMR decision section; no records."})
        records.extend(row["records"])
    summary.records = len(records)
    write_table(records, out)
    write_errors(summary, out)
    shutil.rmtree(parts_dir, ignore_errors=True)
    return summary


def write_table(records: list[dict[str, Any]], out: str | Path) -> None:
    """Write records as CSV (list fields as JSON), JSONL or Parquet, atomically."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix == ".jsonl":
        with atomic_write(out) as f:
            for r in records:
                f.write(json.dumps({k: r.get(k) for k in FIELDS}) + "\n")
        return
    from .records import records_dataframe

    df = records_dataframe(records)
    if suffix == ".csv":
        for col in LIST_FIELDS:
            df[col] = df[col].map(json.dumps)
        with atomic_write(out) as f:
            df.to_csv(f, index=False)
    elif suffix == ".parquet":
        with atomic_write(out, mode="wb") as f:
            df.to_parquet(f, index=False)
    else:
        raise ImrError(Errors.E020.format(suffix=out.suffix))


def read_table(path: str | Path):
    """Read a table written by ``write_table`` back into a DataFrame (lists as lists)."""
    import pandas

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        df = pandas.read_json(path, lines=True, dtype=False)
        if df.empty:
            df = pandas.DataFrame(columns=list(FIELDS))
    elif suffix == ".csv":
        df = pandas.read_csv(path, dtype={"doc_id": str, "request_text": str}, keep_default_na=True)
        for col in LIST_FIELDS:
            df[col] = df[col].map(json.loads)
    elif suffix == ".parquet":
        df = pandas.read_parquet(path)
        for col in LIST_FIELDS:
            df[col] = df[col].map(list)
    else:
        raise ImrError(Errors.E020.format(suffix=path.suffix))
    from .records import DTYPES

    return df[list(FIELDS)].astype(DTYPES)


def write_errors(summary: Summary, out: Path) -> Path:
    """Write the failed letters and letters without records next to the table (CSV)."""
    import csv

    path = out.with_name(out.stem + ".errors.csv")
    with atomic_write(path) as f:
        w = csv.writer(f)
        w.writerow(["path", "level", "reason", "message"])
        for x in summary.failures:
            w.writerow([x["path"], "error", x["reason"], x["message"]])
        for x in summary.warnings:
            w.writerow([x["path"], "warning", x["reason"], x["message"]])
    return path
