"""Letters on disk to one table of records, for whole corpora.

``extract(paths, out)`` reads ``.txt`` and ``.pdf`` letters, runs the pipeline
on each (optionally in several forked worker processes that send back plain
records), and writes one row per disputed item as CSV, JSONL or Parquet,
chosen by the suffix of ``out``.

Nothing is lost and nothing is half-written:

- a letter that cannot be read (empty, binary, encrypted or text-less PDF,
  a named file of another type, ...) is reported with its reason and the run
  goes on; a letter read but without a decision section, a letter decoded by
  a fallback codec (W001) and a file of another type found in a folder are
  reported as warnings. Reports go to ``<out stem>.errors.csv``, not stderr;
- each letter is processed on its own (in worker processes when
  ``n_process > 1``): one on which the pipeline fails is reported as
  ``pipeline_error`` and the others are kept;
- results are committed as they come in part files next to the output
  (``<out>.parts/part-NNNNN.jsonl``, each written atomically); the table is
  written once, atomically, at the end, and the parts are removed. A killed
  run therefore leaves no output table, and ``resume=True`` continues from the
  committed parts without duplicate or lost records (letters are known by
  their resolved path, so the paths may be spelled differently on resume);
- texts longer than ``nlp.max_length`` (a month of letters in one file) are
  split at the title that starts each letter (``split_letters``; in Python:
  ``process_long_text``); a piece still too long is reported as ``too_long``
  (E016), never cut at an arbitrary point.
"""

import json
import os
import re
import shutil
import sys
import time
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Errors, ImrWarning, InputError, OutputError, TextTooLongError, Warnings
from .extensions import register
from .io import LETTER_SUFFIXES, atomic_write, iter_letter_paths, read_letter
from .parallel import process_letters
from .records import FIELDS

FORMATS = (".csv", ".jsonl", ".parquet")
from .records.schema import LIST_FIELDS  # noqa: E402
from .rules.structure import shipped  # noqa: E402
# Lone surrogates are valid in a Python str (pypdf decodes with "surrogatepass") but
# spaCy's tokenizer cannot hash them; one for one, U+FFFD keeps every offset.
_SURROGATES = re.compile("[\ud800-\udfff]")
# TODO(lead): move these two messages into errors.Errors / errors.Warnings.
E019 = Errors.E019
W005 = Warnings.W005
# Reasons of the coded warnings ``read_letter`` gives, as they appear in the errors file.
_READ_WARNING_REASONS = {"[W001]": "encoding_fallback"}


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


def split_letters(text: str, max_length: int) -> list[str]:
    """Split a text longer than ``max_length`` at the titles that start IMR letters.

    RETURNS (list[str]): the pieces, in order (the text itself if it is short enough).
    """
    if len(text) <= max_length:
        return [text]
    starts = shipped().letter_starts(text)
    if not starts or starts[0] != 0:
        starts = [0] + starts
    ends = starts[1:] + [len(text)]
    return [text[s:e] for s, e in zip(starts, ends, strict=True) if text[s:e].strip()]


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


def _letters(
    paths: list[Path], done: set[str], max_length: int
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (text, context) for each letter or piece; failures as ("", context with "error")."""
    for path in paths:
        key = _key(path)
        if key in done:
            continue
        base = {"path": str(path), "key": key, "doc_id": path.stem, "piece": 0}
        try:
            # W001 goes to the errors file with the letter, not once per letter to stderr
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ImrWarning)
                letter = read_letter(path)
        except InputError as e:
            yield "", {**base, "error": {"reason": e.reason, "message": str(e)}}
            continue
        except Exception as e:  # a reader bug on one odd file must not end a corpus run
            msg = E019.format(path=path, stage="reading", detail=f"{type(e).__name__}: {e}")
            yield "", {**base, "error": {"reason": "read_error", "message": msg}}
            continue
        notes = [
            {"reason": _READ_WARNING_REASONS.get(m[:6], "read_warning"), "message": m}
            for m in letter.warnings
        ]
        text = letter.text
        n_bad = len(_SURROGATES.findall(text))
        if n_bad:
            text = _SURROGATES.sub("\ufffd", text)
            notes.append({"reason": "bad_characters", "message": W005.format(path=path, n=n_bad)})
        pieces = split_letters(text, max_length)
        for i, piece in enumerate(pieces):
            doc_id = letter.doc_id if len(pieces) == 1 else f"{letter.doc_id}#{i + 1}"
            ctx = {**base, "doc_id": doc_id, "piece": i, "last": i == len(pieces) - 1}
            if i == 0 and notes:
                ctx["warnings"] = notes
            if len(piece) > max_length:
                msg = Errors.E016.format(length=len(piece), max_length=max_length)
                yield "", {**ctx, "error": {"reason": "too_long", "message": msg}}
            else:
                yield piece, ctx


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
    batch_size: int = 32,
    resume: bool = False,
    part_size: int = 200,
    progress: bool = True,
) -> Summary:
    """Extract the records of many letters into one table.

    paths (str | Path | Iterable): files and folders of .txt / .pdf letters.
    out (str | Path): the table; its suffix (.csv, .jsonl, .parquet) picks the format.
    nlp (Language | None): the pipeline; ``imr_nlp.load()`` when None.
    n_process (int): worker processes (forked; 1 = this process only; -1 = one per CPU).
    batch_size (int): letters sent to a worker at a time.
    resume (bool): continue a killed run from its committed part files.
    part_size (int): letters per committed part file.
    progress (bool): show a progress bar with letters per second (stderr).
    RETURNS (Summary): counts, failures by reason and speed.
    RAISES (ImrError): E020 for an unknown output suffix; InputError (E015) for a
        path that does not exist.
    """
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise OutputError(Errors.E020.format(suffix=out.suffix))
    t0 = time.perf_counter()
    parts_dir = out.with_name(out.name + ".parts")
    files, others = list_inputs(paths, exclude=(out, errors_path(out), parts_dir))
    if parts_dir.exists() and not resume:
        shutil.rmtree(parts_dir)
    parts_dir.mkdir(parents=True, exist_ok=True)
    committed = sorted(parts_dir.glob("part-*.jsonl"))
    done = {row["key"] for part in committed for row in _read_part(part) if row.get("last", True)}
    resumed = len(done & {_key(p) for p in files})
    if nlp is None:
        from . import load

        nlp = load()
    register()  # doc._.doc_id, also on a pipeline not built by imr_nlp.load()
    bar = _progress(len(files) - resumed, progress)
    buffer: list[dict[str, Any]] = []
    n_part = max((int(p.stem.split("-")[1]) for p in committed), default=0)

    def emit(row: dict[str, Any]) -> None:
        nonlocal buffer, n_part
        buffer.append(row)
        if not row.get("last", True):
            return
        bar.update(1)
        if len(buffer) >= part_size:
            n_part += 1
            _write_part(parts_dir, n_part, buffer)
            buffer = []

    def letters() -> Iterator[tuple[str, dict[str, Any]]]:
        for text, ctx in _letters(files, done, nlp.max_length):
            if "error" in ctx:
                emit({**ctx, "records": []})
            else:
                yield text, ctx

    for row in process_letters(nlp, letters(), n_process=n_process, batch_size=batch_size):
        emit(row)
    if buffer:
        n_part += 1
        _write_part(parts_dir, n_part, buffer)
    bar.close()
    summary = _finish(files, others, parts_dir, out)
    summary.resumed = resumed
    summary.seconds = time.perf_counter() - t0
    return summary


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


def _finish(files: list[Path], others: list[Path], parts_dir: Path, out: Path) -> Summary:
    order = {_key(p): i for i, p in enumerate(files)}
    # A resumed run may redo the pieces of a split file: the last copy of each piece wins.
    # Rows of files no longer among the inputs are left out.
    unique = {
        (r["key"], r["piece"]): r
        for part in sorted(parts_dir.glob("part-*.jsonl"))
        for r in _read_part(part)
        if r["key"] in order
    }
    rows = sorted(unique.values(), key=lambda r: (order[r["key"]], r["piece"]))
    summary = Summary(out=str(out), errors_file=str(errors_path(out)))
    records = []
    finished: set[str] = set()
    for row in rows:
        if row.get("last", True):
            finished.add(row["key"])
        summary.warnings.extend({"path": row["path"], **w} for w in row.get("warnings", ()))
        if "error" in row:
            summary.failures.append({"path": row["path"], **row["error"]})
        elif not row["records"]:
            summary.warnings.append({"path": row["path"], "reason": "no_decision_section",
                                     "message": Warnings.W002.format(doc_id=row["doc_id"])})
        records.extend(row["records"])
    # Never expected; a safety net so that a lost letter is reported, not silent.
    for p in files:
        if _key(p) not in finished:
            msg = E019.format(path=p, stage="processing", detail="no result")
            summary.failures.append({"path": str(p), "reason": "not_processed", "message": msg})
    for p in others:
        summary.warnings.append({"path": str(p), "reason": "unsupported",
                                 "message": Errors.E014.format(path=p, suffix=p.suffix)})
    summary.letters = len(finished)
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
    elif suffix == ".parquet":
        import pyarrow.parquet

        rows = pyarrow.parquet.read_table(path).to_pylist()
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
