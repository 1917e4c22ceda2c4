"""The one loader of rule data kept in ``patterns/``.

Rules are data: lexicons, matcher patterns, section titles and ConText rules
live as JSONL (one JSON object a line) next to the package. This module finds
that folder both in a source checkout (``<repo>/patterns``) and in an installed
wheel (``imr_nlp/_data/patterns``) and checks every line it reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from .errors import Errors, PatternFileError

_HERE = Path(__file__).resolve().parent


def data_dir(kind: str) -> Path:
    """Find a data folder shipped with imr_nlp.

    kind (str): "patterns" or "models".
    RETURNS (Path): the folder, from the wheel if installed, else the checkout.
    """
    for candidate in (_HERE / "_data" / kind, _HERE.parent / kind):
        if candidate.is_dir():
            return candidate
    raise PatternFileError(Errors.E001.format(path=_HERE.parent / kind))


def patterns_dir() -> Path:
    """RETURNS (Path): the folder of imr_nlp's rule files."""
    return data_dir("patterns")


def read_jsonl(path: str | Path, *, required: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Read a JSONL file, one object a line, checking each line.

    path (str | Path): the file.
    required (tuple[str, ...]): keys every object must have.
    RETURNS (list[dict]): the objects, in file order. Blank lines and lines
        starting with ``//`` are skipped (comments).
    """
    path = Path(path)
    if not path.is_file():
        raise PatternFileError(Errors.E001.format(path=path))
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf8") as f:
        for i, line in enumerate(f, start=1):
            line = line.strip()
            if not line or line.startswith("//"):
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise PatternFileError(
                    Errors.E002.format(path=path, line=i, problem=f"bad JSON ({e.msg})")
                ) from None
            if not isinstance(obj, dict):
                raise PatternFileError(
                    Errors.E002.format(path=path, line=i, problem="not a JSON object")
                )
            missing = [k for k in required if k not in obj]
            if missing:
                raise PatternFileError(
                    Errors.E002.format(path=path, line=i, problem=f"missing key(s) {missing}")
                )
            rows.append(obj)
    return rows


def write_jsonl(
    path: str | Path,
    rows: Iterable[dict[str, Any]],
    *,
    header: Iterable[str] = (),
    atomic: bool = False,
    mkdir: bool = True,
) -> Path:
    """Write rows as JSON Lines (one object a line, UTF-8, non-ASCII kept as is): the one
    writer of imr_nlp's JSONL files (rule files saved with a pipeline, annotation files).

    path (str | Path): the file.
    rows (Iterable[dict]): the objects; keys starting with ``_`` are left out (private
        attributes a component keeps on its rows).
    header (Iterable[str]): comment lines written first as ``// ...`` (``read_jsonl`` skips them).
    atomic (bool): write through ``imr_nlp.io.atomic_write`` (readers see the old file or
        the whole new one).
    mkdir (bool): create the parent folder if needed.
    RETURNS (Path): the file written.
    """
    path = Path(path)
    if mkdir:
        path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(f"// {h}\n" for h in header) + "".join(
        json.dumps({k: v for k, v in row.items() if not k.startswith("_")}, ensure_ascii=False)
        + "\n"
        for row in rows
    )
    if atomic:
        from .io import atomic_write

        with atomic_write(path) as f:
            f.write(lines)
    else:
        path.write_text(lines, encoding="utf8")
    return path


# Which keys each rule file must have. A file not listed here is not a rule file.
SCHEMAS: dict[str, tuple[str, ...]] = {
    "drugs": ("label", "pattern", "id"),
    "drug_classes": ("label", "pattern", "id"),
    "drug_class_rules": ("kind", "pattern"),
    "dosage": ("label", "pattern"),
    "guidelines": ("label", "kind", "pattern"),
    "diagnoses": ("label", "kind", "pattern"),
    "necessity": ("label", "pattern"),
    "structure": ("kind",),
    "context": ("literal", "category", "direction"),
    "tokenizer": ("kind", "pattern"),
    "sentences": ("kind", "pattern"),
    "records": ("kind", "key", "value"),
    "categories": ("category", "pattern"),
    "pdf_noise": ("kind", "pattern"),
    "span_filters": ("label", "kind", "pattern"),
    "reasons": ("kind", "pattern"),
}


# Views of a rule file: name -> (file, kind). The section titles are the "section" rows of
# the one structure file, so that every component reads the same titles.
VIEWS: dict[str, tuple[str, str]] = {"sections": ("structure", "section")}


@cache
def _load_cached(name: str) -> tuple[dict[str, Any], ...]:
    if name in VIEWS:
        source, kind = VIEWS[name]
        return tuple(
            {k: v for k, v in r.items() if k in ("category", "literal")}
            for r in _load_cached(source)
            if r["kind"] == kind
        )
    if name not in SCHEMAS:
        raise PatternFileError(Errors.E003.format(name=name, known=sorted(SCHEMAS)))
    rows = read_jsonl(patterns_dir() / f"{name}.jsonl", required=SCHEMAS[name])
    return tuple(rows)


def load_patterns(name: str) -> list[dict[str, Any]]:
    """Load one rule file of ``patterns/`` by name.

    name (str): the file stem, e.g. "drugs" or "sections".
    RETURNS (list[dict]): fresh copies of the rows, so that a caller's edit
        never changes what the next caller gets.
    """
    return [json.loads(json.dumps(row)) for row in _load_cached(name)]
