"""What a worker does with a batch of letters: read each file, run the pipeline, keep the rows.

Paths go out, records come back: the worker (a forked process, a Dask worker
or this process) reads and cleans each file itself (``io.read_letter``), so
PDF reading runs in parallel too. Nothing raised by one letter leaves
``run_batch``: a letter that cannot be read or processed becomes a row of the
errors table, the others are kept.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

from ..errors import Errors, ImrWarning, InputError, Warnings

# Lone surrogates are valid in a Python str (pypdf decodes with "surrogatepass") but
# spaCy's tokenizer cannot hash them; one for one, U+FFFD keeps every offset.
_SURROGATES = re.compile("[\ud800-\udfff]")
# Reasons of the coded warnings ``read_letter`` gives, as they appear in the errors table.
_READ_WARNING_REASONS = {"[W001]": "encoding_fallback"}


@dataclass(frozen=True)
class Task:
    """One file to process.

    path (str): the file as given (``source_path`` of its records and errors).
    key (str): its real path, the letter's identity across runs (``--resume``).
    doc_id (str): the id of its records (see ``io.letter_ids``).
    """

    path: str
    key: str
    doc_id: str


def build_pipeline(model: str | None = None, factory: Any = None) -> Any:
    """The pipeline a worker runs: ``factory()``, else ``imr_nlp.load(model)``."""
    from ..extensions import register

    if factory is not None:
        nlp = factory()
    else:
        from .. import load

        nlp = load(model)
    register()  # doc._.imr_doc_id, also on a pipeline not built by imr_nlp.load()
    return nlp


def split_letters(text: str, max_length: int) -> list[str]:
    """Split a text longer than ``max_length`` at the titles that start IMR letters.

    RETURNS (list[str]): the pieces, in order (the text itself if it is short enough).
    """
    if len(text) <= max_length:
        return [text]
    from ..rules.structure import shipped

    starts = shipped().letter_starts(text)
    if not starts or starts[0] != 0:
        starts = [0] + starts
    ends = starts[1:] + [len(text)]
    return [text[s:e] for s, e in zip(starts, ends, strict=True) if text[s:e].strip()]


def error_row(task: Task, level: str, reason: str, message: str, doc_id: str | None = None):
    """A row of the errors table (``records.schema.ERROR_FIELDS``)."""
    return {
        "source_path": task.path,
        "doc_id": doc_id or task.doc_id,
        "level": level,
        "reason": reason,
        "message": message,
    }


def run_batch(nlp: Any, tasks: list[Task]) -> dict[str, list]:
    """Read and process a batch of files.

    RETURNS (dict): ``records`` (records.md dicts, ``doc_id`` and ``source_path``
        set), ``errors`` (rows of the errors table) and ``done`` (the keys of the
        tasks, all of them: every task ends as records, errors or both).
    """
    records: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for task in tasks:
        recs, errs = run_letter(nlp, task)
        records.extend(recs)
        errors.extend(errs)
    return {"records": records, "errors": errors, "done": [t.key for t in tasks]}


def run_letter(nlp: Any, task: Task) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The records and error rows of one file (never raises for a bad letter)."""
    from ..io import read_letter

    errors: list[dict[str, Any]] = []
    try:
        # W001 goes to the errors table with the letter, not once per letter to stderr
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ImrWarning)
            letter = read_letter(task.path)
    except InputError as e:
        return [], [error_row(task, "error", e.reason, str(e))]
    except Exception as e:  # a reader bug on one odd file must not end a corpus run
        msg = Errors.E019.format(path=task.path, stage="reading", detail=f"{type(e).__name__}: {e}")
        return [], [error_row(task, "error", "read_error", msg)]
    for m in letter.warnings:
        errors.append(
            error_row(task, "warning", _READ_WARNING_REASONS.get(m[:6], "read_warning"), m)
        )
    text = letter.text
    n_bad = len(_SURROGATES.findall(text))
    if n_bad:
        text = _SURROGATES.sub("\ufffd", text)
        errors.append(
            error_row(
                task, "warning", "bad_characters", Warnings.W005.format(path=task.path, n=n_bad)
            )
        )
    max_length = nlp.max_length
    pieces = split_letters(text, max_length)
    records: list[dict[str, Any]] = []
    for i, piece in enumerate(pieces):
        doc_id = task.doc_id if len(pieces) == 1 else f"{task.doc_id}#{i + 1}"
        if len(piece) > max_length:
            msg = Errors.E016.format(length=len(piece), max_length=max_length)
            errors.append(error_row(task, "error", "too_long", msg, doc_id))
            continue
        try:
            doc = nlp.make_doc(piece)
            doc._.imr_doc_id = doc_id  # records and their warnings name the letter
            doc._.imr_source_path = task.path
            doc = nlp(doc)
        except Exception as e:
            msg = Errors.E019.format(
                path=task.path, stage="processing", detail=f"{type(e).__name__}: {e}"
            )
            errors.append(error_row(task, "error", "pipeline_error", msg, doc_id))
            continue
        recs = doc._.imr_requests or []
        if not recs:
            errors.append(
                error_row(
                    task,
                    "warning",
                    "no_decision_section",
                    Warnings.W002.format(doc_id=doc_id),
                    doc_id,
                )
            )
        for r in recs:
            r["doc_id"] = doc_id
            r["source_path"] = task.path
        records.extend(recs)
    return records, errors
