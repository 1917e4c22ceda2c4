"""Records of many letters on several processes, without shipping Docs between them.

``nlp.pipe(texts, n_process=2)`` returns Docs: each one is serialised in a
worker and rebuilt in the parent (spaCy's 14 token-attribute arrays, and
srsly's msgpack registry lookups, about 4 ms a letter here). On two cores the
parent then competes with the workers and the speedup stays near 1.3x. A
corpus run only needs the records, so ``pipe_records`` has the workers return
plain records (the same dicts as ``doc._.requests``) and nothing else.

On Linux the workers are forked after the pipeline is built, so each starts at
once with the parent's pipeline; elsewhere each worker builds its own.
"""

import multiprocessing
import sys
from typing import Any, Iterable, Iterator

from spacy.language import Language

_WORKER: dict[str, Any] = {}


def _init_worker(model: str | None) -> None:
    if "nlp" not in _WORKER:  # forked workers already have the parent's pipeline
        from . import load

        _WORKER["nlp"] = load(model)


def _run_batch(batch: list[tuple[str, Any]]) -> list[tuple[Any, list[dict[str, Any]], list[str]]]:
    nlp = _WORKER["nlp"]
    out = []
    for text, ctx in batch:
        doc = nlp.make_doc(text)
        if isinstance(ctx, dict) and "doc_id" in ctx:
            doc._.doc_id = ctx["doc_id"]
        for _, proc in nlp.pipeline:
            doc = proc(doc)
        out.append((ctx, doc._.requests or [], doc._.imr_warnings or []))
    return out


def _batches(items: Iterable[tuple[str, Any]], size: int) -> Iterator[list[tuple[str, Any]]]:
    batch: list[tuple[str, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def pipe_records(
    items: Iterable[tuple[str, Any]],
    *,
    nlp: Language | None = None,
    model: str | None = None,
    n_process: int = 1,
    batch_size: int = 32,
) -> Iterator[tuple[Any, list[dict[str, Any]], list[str]]]:
    """Records of many letters, in input order.

    items (Iterable[tuple[str, Any]]): ``(text, context)`` pairs; a context dict with a
        ``doc_id`` key sets the records' ``doc_id``.
    nlp (Language | None): the pipeline; ``imr_nlp.load(model)`` when None.
    model (str | None): a trained pipeline folder, for ``imr_nlp.load(model=...)``.
    n_process (int): worker processes (1: in this process).
    batch_size (int): letters sent to a worker at a time.
    YIELDS (tuple): ``(context, records, warnings)`` per letter.
    """
    if nlp is None:
        from . import load

        nlp = load(model)
    if n_process <= 1:
        _WORKER["nlp"] = nlp
        for batch in _batches(items, batch_size):
            yield from _run_batch(batch)
        return
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    ctx = multiprocessing.get_context(method)
    _WORKER["nlp"] = nlp  # inherited by forked workers
    try:
        with ctx.Pool(n_process, initializer=_init_worker, initargs=(model,)) as pool:
            for result in pool.imap(_run_batch, _batches(items, batch_size)):
                yield from result
    finally:
        _WORKER.pop("nlp", None)
