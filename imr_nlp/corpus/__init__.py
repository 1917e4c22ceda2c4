"""Whole corpora, on this machine or on a Dask cluster, into one Parquet format.

>>> from distributed import Client
>>> import imr_nlp.corpus
>>> client = Client("tcp://scheduler:8786")          # or Client(LocalCluster(...))
>>> summary = imr_nlp.corpus.extract(["/data/imr"], client=client, out="/data/imr_records")
>>> records = imr_nlp.corpus.read("/data/imr_records")   # a dask.dataframe
>>> errors = imr_nlp.corpus.read_errors("/data/imr_records")   # pandas

Without ``out``, ``extract`` returns ``Corpus(records, errors)``, two lazy
dask dataframes computed on the cluster (compute them together,
``dask.compute(c.records, c.errors)``, so that each letter is processed once).

- ``work``: what a worker does with a batch of paths (reads the files itself);
- ``cluster``: the Dask engine (``ImrPipeline`` worker plugin, retries);
- ``dataset``: the dataset folder (one declared schema, provenance, atomic
  partitions, ``--resume``);
- ``run``: one run from paths to partitions.

The workers must see the input files under the paths given (a shared file
system); the output is written by the driver (this process).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from .dataset import provenance, read_errors, rules_hash

__all__ = ["Corpus", "extract", "provenance", "read", "read_errors", "rules_hash"]


class Corpus(NamedTuple):
    """The lazy result of ``extract(..., out=None)``: dask dataframes of records and errors."""

    records: Any
    errors: Any


def extract(
    paths: Any,
    *,
    client: Any = None,
    out: str | Path | None = None,
    model: str | None = None,
    pipeline: Callable[[], Any] | None = None,
    nlp: Any = None,
    n_process: int = 1,
    batch_size: int | None = None,
    part_size: int = 500,
    resume: bool = False,
    progress: bool = False,
):
    """Extract the records of a corpus with Dask (``client``) or on this machine.

    paths: files and folders of .txt / .pdf letters (as the workers see them).
    client (distributed.Client | None): the cluster; None runs on this machine
        (``imr_nlp.extract.extract`` with ``nlp`` and ``n_process``).
    out (str | Path | None): a dataset folder (or a .csv/.jsonl/.parquet file) to
        write; None returns ``Corpus`` of lazy dask dataframes instead (needs Dask).
    model (str | None): a trained pipeline folder each worker loads; None: the rules.
    pipeline (Callable | None): a function each worker calls once to build the pipeline.
    batch_size (int | None): letters per Dask task (default: up to 16, >= 4 tasks a worker).
    part_size (int): letters per committed partition.
    resume (bool): continue a killed run into ``out`` from its committed partitions.
    RETURNS (Summary | Corpus): the summary of the run, or the lazy tables.
    """
    from ..extract import extract as _local
    from ..extract import run_to
    from .cluster import DaskEngine

    if out is None:
        return _lazy(paths, client, model, pipeline, batch_size)
    if client is None:
        return _local(
            paths,
            out,
            nlp=nlp,
            n_process=n_process,
            batch_size=batch_size,
            resume=resume,
            part_size=part_size,
            progress=progress,
        )
    engine = DaskEngine(client, model=model, factory=pipeline)
    engine.register()  # the workers build their pipeline now, before the run's clock starts
    workers = max(1, len(client.nthreads()))
    return run_to(
        paths,
        out,
        engine,
        resume=resume,
        part_size=part_size,
        batch_size=batch_size,
        n_workers=workers,
        progress=progress,
    )


def read(folder: str | Path):
    """The records of a dataset folder as a dask dataframe (pyarrow dtypes, one schema):
    its committed partitions (``pyarrow.dataset.dataset(folder)`` reads them all too)."""
    import dask.dataframe as dd

    from .dataset import committed_parts

    return dd.read_parquet([str(p) for p in committed_parts(folder)], dtype_backend="pyarrow")


def _lazy(paths: Any, client: Any, model: str | None, pipeline: Any, batch_size: int | None):
    import dask
    import dask.dataframe as dd

    from ..extract import list_inputs
    from ..records.schema import arrow_schema, errors_arrow_schema
    from .cluster import DaskEngine
    from .run import default_batch_size, make_tasks

    if client is not None:
        DaskEngine(client, model=model, factory=pipeline).register()
    files, _others = list_inputs(paths)
    tasks = make_tasks(files, paths)
    workers = max(1, len(client.nthreads())) if client is not None else 1
    size = batch_size or default_batch_size(len(tasks), workers)
    batches = [tasks[i : i + size] for i in range(0, len(tasks), size)]
    meta = (_frame(arrow_schema().empty_table()), _frame(errors_arrow_schema().empty_table()))
    parts = [dask.delayed(_batch_frames, nout=2)(b) for b in batches]
    if not parts:
        return Corpus(
            dd.from_pandas(meta[0], npartitions=1), dd.from_pandas(meta[1], npartitions=1)
        )
    records = dd.from_delayed([p[0] for p in parts], meta=meta[0], verify_meta=False)
    errors = dd.from_delayed([p[1] for p in parts], meta=meta[1], verify_meta=False)
    return Corpus(records, errors)


def _frame(table):
    import pandas as pd

    return table.to_pandas(types_mapper=pd.ArrowDtype)


def _batch_frames(tasks):
    from ..records.schema import records_arrow_table
    from .cluster import dask_batch
    from .dataset import errors_table

    result = dask_batch(tasks)
    return _frame(records_arrow_table(result["records"])), _frame(errors_table(result["errors"]))
