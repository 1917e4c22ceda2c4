"""Letters on disk to one table of records, for whole corpora.

``extract(paths, out)`` reads ``.txt`` and ``.pdf`` letters, runs the pipeline
on each (optionally in several forked worker processes, which read the files
themselves and send back plain records), and writes one row per disputed item:
as a partitioned Parquet dataset when ``out`` is a folder (no suffix; the
corpus format, see ``imr_nlp.corpus``), or as one CSV, JSONL or Parquet file
chosen by the suffix of ``out``. Every Parquet output has the one schema
``records.schema.arrow_schema``. On a cluster: ``imr_nlp.corpus.extract``.

Nothing is lost and nothing is half-written, and memory stays flat:

- a letter that cannot be read (empty, binary, encrypted or text-less PDF,
  a named file of another type, ...) is reported with its reason and the run
  goes on; a letter read but without a decision section, a letter decoded by
  a fallback codec (W001) and a file of another type found in a folder are
  reported as warnings. Reports go to the errors table (``DIR/_errors/`` of a
  dataset, ``<out stem>.errors.csv`` beside a file), not stderr;
- each letter is processed on its own: one on which the pipeline fails is
  reported as ``pipeline_error`` and the others are kept;
- results are committed as they come, a partition of ``part_size`` letters
  at a time, each written atomically (``corpus.dataset``); a file output is
  streamed from the partitions (``<out>.parts/``) once at the end, atomically,
  and the parts are removed. A killed run therefore leaves no output table,
  and ``resume=True`` continues from the committed partitions without
  duplicate or lost records (letters are known by their real path, so the
  paths may be spelled differently on resume);
- ``doc_id`` is the file stem, or the path relative to the common folder of
  the inputs where stems collide (``io.letter_ids``); ``source_path`` is the
  file as given; ``(doc_id, request_index)`` is unique in a run's table;
- texts longer than ``nlp.max_length`` (a month of letters in one file) are
  split at the title that starts each letter (``split_letters``; in Python:
  ``process_long_text``); a piece still too long is reported as ``too_long``
  (E016), never cut at an arbitrary point.
"""

import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .corpus.work import split_letters
from .errors import Errors, OutputError, TextTooLongError
from .io import LETTER_SUFFIXES, atomic_write, iter_letter_paths
from .records import FIELDS
from .records.schema import LIST_FIELDS

FORMATS = (".csv", ".jsonl", ".parquet")
__all__ = [
    "Summary",
    "extract",
    "list_inputs",
    "process_long_text",
    "read_table",
    "split_letters",
    "write_table",
    "errors_path",
]


@dataclass
class Summary:
    """What a run did: counts, failures and warnings by reason, speed.

    failures: letters that gave no records because they could not be read or
        processed (``{"path", "reason", "message"}``); they set the exit status.
    warnings: letters without records (``no_decision_section``), letters read
        with a fallback codec (``encoding_fallback``), files of another type in
        a folder (``unsupported``), ...
    """

    letters: int = 0
    records: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    resumed: int = 0
    seconds: float = 0.0
    out: str | None = None
    errors_file: str | None = None

    @property
    def failures_by_reason(self) -> dict[str, int]:
        return _count(self.failures)

    @property
    def warnings_by_reason(self) -> dict[str, int]:
        return _count(self.warnings)

    def report(self) -> str:
        rate = self.letters / self.seconds if self.seconds else 0.0
        no_records = self.warnings_by_reason.get("no_decision_section", 0)
        lines = [
            f"letters read: {self.letters} ({self.resumed} from an earlier run)",
            f"records written: {self.records} -> {self.out}",
            f"failed letters: {len(self.failures)}; letters without records: {no_records}; "
            f"warnings: {len(self.warnings)} (see {self.errors_file})",
            f"time: {self.seconds:.1f} s ({rate:.1f} letters/s)",
        ]
        by_reason = (("failed", self.failures_by_reason), ("warnings", self.warnings_by_reason))
        for title, counts in by_reason:
            if counts:
                lines.append(f"{title}:")
                lines.extend(f"  {reason}: {n}" for reason, n in counts.items())
        return "\n".join(lines)


def _count(rows: list[dict[str, str]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        out[r["reason"]] = out.get(r["reason"], 0) + 1
    return dict(sorted(out.items()))


def process_long_text(text: str, nlp: Any = None) -> list[Any]:
    """Process a text that may exceed ``nlp.max_length``: one Doc per letter it holds.

    The text is split with ``split_letters`` (at the title that starts each
    letter), never at an arbitrary point; a short text gives one Doc.

    text (str): the text, e.g. a month of letters in one file.
    nlp (Language | None): the pipeline; ``imr_nlp.load()`` when None.
    RETURNS (list[Doc]): the processed pieces, in order.
    RAISES (ImrError): E016 if a piece is still longer than ``nlp.max_length``.
    """
    if nlp is None:
        from . import load

        nlp = load()
    pieces = split_letters(text, nlp.max_length)
    for piece in pieces:
        if len(piece) > nlp.max_length:
            raise TextTooLongError(Errors.E016.format(length=len(piece), max_length=nlp.max_length))
    return list(nlp.pipe(pieces))


def list_inputs(
    paths: str | Path | Iterable[str | Path], *, exclude: Iterable[str | Path] = ()
) -> tuple[list[Path], list[Path]]:
    """The letters named by files and folders, and the other files found in the folders.

    Letters are listed as by ``io.iter_letter_paths``, except that a file named
    directly with another suffix is kept among the letters (reading it then
    reports it as ``unsupported``) instead of stopping the run.

    paths (str | Path | Iterable): files and folders.
    exclude (Iterable): files and folders never listed (the run's own outputs).
    RETURNS (tuple[list[Path], list[Path]]): the letters, sorted; the non-hidden
        files of other types inside the folders, sorted.
    RAISES (InputError): reason "not_found" (E015) for a path that does not exist.
    """
    given = [Path(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)]
    skip = {_key(Path(p)) for p in exclude}
    named_other = [p for p in given if p.is_file() and p.suffix.lower() not in LETTER_SUFFIXES]
    letters: dict[str, Path] = {
        _key(p): p for p in iter_letter_paths([p for p in given if p not in named_other])
    }
    for p in named_other:
        letters.setdefault(_key(p), p)
    others: dict[str, Path] = {}
    for folder in (p for p in given if p.is_dir()):
        for root, dirs, names in os.walk(folder):
            dirs[:] = sorted(
                d for d in dirs if not d.startswith(".") and _key(Path(root, d)) not in skip
            )
            for name in names:
                path = Path(root, name)
                if name.startswith(".") or path.suffix.lower() in LETTER_SUFFIXES:
                    continue
                key = _key(path)
                if key not in skip and key not in letters:
                    others.setdefault(key, path)
    return sorted(letters.values()), sorted(others.values())


def _key(path: Path) -> str:
    """A letter's identity across runs: its real path (os.path.realpath, unlike
    Path.resolve, does not raise on a symlink loop)."""
    return os.path.realpath(path)


def errors_path(out: str | Path) -> Path:
    """Where ``extract`` reports failed letters and warnings: ``<out stem>.errors.csv``."""
    out = Path(out)
    return out.with_name(out.stem + ".errors.csv")


def extract(
    paths: str | Path | Iterable[str | Path],
    out: str | Path,
    *,
    nlp: Any = None,
    n_process: int = 1,
    batch_size: int | None = None,
    resume: bool = False,
    part_size: int = 500,
    progress: bool = True,
) -> Summary:
    """Extract the records of many letters into one table, on this machine.

    paths (str | Path | Iterable): files and folders of .txt / .pdf letters.
    out (str | Path): a folder (no suffix, or an existing folder) for a Parquet
        dataset; else a file whose suffix (.csv, .jsonl, .parquet) picks the format.
    nlp (Language | None): the pipeline; ``imr_nlp.load()`` when None.
    n_process (int): worker processes (forked; 1 = this process only; -1 = one per CPU).
    batch_size (int | None): letters sent to a worker at a time (default: up to 16).
    resume (bool): continue a killed run from its committed partitions.
    part_size (int): letters per committed partition.
    progress (bool): show a progress bar with letters per second (stderr).
    RETURNS (Summary): counts, failures by reason and speed.
    RAISES (ImrError): E020 for an unknown output suffix, E021/E022 (see
        ``corpus.dataset``); InputError (E015) for a path that does not exist.
    """
    from .corpus.work import build_pipeline
    from .parallel import run_batches

    if nlp is None:
        nlp = build_pipeline()
    else:
        from .extensions import register

        register()  # doc._.imr_doc_id, also on a pipeline not built by imr_nlp.load()
    workers = n_process if n_process > 0 else (os.cpu_count() or 1)

    class _Forked:
        def run(self, batches):
            return run_batches(nlp, batches, n_process=n_process)

    return run_to(
        paths,
        out,
        _Forked(),
        resume=resume,
        part_size=part_size,
        batch_size=batch_size,
        n_workers=workers,
        progress=progress,
    )


def run_to(paths: Any, out: str | Path, engine: Any, **kw: Any) -> Summary:
    """Run a corpus on ``engine`` into ``out``: a dataset folder, or a file streamed from
    the committed partitions of ``<out>.parts/`` (see ``extract``)."""
    import time

    from .corpus.dataset import is_dataset_dir
    from .corpus.run import run_corpus

    out = Path(out)
    t0 = time.perf_counter()
    if is_dataset_dir(out):
        return run_corpus(paths, out, engine, exclude=(out,), **kw)
    if out.suffix.lower() not in FORMATS:
        raise OutputError(Errors.E020.format(suffix=out.suffix))
    parts = out.with_name(out.name + ".parts")
    summary = run_corpus(paths, parts, engine, exclude=(out, errors_path(out), parts), **kw)
    _stream_table(parts, out)
    summary.out = str(out)
    summary.errors_file = str(errors_path(out))
    write_errors(summary, out)
    shutil.rmtree(parts, ignore_errors=True)
    summary.seconds = time.perf_counter() - t0
    return summary


def _stream_table(parts: Path, out: Path) -> None:
    """Write the records of a dataset folder as one file, a partition at a time."""
    import pyarrow.parquet as pq

    from .records import records_dataframe
    from .records.schema import arrow_schema, records_from_arrow

    files = sorted(parts.glob("part-*.parquet"))
    committed = {p.stem for p in (parts / "_manifest").glob("part-*.json")}
    files = [f for f in files if f.stem in committed]
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        schema = pq.read_schema(files[0]) if files else arrow_schema()  # with its provenance
        with atomic_write(out, mode="wb") as f, pq.ParquetWriter(f, schema) as w:
            for p in files:
                w.write_table(pq.read_table(p, schema=w.schema))
        return
    with atomic_write(out) as f:
        header = True
        if suffix == ".csv" and not files:
            records_dataframe([]).to_csv(f, index=False)
        for p in files:
            rows = records_from_arrow(pq.read_table(p))
            if suffix == ".jsonl":
                for r in rows:
                    f.write(json.dumps({k: r.get(k) for k in FIELDS}) + "\n")
                continue
            df = records_dataframe(rows)
            for col in LIST_FIELDS:
                df[col] = df[col].map(json.dumps)
            df.to_csv(f, index=False, header=header)
            header = False


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
        import pyarrow.parquet as pq

        from .records.schema import records_arrow_table

        with atomic_write(out, mode="wb") as f:
            pq.write_table(records_arrow_table(records), f)
    else:
        raise OutputError(Errors.E020.format(suffix=out.suffix))


def read_table(path: str | Path):
    """Read a table written by ``write_table`` back into a DataFrame (lists as lists).

    Every format gives the same DataFrame: the columns of records.md with the
    dtypes of ``records.records_dataframe``, None where a field is missing. In
    CSV an empty string and a missing value look the same; both read as None.
    """
    from .records import records_dataframe

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        with path.open(encoding="utf8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
    elif suffix == ".csv":
        import csv

        with path.open(encoding="utf8", newline="") as f:
            rows = [_csv_row(r) for r in csv.DictReader(f)]
    elif suffix == ".parquet" or path.is_dir():
        import pyarrow.dataset

        from .corpus.dataset import committed_parts
        from .records.schema import arrow_schema, records_from_arrow

        files = [str(p) for p in committed_parts(path)] if path.is_dir() else str(path)
        rows = records_from_arrow(pyarrow.dataset.dataset(files, schema=arrow_schema()).to_table())
    else:
        raise OutputError(Errors.E020.format(suffix=path.suffix))
    return records_dataframe(rows)


def _csv_row(row: dict[str, str]) -> dict[str, Any]:
    """Turn the strings of one CSV row back into the types of records.md."""
    from .records import DTYPES

    out: dict[str, Any] = {}
    for k, v in row.items():
        if k in LIST_FIELDS:
            out[k] = json.loads(v) if v else []
        elif v == "":
            out[k] = None
        elif DTYPES.get(k) == "Int64":
            out[k] = int(v)
        elif DTYPES.get(k) == "Float64":
            out[k] = float(v)
        elif DTYPES.get(k) == "boolean":
            out[k] = v == "True"
        else:
            out[k] = v
    return out


def write_errors(summary: Summary, out: Path) -> Path:
    """Write the failed letters and letters without records next to the table (CSV)."""
    import csv

    path = errors_path(out)
    with atomic_write(path) as f:
        w = csv.writer(f)
        w.writerow(["path", "level", "reason", "message"])
        for x in summary.failures:
            w.writerow([x["path"], "error", x["reason"], x["message"]])
        for x in summary.warnings:
            w.writerow([x["path"], "warning", x["reason"], x["message"]])
    return path
