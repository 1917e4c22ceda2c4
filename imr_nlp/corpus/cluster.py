"""Dask: the pipeline once per worker, batches of paths out, records back.

- ``ImrPipeline`` is a ``distributed.WorkerPlugin``: each worker builds the
  pipeline once when it joins (also a worker that replaces one that died),
  never per task;
- ``DaskEngine.run`` submits batches of paths (``work.Task``), a bounded
  window at a time (memory on the driver stays flat), and yields each
  batch's rows as it completes, in any order;
- a worker that dies has its tasks rerun by Dask on another worker (the
  scheduler's ``allowed-failures``); a batch cancelled by ``client.restart()``
  is submitted again; the letters of a batch that still fails are tried
  alone, one at a time while nothing else runs (a dying worker fails every
  task queued on it, so only then is a death the fault of the letter tried),
  and a letter that fails ``1 + SINGLE_RETRIES`` times so is reported as
  ``worker_died``. Every batch gives exactly one result.
"""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..errors import Errors
from .work import Task, build_pipeline, error_row, run_batch

PLUGIN_NAME = "imr_nlp-pipeline"
# A batch cancelled by client.restart() is submitted again at most this many times.
MAX_RESUBMITS = 5
# A letter that failed alone is tried again this many times before it is reported.
SINGLE_RETRIES = 1

try:  # distributed is a dependency; keep `import imr_nlp.corpus` working without it
    from distributed.diagnostics.plugin import WorkerPlugin as _WorkerPlugin
except ImportError:  # pragma: no cover
    _WorkerPlugin = object  # type: ignore[misc,assignment]

_LOCAL: dict[str, Any] = {}


class ImrPipeline(_WorkerPlugin):
    """Build the imr_nlp pipeline once on each Dask worker.

    model (str | None): a trained pipeline folder for ``imr_nlp.load(model)``
        (it must exist on every worker); None for the rule pipeline.
    factory (Callable | None): instead of ``model``, a function (shipped by
        cloudpickle) that returns the pipeline, e.g. one with extra components.
    """

    name = PLUGIN_NAME

    def __init__(self, model: str | None = None, factory: Callable[[], Any] | None = None):
        self.model = None if model is None else str(model)
        self.factory = factory
        self.nlp: Any = None
        self.lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"model": self.model, "factory": self.factory}

    def __setstate__(self, state: dict[str, Any]) -> None:
        type(self).__init__(self, state["model"], state["factory"])

    def setup(self, worker: Any = None) -> None:
        self.nlp = build_pipeline(self.model, self.factory)


def _worker_pipeline() -> tuple[Any, threading.Lock]:
    """The pipeline of this worker (from the plugin), or one built once per process."""
    try:
        from distributed import get_worker

        plugin: Any = get_worker().plugins.get(PLUGIN_NAME)
    except (ImportError, ValueError):
        plugin = None
    if plugin is not None and getattr(plugin, "nlp", None) is not None:
        return plugin.nlp, plugin.lock
    if "nlp" not in _LOCAL:
        _LOCAL["nlp"], _LOCAL["lock"] = build_pipeline(), threading.Lock()
    return _LOCAL["nlp"], _LOCAL["lock"]


def dask_batch(tasks: list[Task]) -> dict[str, list]:
    """The task each Dask worker runs: ``work.run_batch`` with the worker's pipeline."""
    nlp, lock = _worker_pipeline()
    with lock:  # one letter at a time per pipeline, whatever --nthreads the worker has
        return run_batch(nlp, tasks)


class DaskEngine:
    """Run batches on a ``distributed.Client``.

    client (distributed.Client): the cluster.
    model, factory: what each worker builds (see ``ImrPipeline``).
    window (int | None): batches in flight; default twice the cluster's threads, plus 2.
    """

    def __init__(
        self,
        client: Any,
        *,
        model: str | None = None,
        factory: Callable[[], Any] | None = None,
        window: int | None = None,
    ):
        self.client = client
        self.model = model
        self.factory = factory
        self.window = window
        self.registered = False

    def register(self) -> None:
        """Have every worker (and every worker that joins later) build the pipeline once."""
        self.client.register_plugin(ImrPipeline(self.model, self.factory), name=PLUGIN_NAME)
        self.registered = True

    def run(self, batches: Iterable[tuple[Any, list[Task]]]) -> Iterator[tuple[Any, dict]]:
        from distributed import as_completed

        if not self.registered:
            self.register()
        client = self.client
        threads = sum(client.nthreads().values()) or 1
        window = self.window or 2 * threads + 2
        token = uuid.uuid4().hex[:8]
        pending = iter(batches)
        futures: dict[
            str, tuple[Any, list[Task], int, Any]
        ] = {}  # key -> (bid, tasks, tries, part)
        splits: dict[Any, dict[str, Any]] = {}  # bid -> {"left": n, "parts": {i: result}}
        ac = as_completed()
        n_submitted = 0
        # letters of failed batches, each tried alone, one at a time with nothing else
        # running, so that a death is the fault of the letter being tried
        suspects: deque[tuple[Any, Task, int, int]] = deque()  # (bid, task, part, tries)

        def submit(bid: Any, tasks: list[Task], tries: int = 0, part: Any = None) -> None:
            nonlocal n_submitted
            n_submitted += 1
            key = f"imr-batch-{token}-{n_submitted}"
            f = client.submit(dask_batch, tasks, key=key, pure=False)
            futures[f.key] = (bid, tasks, tries, part)
            ac.add(f)

        def fill() -> None:
            if suspects or any(v[3] is not None for v in futures.values()):
                if suspects and not futures:
                    bid, task, part, tries = suspects.popleft()
                    submit(bid, [task], tries, part)
                return
            for _ in range(max(0, window - len(futures))):
                nxt = next(pending, None)
                if nxt is None:
                    return
                submit(*nxt)

        fill()
        for f in ac:
            bid, tasks, tries, part = futures.pop(f.key)
            status = f.status
            result = None
            if status == "finished":
                result = f.result()
            elif status == "cancelled" and tries < MAX_RESUBMITS:
                submit(bid, tasks, tries + 1, part)  # client.restart() cancelled it
            elif part is None:
                # the batch failed (a letter that kills its worker?): its letters become suspects
                splits[bid] = {"left": len(tasks), "parts": {}}
                suspects.extend((bid, t, i, 0) for i, t in enumerate(tasks))
            elif tries < SINGLE_RETRIES:
                suspects.appendleft((bid, tasks[0], part, tries + 1))
            else:
                reason, detail = _failure(f)
                result = {
                    "records": [],
                    "done": [tasks[0].key],
                    "errors": [
                        error_row(
                            tasks[0],
                            "error",
                            reason,
                            Errors.E019.format(
                                path=tasks[0].path, stage="processing", detail=detail
                            ),
                        )
                    ],
                }
            f.release()
            del f
            if result is not None:
                if part is None:
                    yield bid, result
                else:
                    s = splits[bid]
                    s["parts"][part] = result
                    s["left"] -= 1
                    if not s["left"]:
                        del splits[bid]
                        merged: dict[str, list[Any]] = {"records": [], "errors": [], "done": []}
                        for i in sorted(s["parts"]):
                            for k in merged:
                                merged[k].extend(s["parts"][i][k])
                        yield bid, merged
            fill()


def _failure(f: Any) -> tuple[str, str]:
    """The reason and detail of a failed task: ``worker_died`` when Dask gave up on it
    after its workers died (KilledWorker), else ``pipeline_error``."""
    try:
        e = f.exception()
    except Exception as err:  # cancelled futures raise here
        return "worker_died", type(err).__name__
    reason = "worker_died" if type(e).__name__ == "KilledWorker" else "pipeline_error"
    return reason, f"{type(e).__name__}: {e}"


def local_cluster(n_workers: int | None = None, **kwargs: Any):
    """A ``distributed.LocalCluster`` sized to this machine: one single-threaded worker
    process per CPU (or ``n_workers``), on the loopback interface, its status pages on a free port."""
    import os

    from distributed import LocalCluster

    n = n_workers or os.cpu_count() or 1
    opts = {
        "n_workers": n,
        "threads_per_worker": 1,
        "processes": True,
        "host": "127.0.0.1",
        "dashboard_address": "127.0.0.1:0",
        **kwargs,
    }
    return LocalCluster(**opts)


def connect(address: str, n_workers: int | None = None):
    """RETURNS (tuple): ``(client, cluster)``: "local" starts a ``local_cluster``
    (closed with the client), else ``distributed.Client(address)``.
    RAISES (ImrError): E023 if the scheduler cannot be reached."""
    from distributed import Client

    from ..errors import ClusterError

    if address == "local":
        cluster = local_cluster(n_workers)
        return Client(cluster), cluster
    try:
        return Client(address, timeout="20s"), None
    except (OSError, TimeoutError) as e:
        raise ClusterError(
            Errors.E023.format(address=address, detail=f"{type(e).__name__}: {e}")
        ) from None
