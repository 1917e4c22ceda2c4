"""The names of imr_nlp's spaCy factories: versioned, with the old names kept.

A component is created from ``imr_<part>_v1``; a changed behaviour gets a ``_v2``
beside it, so a saved pipeline keeps the behaviour it was saved with. (spaCy's
convention for registered functions, ``imr_nlp.tokenizer.v1``, cannot be used:
spaCy refuses "." in factory names, error E853.)
The component names in a pipeline (``nlp.pipe_names``) stay ``imr_sentences``,
``imr_sections`` ... Pipelines saved before the versioned names (factory
``imr_sentences`` ...) still load: the old names are registered too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from spacy.language import Language

# old (and component) name -> versioned factory name
FACTORIES: dict[str, str] = {
    "imr_structure": "imr_structure_v1",
    "imr_sentences": "imr_sentences_v1",
    "imr_sections": "imr_sections_v1",
    "imr_abbreviations": "imr_abbreviations_v1",
    "imr_entities": "imr_entities_v1",
    "imr_context": "imr_context_v1",
    "imr_requests": "imr_requests_v1",
    "imr_reasons": "imr_reasons_v1",
}


def factory_name(component: str) -> str:
    """The versioned factory of a component name (the name itself if it has none)."""
    return FACTORIES.get(component, component)


def imr_factory(name: str, **kwargs: Any) -> Callable[[Callable], Callable]:
    """``Language.factory`` under ``FACTORIES[name]`` and under the old name ``name``.

    name (str): the old factory name, also the default component name.
    kwargs: as for ``Language.factory`` (assigns, default_config, default_score_weights ...).
    """

    def register(func: Callable) -> Callable:
        Language.factory(factory_name(name), func=func, **kwargs)
        Language.factory(name, func=func, **kwargs)
        return func

    return register
