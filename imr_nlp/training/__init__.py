"""Train a small statistical NER on corrected annotations and combine it with the rules.

The loop follows explosion/projects' "rules + model" tutorials: read corrected
documents, split them by document, write DocBins, run spaCy's own training
(``spacy.cli.train.train``, in-process, CPU) with ``configs/ner.cfg``, keep the
best model, then source its ``ner`` into the rule pipeline.

- ``train``: :func:`train`, :func:`train_on_docs`, :func:`leave_one_out` (reading,
  splitting, training, picking the labels a model may fill);
- ``combine``: :func:`load_trained_only`, :func:`load_trained` (the rule pipeline with the
  trained ``trained_ner`` before ``imr_entities``; ``imr_nlp.load(path)`` calls it) and the
  conflict rule (:func:`fill_gaps`).

Scores are ``imr_nlp.evaluation``'s (``score_exact`` is re-exported here).
"""

from ..evaluation import score_exact
from .combine import (
    META_FILE,
    TRAINED_NAME,
    check_compatible,
    fill_gaps,
    load_trained,
    load_trained_only,
)
from .train import (
    TRAIN_FORMATS,
    Messages,
    choose_fill_labels,
    default_config_path,
    leave_one_out,
    read_docs,
    split_docs,
    train,
    train_on_docs,
)

__all__ = [
    "META_FILE",
    "TRAINED_NAME",
    "TRAIN_FORMATS",
    "Messages",
    "check_compatible",
    "choose_fill_labels",
    "default_config_path",
    "fill_gaps",
    "leave_one_out",
    "load_trained",
    "load_trained_only",
    "read_docs",
    "score_exact",
    "split_docs",
    "train",
    "train_on_docs",
]
