"""Records of many letters, on several processes, one letter at a time.

Two things ``nlp.pipe(texts, n_process=2)`` does not do for corpus runs:

- it returns Docs, each serialised in a worker and rebuilt in the parent
  (spaCy's 14 token-attribute arrays and srsly's msgpack registry lookups,
  about 4 ms a letter here), so on two cores the parent competes with the
  workers and the speedup stays near 1.3x;
- in spaCy 3.7 an exception in a worker loses its whole batch and can leave
  ``pipe`` waiting forever on its workers.

Here forked workers share the pipeline already built, run each letter on its
own, and send back plain rows. For corpus runs (``run_batches``) the workers
are sent paths and read and clean the files themselves (PDF reading is most
of the work on real letters), so both cores read and process (the letter's context, its records and
warnings, or an ``error``). A bounded window of batches is in flight, so
memory stays flat on any corpus, and workers exit if the parent is killed.
Where ``fork`` is not available, letters are processed in this process.
"""

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from .errors import Errors

_WORKER_NLP: Any = None


def process_letters(
    nlp: Any,
    items: Iterable[tuple[str, dict[str, Any]]],
    *,
    n_process: int = 1,
    batch_size: int = 32,
) -> Iterator[dict[str, Any]]:
    """One row per ``(text, context)``, in input order.

    nlp (Language): the pipeline.
    items (Iterable): ``(text, context)``; the context dict needs ``doc_id`` and ``path``.
    n_process (int): worker processes (1: this process; -1: one per CPU).
    batch_size (int): letters sent to a worker at a time.
    YIELDS (dict): the context plus ``records`` and ``doc_warnings``, or plus ``error``
        (``{"reason": "pipeline_error", "message": ...}``) if the pipeline failed on it.
    """
    if n_process == -1:
        n_process = os.cpu_count() or 1
    if n_process <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for text, ctx in items:
            yield _run_one(nlp, text, ctx)
        return
    from concurrent.futures import ProcessPoolExecutor

    chunks = _chunks(items, batch_size)
    fork = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        n_process, mp_context=fork, initializer=_init_worker, initargs=(nlp, os.getpid())
    ) as pool:
        # a bounded window of batches in flight keeps memory flat on any corpus size
        window = deque(pool.submit(_run_chunk, c) for c in islice(chunks, 2 * n_process))
        while window:
            rows = window.popleft().result()
            window.extend(pool.submit(_run_chunk, c) for c in islice(chunks, 1))
            yield from rows


def run_batches(
    nlp: Any, batches: Iterable[tuple[Any, list[Any]]], *, n_process: int = 1
) -> Iterator[tuple[Any, dict[str, list]]]:
    """``corpus.work.run_batch`` on each ``(batch id, tasks)``, in order, in forked workers.

    Workers get paths (``corpus.work.Task``) and send back records and error rows;
    a bounded window of batches is in flight (memory stays flat on any corpus).

    nlp (Language): the pipeline, built once in this process and shared by fork.
    batches (Iterable): ``(batch id, list of Task)``.
    n_process (int): worker processes (1: this process; -1: one per CPU).
    YIELDS (tuple): ``(batch id, {"records", "errors", "done"})``.
    """
    from .corpus.work import run_batch

    if n_process == -1:
        n_process = os.cpu_count() or 1
    if n_process <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for bid, tasks in batches:
            yield bid, run_batch(nlp, tasks)
        return
    from concurrent.futures import ProcessPoolExecutor

    it = iter(batches)
    fork = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        n_process, mp_context=fork, initializer=_init_worker, initargs=(nlp, os.getpid())
    ) as pool:
        window = deque(
            (bid, pool.submit(_run_task_batch, tasks)) for bid, tasks in islice(it, 2 * n_process)
        )
        while window:
            bid, fut = window.popleft()
            result = fut.result()
            window.extend((b, pool.submit(_run_task_batch, t)) for b, t in islice(it, 1))
            yield bid, result


def _run_task_batch(tasks: list[Any]) -> dict[str, list]:
    from .corpus.work import run_batch

    return run_batch(_WORKER_NLP, tasks)


def pipe_records(
    items: Iterable[tuple[str, Any]],
    *,
    nlp: Any = None,
    model: str | None = None,
    n_process: int = 1,
    batch_size: int = 32,
) -> Iterator[tuple[Any, list[dict[str, Any]], list[str]]]:
    """The records of many letters, in input order (what ``imr-nlp extract`` runs on).

    items (Iterable[tuple[str, Any]]): ``(text, context)``; a context dict with a
        ``doc_id`` names the letter in its records.
    nlp (Language | None): the pipeline; ``imr_nlp.load(model)`` when None.
    model (str | None): a trained pipeline folder, for ``imr_nlp.load(model=...)``.
    n_process (int): worker processes.
    batch_size (int): letters sent to a worker at a time.
    YIELDS (tuple): ``(context, records, warnings)``; a letter the pipeline failed on
        gives no records and its error message as the only warning.
    """
    if nlp is None:
        from . import load

        nlp = load(model)
    wrapped = ((text, {"doc_id": _doc_id(ctx), "path": None, "_ctx": ctx}) for text, ctx in items)
    for row in process_letters(nlp, wrapped, n_process=n_process, batch_size=batch_size):
        if "error" in row:
            yield row["_ctx"], [], [row["error"]["message"]]
        else:
            yield row["_ctx"], row["records"], row["doc_warnings"]


def _doc_id(ctx: Any) -> Any:
    return ctx.get("doc_id") if isinstance(ctx, dict) else None


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def _init_worker(nlp: Any, parent: int) -> None:
    global _WORKER_NLP
    _WORKER_NLP = nlp
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    # A killed run (SIGKILL) must not leave workers waiting for work forever.
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _run_chunk(chunk: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [_run_one(_WORKER_NLP, text, ctx) for text, ctx in chunk]


def _run_one(nlp: Any, text: str, ctx: dict[str, Any]) -> dict[str, Any]:
    """Process one letter; an exception becomes a ``pipeline_error`` row."""
    try:
        doc = nlp.make_doc(text)
        doc._.imr_doc_id = ctx["doc_id"]  # records and their warnings name the letter
        doc = nlp(doc)
    except Exception as e:
        msg = Errors.E019.format(
            path=ctx["path"], stage="processing", detail=f"{type(e).__name__}: {e}"
        )
        return {**ctx, "error": {"reason": "pipeline_error", "message": msg}, "records": []}
    records = doc._.imr_requests or []
    for r in records:
        r["doc_id"] = ctx["doc_id"]
    return {**ctx, "records": records, "doc_warnings": list(doc._.imr_warnings or [])}
