"""Import every module that registers a factory, so ``load()`` and ``spacy.load`` find them.

A saved pipeline loaded in a fresh process finds the factories through the
``spacy_factories`` entry points of pyproject.toml instead.
"""

from .pipeline import (  # noqa: F401
    abbreviations,
    context,
    entities,
    reasons,
    requests,
    sections,
    sentences,
    structure,
    tokenizer,
)
