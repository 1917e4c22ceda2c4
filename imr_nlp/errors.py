"""Coded errors and warnings of imr_nlp.

Every message a user can see has a code here, so that a log line can be
looked up (``E003``) and a warning can be filtered by its class.
"""

from __future__ import annotations

import re
import warnings

_CODE = re.compile(r"^\[([EW]\d{3})\]")


class ImrWarning(UserWarning):
    """Base class of every warning imr_nlp gives."""


class ImrError(Exception):
    """Base class of every error imr_nlp raises (its message starts with its code)."""

    @property
    def code(self) -> str | None:
        """The code of the message ("E042"), or None for a message without one."""
        m = _CODE.match(str(self))
        return m.group(1) if m else None


class PatternFileError(ImrError, ValueError):
    """A file in ``patterns/`` is missing or malformed."""


class InputError(ImrError, ValueError):
    """A letter cannot be read or is not a letter (empty, no text layer, ...)."""

    def __init__(self, message: str, *, reason: str, path: str | None = None):
        super().__init__(message)
        self.reason = reason
        self.path = path


class AnnotationError(ImrError, ValueError):
    """A corrected annotation file does not fit its text (offsets, labels, JSON)."""


class TrainingError(ImrError, ValueError):
    """Training cannot start or finish (format, empty input, output folder, config)."""


class ModelError(ImrError, ValueError):
    """A folder given as a trained pipeline is not one (``load(model=...)``, ``--model``)."""


class GoldFileError(ImrError, ValueError):
    """A gold file for evaluation is missing or not in the format given."""


class OutputError(ImrError, ValueError):
    """An output path imr_nlp cannot write (unknown table format ...)."""


class TextTooLongError(ImrError, ValueError):
    """A text longer than ``nlp.max_length`` that cannot be split into letters (E016)."""


class ClusterError(ImrError, OSError):
    """A Dask scheduler or cluster that cannot be reached or started."""


class ReportError(ImrError, ValueError):
    """``imr-nlp report`` cannot read its table, or cannot draw (matplotlib missing)."""


class Errors:
    E001 = "[E001] Pattern file {path} not found. Is imr_nlp installed with its patterns/?"
    E002 = "[E002] {path}, line {line}: {problem}"
    E003 = "[E003] Unknown pattern file '{name}'. Known: {known}"
    E010 = "[E010] {path}: empty file (0 bytes)."
    E011 = "[E011] {path}: no text could be extracted (a scanned PDF without a text layer?)."
    E012 = "[E012] {path}: the PDF is encrypted and cannot be read."
    E013 = "[E013] {path}: not a readable PDF ({detail})."
    E014 = "[E014] {path}: unsupported file type '{suffix}' (expected .txt or .pdf)."
    E015 = "[E015] {path}: cannot be read ({detail})."
    E016 = (
        "[E016] Text of {length:,} characters exceeds nlp.max_length ({max_length:,}); "
        "pass it through imr_nlp.process_long_text() or raise nlp.max_length."
    )
    E017 = (
        "[E017] {path}: looks like binary data, not text "
        "({share:.0%} control characters); is it really a .txt letter?"
    )
    E018 = "[E018] {path}: text is only whitespace."
    E019 = "[E019] {path}: unexpected error while {stage} ({detail}); the run went on without it."
    E020 = (
        "[E020] Unknown output format '{suffix}'; use .csv, .jsonl or .parquet, "
        "or a folder (no suffix) for a Parquet dataset."
    )
    E021 = (
        "[E021] {path} holds files that are not an imr_nlp dataset's ({names}); "
        "choose an empty or new folder."
    )
    E022 = (
        "[E022] {path} was written with another {what}; --resume would mix them in one "
        "dataset. Run without --resume (or into a new folder)."
    )
    E023 = "[E023] Cannot reach the Dask scheduler {address} ({detail})."
    E030 = "[E030] Unknown annotation format '{format}'. Known: {known}"
    E031 = "[E031] {path}, {where}: {problem}"
    E040 = "[E040] Unknown training format '{format}'. Known: {known}"
    E041 = "[E041] No documents with text in {paths}; nothing to train on."
    E042 = "[E042] {path} exists and is not a spaCy pipeline folder; refusing to overwrite it."
    E043 = "[E043] Training config {path} not found."
    E044 = "[E044] spaCy training wrote no model-best in {path}."
    E045 = "[E045] {path} has no 'ner' component; is it a folder written by imr_nlp.training.train?"
    E046 = (
        "[E046] {path}: not a trained pipeline folder ({detail}); "
        "give a folder written by imr-nlp train."
    )
    E050 = "[E050] Gold file {path} not found."
    E051 = "[E051] {path}, line {line}: {problem} (is it gold JSONL? else pass --format)."
    E052 = "[E052] Unknown gold format '{format}'. Known: {known}"
    E060 = "[E060] {detail}"
    E070 = "[E070] {path}: not a table of records ({detail})."
    E071 = '[E071] imr-nlp report needs matplotlib: pip install "imr_nlp[report]".'


class Warnings:
    W001 = "[W001] {path}: not valid UTF-8; decoded as {encoding}."
    W002 = "[W002] Letter '{doc_id}' has no IMR decision section; it gives no records."
    W003 = "[W003] Letter '{doc_id}': {problem}"
    W004 = "[W004] {path}: text is only whitespace."
    W005 = "[W005] {path}: {n} lone surrogate character(s) replaced by U+FFFD."
    W040 = (
        "[W040] The tokenizer saved with {path} splits text differently from imr_nlp's "
        "current tokenizer; retrain the model (python scripts/build_model.py)."
    )
    W041 = "[W041] {path} predicts labels imr_nlp does not know: {labels}."


def warn(message: str, *, category: type[Warning] = ImrWarning, stacklevel: int = 2) -> None:
    """Give an imr_nlp warning (a thin wrapper so every warning has one class)."""
    warnings.warn(message, category, stacklevel=stacklevel + 1)
