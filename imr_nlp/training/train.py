"""Train a small statistical NER on corrected annotations.

The loop follows explosion/projects' "rules + model" tutorials: read corrected
documents, split them by document, write DocBins, run spaCy's own training
(``spacy.cli.train.train``, in-process, CPU) with ``configs/ner.cfg``, keep the
best model, then source its ``ner`` into the rule pipeline.

- :func:`train` reads annotation files (the four formats of
  ``imr_nlp.annotations``, or ``format="gold"`` for ``shared/gold/*.jsonl``),
  and writes a spaCy pipeline folder plus ``imr_meta.json``.
- :func:`load_trained` is the rule pipeline with the trained component
  (``trained_ner``) placed before ``imr_entities``; ``imr_nlp.load(path)``
  calls it. :func:`load_trained_only` is the trained pipeline alone.
- :func:`leave_one_out` trains on all letters but one, scores the held-out
  letter with the trained pipeline alone, and averages.

How the trained spans join the rule spans: ``imr_nlp.training.combine``.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Errors, TrainingError, Warnings
from ..evaluation import score_exact
from .combine import META_FILE, load_trained_only

if TYPE_CHECKING:
    from spacy.tokens import Doc

logger = logging.getLogger("imr_nlp")

TRAIN_FORMATS = ("prodigy", "label_studio", "doccano", "brat", "gold")


class Messages(Errors, Warnings):
    """The codes of this module, from ``imr_nlp.errors`` (kept as a name for callers)."""


# -- reading and splitting -----------------------------------------------------
def read_docs(paths: str | Path | Iterable[str | Path], *, format: str = "prodigy") -> list[Doc]:
    """Read annotated documents from one or more files.

    paths (str | Path | Iterable): annotation files (for brat: folders).
    format (str): one of ``TRAIN_FORMATS``; "gold" reads ``shared/gold/*.jsonl``.
    RETURNS (list[Doc]): the Docs with ``doc.ents`` and ``doc._.imr_doc_id``, in file order.
    """
    from ..annotations import read_annotations
    from ..evaluation import read_gold

    if format not in TRAIN_FORMATS:
        raise TrainingError(Messages.E040.format(format=format, known=", ".join(TRAIN_FORMATS)))
    docs: list[Doc] = []
    for path in _as_paths(paths):
        if format == "gold":
            docs.extend(read_gold(path))
        else:
            docs.extend(read_annotations(path, format=format))
    return docs


def split_docs(
    docs: Sequence[Doc], *, dev_share: float = 0.2, seed: int = 0
) -> tuple[list[Doc], list[Doc], bool]:
    """Split documents into train and dev, deterministically, by whole document.

    The documents are ordered by ``doc._.imr_doc_id`` (then position), shuffled with
    ``random.Random(seed)``, and the first ``max(1, round(dev_share * n))`` go to
    dev (never all of them). A single document is both train and dev.

    docs (Sequence[Doc]): the documents.
    dev_share (float): the share of documents for dev.
    seed (int): the shuffle seed.
    RETURNS (tuple): (train docs, dev docs, dev_is_train).
    """
    if len(docs) == 1:
        return list(docs), list(docs), True
    order = sorted(range(len(docs)), key=lambda i: (str(_doc_id(docs[i], i)), i))
    random.Random(seed).shuffle(order)
    n_dev = min(len(docs) - 1, max(1, round(dev_share * len(docs))))
    dev = sorted(order[:n_dev])
    train_ = sorted(order[n_dev:])
    return [docs[i] for i in train_], [docs[i] for i in dev], False


# -- training ------------------------------------------------------------------
def train(
    corrected_paths: str | Path | Iterable[str | Path],
    out_dir: str | Path,
    *,
    format: str = "prodigy",
    dev_share: float = 0.2,
    seed: int = 0,
    max_steps: int | None = None,
    config_path: str | Path | None = None,
    verbose: bool = False,
    command: str | None = None,
) -> Path:
    """Train the NER of ``configs/ner.cfg`` on corrected annotation files.

    corrected_paths (str | Path | Iterable): the files (for brat: folders).
    out_dir (str | Path): where the best model goes (a spaCy pipeline folder,
        with ``imr_meta.json``). Replaced if it is already a pipeline folder.
    format (str): one of ``TRAIN_FORMATS`` ("gold" for ``shared/gold/*.jsonl``).
    dev_share (float): share of documents held out to pick the best model
        (at least one; with one document, dev is the training document).
    seed (int): split and training seed.
    max_steps (int | None): training steps; None keeps the config's.
    config_path (str | Path | None): the spaCy config; default ``configs/ner.cfg``.
    verbose (bool): show spaCy's training log (it is logged at DEBUG otherwise).
    command (str | None): the command to record in ``imr_meta.json``.
    RETURNS (Path): out_dir.
    """
    paths = _as_paths(corrected_paths)
    docs = [d for d in read_docs(paths, format=format) if d.text.strip()]
    if not docs:
        raise TrainingError(Messages.E041.format(paths=", ".join(map(str, paths))))
    if command is None:
        command = (
            f"imr_nlp.training.train({[str(p) for p in paths]!r}, {str(out_dir)!r}, "
            f"format={format!r}, dev_share={dev_share!r}, seed={seed!r}, max_steps={max_steps!r})"
        )
    sources = {"paths": [str(p) for p in paths], "format": format}
    return train_on_docs(
        docs,
        out_dir,
        dev_share=dev_share,
        seed=seed,
        max_steps=max_steps,
        config_path=config_path,
        verbose=verbose,
        command=command,
        sources=sources,
    )


def train_on_docs(
    docs: Sequence[Doc],
    out_dir: str | Path,
    *,
    dev_share: float = 0.2,
    seed: int = 0,
    max_steps: int | None = None,
    config_path: str | Path | None = None,
    verbose: bool = False,
    command: str | None = None,
    sources: dict[str, Any] | None = None,
) -> Path:
    """Train on Docs already in memory (what :func:`train` does after reading).

    docs (Sequence[Doc]): documents with ``doc.ents`` (tokens outside them are "O").
    Other arguments as for :func:`train`; sources (dict | None) goes into the meta.
    RETURNS (Path): out_dir.
    """
    import spacy
    from spacy.cli.train import train as spacy_train

    from .. import LABELS
    from ..annotations import to_docbin
    from ..pipeline import tokenizer  # noqa: F401  (registers imr_nlp.tokenizer.v1)

    out_dir = Path(out_dir)
    _check_out_dir(out_dir)
    config_path = Path(config_path) if config_path is not None else default_config_path()
    if not config_path.is_file():
        raise TrainingError(Messages.E043.format(path=config_path))
    train_docs, dev_docs, dev_is_train = split_docs(docs, dev_share=dev_share, seed=seed)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="imr_nlp_train_") as tmp:
        tmp_dir = Path(tmp)
        to_docbin(train_docs).to_disk(tmp_dir / "train.spacy")
        to_docbin(dev_docs).to_disk(tmp_dir / "dev.spacy")
        _write_labels(tmp_dir / "labels.json", LABELS)
        overrides: dict[str, Any] = {
            "paths.train": str(tmp_dir / "train.spacy"),
            "paths.dev": str(tmp_dir / "dev.spacy"),
            "paths.labels": str(tmp_dir / "labels.json"),
            "system.seed": seed,
        }
        if max_steps is not None:
            overrides["training.max_steps"] = int(max_steps)
        log = io.StringIO()
        # spaCy's trainer prints its table to stdout; only the CLI should print.
        with contextlib.redirect_stdout(sys.stdout if verbose else log):
            spacy_train(config_path, tmp_dir / "output", use_gpu=-1, overrides=overrides)
        if not verbose:
            logger.debug("spaCy training log:\n%s", log.getvalue())
        best = tmp_dir / "output" / "model-best"
        if not (best / "config.cfg").is_file():
            raise TrainingError(Messages.E044.format(path=tmp_dir / "output"))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        # Only model-best is kept: model-last is never copied.
        shutil.copytree(best, out_dir)
    seconds = time.perf_counter() - started
    _tidy(out_dir, config_path)
    spacy_meta = json.loads((out_dir / "meta.json").read_text(encoding="utf8"))
    performance = spacy_meta.get("performance", {})
    final = spacy.util.load_config(out_dir / "config.cfg")
    meta = {
        "labels": list(LABELS),
        "train_docs": [_doc_id(d, i) for i, d in enumerate(train_docs)],
        "dev_docs": [_doc_id(d, i) for i, d in enumerate(dev_docs)],
        "dev_is_train": dev_is_train,
        "n_spans": {
            "train": sum(len(d.ents) for d in train_docs),
            "dev": sum(len(d.ents) for d in dev_docs),
        },
        "seed": seed,
        "max_steps": final["training"]["max_steps"],
        "dev_scores": {
            k: performance[k]
            for k in ("ents_f", "ents_p", "ents_r", "ents_per_type")
            if k in performance
        },
        "date": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "command": command,
        "config": config_path.name,
        "sources": sources,
        "training_seconds": round(seconds, 1),
        "spacy_version": spacy.__version__,
        "imr_nlp_version": _version(),
    }
    if dev_is_train:
        meta["note"] = "one document only: dev = train, so dev_scores are training scores"
    meta.update(choose_fill_labels(out_dir, dev_docs))
    (out_dir / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf8")
    return out_dir


def choose_fill_labels(model_dir: str | Path, dev_docs: Sequence[Doc]) -> dict[str, Any]:
    """The labels for which the trained model may fill the rules' gaps in the combined pipeline.

    A label qualifies when the trained model alone scores a higher exact F1 than the rules
    alone on the dev letters (held out from training). Where the rules are better, trained
    spans of that label would only add false positives.

    RETURNS (dict): ``fill_labels`` and ``dev_label_f1`` (``{"trained": ..., "rules": ...}``).
    """
    from .. import load

    trained = load_trained_only(model_dir)
    rules = load(disable=["imr_requests"])
    texts = [d.text for d in dev_docs]
    t_scores = score_exact(list(trained.pipe(texts)), dev_docs)["per_label"]
    r_scores = score_exact(list(rules.pipe(texts)), dev_docs)["per_label"]
    labels = sorted(set(t_scores) | set(r_scores))
    fill = [
        lab
        for lab in labels
        if t_scores.get(lab, {}).get("f", 0.0) > r_scores.get(lab, {}).get("f", 0.0)
    ]
    return {
        "fill_labels": fill,
        "dev_label_f1": {
            "trained": {lab: round(t_scores.get(lab, {}).get("f", 0.0), 4) for lab in labels},
            "rules": {lab: round(r_scores.get(lab, {}).get("f", 0.0), 4) for lab in labels},
        },
    }


def default_config_path() -> Path:
    """RETURNS (Path): ``configs/ner.cfg`` of the checkout (or of the installed wheel)."""
    from ..patterns import data_dir

    return data_dir("configs") / "ner.cfg"


def leave_one_out(
    gold_path: str | Path,
    *,
    format: str = "gold",
    seed: int = 0,
    max_steps: int | None = None,
    dev_share: float = 0.2,
    config_path: str | Path | None = None,
) -> dict[str, Any]:
    """Train on all documents but one, score the held-out one; once per document.

    Each fold runs :func:`train_on_docs` exactly as the shipped model is built
    (the training documents are again split into train and dev), then scores
    the held-out letter with :func:`load_trained_only` (exact-match micro).

    gold_path (str | Path): the annotated documents (``shared/gold/seeds.jsonl``).
    format (str): one of ``TRAIN_FORMATS``.
    seed, max_steps, dev_share, config_path: as for :func:`train`.
    RETURNS (dict): ``folds`` (per held-out letter: doc_id and scores),
        ``mean_f`` (mean of the per-letter micro F1), ``pooled`` (micro scores
        over all held-out letters) and the settings.
    """
    docs = [d for d in read_docs(gold_path, format=format) if d.text.strip()]
    if len(docs) < 2:
        raise TrainingError(Messages.E041.format(paths=gold_path))
    folds: list[dict[str, Any]] = []
    preds = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="imr_nlp_loo_") as tmp:
        for i, held_out in enumerate(docs):
            rest = [d for j, d in enumerate(docs) if j != i]
            t0 = time.perf_counter()
            model_dir = train_on_docs(
                rest,
                Path(tmp) / f"fold{i}",
                dev_share=dev_share,
                seed=seed,
                max_steps=max_steps,
                config_path=config_path,
                command="leave_one_out",
            )
            seconds = time.perf_counter() - t0
            nlp = load_trained_only(model_dir)
            pred = nlp(held_out.text)
            preds.append(pred)
            scores = score_exact([pred], [held_out])
            meta = json.loads((model_dir / META_FILE).read_text(encoding="utf8"))
            folds.append(
                {
                    "held_out": _doc_id(held_out, i),
                    "train_docs": meta["train_docs"],
                    "dev_docs": meta["dev_docs"],
                    "training_seconds": round(seconds, 1),
                    **scores,
                }
            )
            logger.info("leave-one-out %s: F1 %.3f", folds[-1]["held_out"], scores["f"])
    return {
        "folds": folds,
        "mean_f": round(sum(f["f"] for f in folds) / len(folds), 4),
        "pooled": score_exact(preds, docs),
        "match": "exact (start, end, label)",
        "pipeline": "trained only",
        "seed": seed,
        "max_steps": max_steps,
        "dev_share": dev_share,
        "seconds": round(time.perf_counter() - started, 1),
    }


# -- helpers ---------------------------------------------------------------------
def _as_paths(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    if isinstance(paths, (str, Path)):
        return [Path(paths)]
    return [Path(p) for p in paths]


def _doc_id(doc: Doc, index: int) -> str:
    doc_id = doc._.imr_doc_id if doc.has_extension("imr_doc_id") else None
    return str(doc_id) if doc_id is not None else f"#{index}"


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and (
        not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / "config.cfg").is_file())
    ):
        raise TrainingError(Messages.E042.format(path=out_dir))


def _tidy(out_dir: Path, config_path: Path) -> None:
    """Put the training config's [paths] back (spaCy saves the temp folder's paths)
    and give the spaCy meta a name, so a rebuilt model differs only in its weights."""
    import re

    import spacy
    import srsly

    source = spacy.util.load_config(config_path, interpolate=False)
    saved = spacy.util.load_config(out_dir / "config.cfg", interpolate=False)
    saved["paths"] = source["paths"]
    saved.to_disk(out_dir / "config.cfg")
    meta = srsly.read_json(out_dir / "meta.json")
    meta["name"] = re.sub(r"\W", "_", out_dir.name) or "pipeline"
    meta["description"] = f"imr_nlp statistical NER (imr_nlp.training, {config_path.name})"
    srsly.write_json(out_dir / "meta.json", meta)


def _write_labels(path: Path, labels: Sequence[str]) -> None:
    """The NER's actions for ``[initialize.components.ner.labels]``.

    All nine labels are added even if the training documents lack one, so every
    model has the same output layer. Keys are spaCy's BILUO move ids
    (0 MISSING, 1 BEGIN, 2 IN, 3 LAST, 4 UNIT, 5 OUT); the empty label of UNIT
    and OUT is what ``BiluoPushDown.get_actions`` adds, which spaCy's own
    ``init labels`` output leaves out.
    """
    each = {label: 1 for label in labels}
    actions = {"0": {}, "1": each, "2": each, "3": each, "4": {"": 1, **each}, "5": {"": 1}}
    path.write_text(json.dumps(actions), encoding="utf8")


def _version() -> str:
    from .. import __version__

    return __version__
