"""The corpus format: a partitioned Parquet dataset with one declared schema.

A dataset folder holds::

    DIR/part-00000.parquet ...   records, schema ``records.schema.arrow_schema``
    DIR/_errors/part-00000.parquet ...  the errors table of the same letters
    DIR/_errors/inputs.parquet   files of other types, letters never processed
    DIR/_manifest/part-00000.json       the letters a partition holds (for --resume)
    DIR/_run.json                provenance and counts of the last run

``pyarrow.dataset.dataset(DIR)`` and ``dask.dataframe.read_parquet(DIR)`` read
the records only (names starting with "_" or "." are skipped). Every file's
schema carries the provenance as metadata: ``imr_nlp.version``,
``imr_nlp.rules_sha256`` (a hash of the rule files the pipeline is built from)
and ``imr_nlp.run_started`` (UTC, ISO 8601).

A partition is committed in three atomic writes: its errors, its records,
then its manifest. Only a partition with a manifest counts; on ``resume`` the
files of a partition without one (a run killed in between) are deleted and its
letters done again, so every letter ends in the dataset exactly once.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import Errors, OutputError
from ..io import atomic_write, atomic_write_bytes

ERRORS_DIR = "_errors"
MANIFEST_DIR = "_manifest"
RUN_FILE = "_run.json"
INPUTS_ERRORS = "inputs.parquet"
_PART = "part-{n:05d}"


def rules_hash() -> str:
    """SHA-256 over the rule files of ``patterns/`` (every file ``patterns.SCHEMAS`` names,
    by name and content): two runs with the same hash ran the same rules."""
    from ..patterns import SCHEMAS, patterns_dir

    h = hashlib.sha256()
    folder = patterns_dir()
    for name in sorted(SCHEMAS):
        path = folder / f"{name}.jsonl"
        h.update(name.encode() + b"\0")
        h.update(path.read_bytes() if path.is_file() else b"(missing)")
        h.update(b"\0")
    return h.hexdigest()


def provenance(started: _dt.datetime | None = None) -> dict[str, str]:
    """The schema metadata of a run: imr_nlp version, rules hash, start time (UTC)."""
    from .. import __version__

    started = started or _dt.datetime.now(_dt.UTC)
    return {
        "imr_nlp.version": __version__,
        "imr_nlp.rules_sha256": rules_hash(),
        "imr_nlp.run_started": started.isoformat(timespec="seconds"),
    }


def is_dataset_dir(out: str | Path) -> bool:
    """Whether ``out`` names a dataset folder: an existing folder, or a path without a suffix."""
    out = Path(out)
    return out.is_dir() or not out.suffix


class DatasetWriter:
    """Commit partitions of records and errors to a dataset folder, atomically.

    folder (Path): the dataset folder (created).
    resume (bool): keep the committed partitions (``done`` holds their letters);
        else the dataset's own files are removed first.
    meta (dict): the provenance of this run (``provenance()``).
    RAISES (OutputError): E021 if the folder holds files that are not a dataset's;
        E022 if ``resume`` would mix partitions of other rules or another version.
    """

    def __init__(self, folder: str | Path, *, resume: bool, meta: dict[str, str]):
        import pyarrow.parquet  # noqa: F401  (fail early if missing)

        from ..records.schema import arrow_schema, errors_arrow_schema

        self.folder = Path(folder)
        self.meta = dict(meta)
        self.schema = arrow_schema(self.meta)
        self.errors_schema = errors_arrow_schema(self.meta)
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / ERRORS_DIR).mkdir(exist_ok=True)
        (self.folder / MANIFEST_DIR).mkdir(exist_ok=True)
        self._check_foreign()
        if resume:
            self._check_same_rules()
        else:
            self._clear()
        self._drop_uncommitted()
        self.done: set[str] = set()
        self.n_records = 0
        numbers = [-1]
        for m in self.manifests():
            info = json.loads(m.read_text(encoding="utf8"))
            self.done.update(info["letters"])
            self.n_records += info["records"]
            numbers.append(int(m.stem.split("-")[1]))
        self.next_part = max(numbers) + 1
        self.resumed_meta = self._read_run()

    # -- files
    def manifests(self) -> list[Path]:
        return sorted((self.folder / MANIFEST_DIR).glob("part-*.json"))

    def part_paths(self) -> list[Path]:
        return [self.folder / f"{m.stem}.parquet" for m in self.manifests()]

    def error_paths(self) -> list[Path]:
        errs = [self.folder / ERRORS_DIR / f"{m.stem}.parquet" for m in self.manifests()]
        inputs = self.folder / ERRORS_DIR / INPUTS_ERRORS
        return errs + ([inputs] if inputs.exists() else [])

    def _ours(self) -> list[Path]:
        f = self.folder
        return [
            *f.glob("part-*.parquet"),
            *(f / ERRORS_DIR).glob("*.parquet"),
            *(f / MANIFEST_DIR).glob("part-*.json"),
            f / RUN_FILE,
        ] + [
            *f.glob(".*.tmp"),
            *(f / ERRORS_DIR).glob(".*.tmp"),
            *(f / MANIFEST_DIR).glob(".*.tmp"),
        ]

    def _check_foreign(self) -> None:
        allowed = {ERRORS_DIR, MANIFEST_DIR, RUN_FILE}
        foreign = [
            p.name
            for p in self.folder.iterdir()
            if p.name not in allowed
            and not p.name.startswith(".")
            and not (p.name.startswith("part-") and p.suffix == ".parquet")
        ]
        if foreign:
            raise OutputError(Errors.E021.format(path=self.folder, names=sorted(foreign)[:3]))

    def _clear(self) -> None:
        for p in self._ours():
            p.unlink(missing_ok=True)

    def _drop_uncommitted(self) -> None:
        """Delete what a killed run left of partitions it never committed, and temp files."""
        committed = {m.stem for m in self.manifests()}
        f = self.folder
        for p in [*f.glob("part-*.parquet"), *(f / ERRORS_DIR).glob("part-*.parquet")]:
            if p.stem not in committed:
                p.unlink(missing_ok=True)
        for p in [
            *f.glob(".*.tmp"),
            *(f / ERRORS_DIR).glob(".*.tmp"),
            *(f / MANIFEST_DIR).glob(".*.tmp"),
        ]:
            p.unlink(missing_ok=True)

    def _read_run(self) -> dict[str, Any] | None:
        path = self.folder / RUN_FILE
        return json.loads(path.read_text(encoding="utf8")) if path.exists() else None

    def _check_same_rules(self) -> None:
        run = self._read_run()
        if not run or not self.manifests():
            return
        for key in ("imr_nlp.version", "imr_nlp.rules_sha256"):
            if run.get("meta", {}).get(key) != self.meta[key]:
                raise OutputError(Errors.E022.format(path=self.folder, what=key))

    def start(self) -> None:
        """Record this run's provenance before the first partition (what --resume checks)."""
        prior = self.resumed_meta or {}
        meta = prior.get("meta") if self.manifests() and prior.get("meta") else self.meta
        self._write_run({"meta": meta, "finished": False})

    def _write_run(self, info: dict[str, Any]) -> None:
        with atomic_write(self.folder / RUN_FILE) as f:
            json.dump(info, f, indent=1)

    # -- partitions
    def write_partition(
        self,
        n: int,
        records: list[dict[str, Any]],
        errors: list[dict[str, Any]],
        letters: Iterable[str],
    ) -> None:
        """Commit partition ``n``: its errors, its records, then its manifest."""
        from ..records.schema import records_arrow_table

        name = _PART.format(n=n)
        table = records_arrow_table(records, self.schema)
        _write_parquet(
            self.folder / ERRORS_DIR / f"{name}.parquet", errors_table(errors, self.errors_schema)
        )
        _write_parquet(self.folder / f"{name}.parquet", table)
        letters = list(letters)
        with atomic_write(self.folder / MANIFEST_DIR / f"{name}.json") as f:
            json.dump({"letters": letters, "records": table.num_rows, "errors": len(errors)}, f)
        self.done.update(letters)
        self.n_records += table.num_rows

    def write_input_errors(self, errors: list[dict[str, Any]]) -> None:
        _write_parquet(
            self.folder / ERRORS_DIR / INPUTS_ERRORS, errors_table(errors, self.errors_schema)
        )

    def finish(self, counts: dict[str, Any]) -> None:
        run = self._read_run() or {"meta": self.meta}
        self._write_run({**run, "finished": True, "last_run": self.meta, "counts": counts})


def errors_table(errors: list[dict[str, Any]], schema=None):
    """Rows of the errors table as a pyarrow Table (``records.schema.errors_arrow_schema``)."""
    import pyarrow as pa

    from ..records.schema import ERROR_FIELDS, errors_arrow_schema

    schema = schema if schema is not None else errors_arrow_schema()
    return pa.Table.from_pydict(
        {k: [e.get(k) for e in errors] for k in ERROR_FIELDS}, schema=schema
    )


def _write_parquet(path: Path, table) -> None:
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(table, buf)
    atomic_write_bytes(path, buf.getvalue())


def committed_parts(folder: str | Path) -> list[Path]:
    """The record files of the committed partitions of a dataset folder, in order."""
    folder = Path(folder)
    return [
        folder / f"{m.stem}.parquet" for m in sorted((folder / MANIFEST_DIR).glob("part-*.json"))
    ]


def read_errors(folder: str | Path):
    """The errors table of a dataset folder, as a pandas DataFrame (ERROR_FIELDS columns)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..records.schema import errors_arrow_schema

    folder = Path(folder)
    committed = {m.stem for m in (folder / MANIFEST_DIR).glob("part-*.json")}
    paths = [p for p in sorted((folder / ERRORS_DIR).glob("part-*.parquet")) if p.stem in committed]
    if (folder / ERRORS_DIR / INPUTS_ERRORS).exists():
        paths.append(folder / ERRORS_DIR / INPUTS_ERRORS)
    schema = errors_arrow_schema()
    tables = [pq.read_table(p, schema=schema) for p in paths]
    return pa.concat_tables(tables or [schema.empty_table()]).to_pandas()
