"""The tokenizer of imr_nlp: spaCy's English rules plus a few for PDF-extracted letters.

Gold spans must align with tokens (``4mg#60`` gives STRENGTH ``4mg`` and
QUANTITY ``#60``; ``Page(s): 24`` keeps ``Page(s)`` whole). The extra rules
live in ``patterns/tokenizer.jsonl``.
"""

from __future__ import annotations

from typing import Any, Callable

import spacy
from spacy.lang.en import English
from spacy.language import Language
from spacy.symbols import ORTH
from spacy.tokenizer import Tokenizer
from spacy.util import compile_infix_regex, registry

from .patterns import load_patterns


def customize(tokenizer: Tokenizer, rules: list[dict[str, Any]]) -> Tokenizer:
    """Add imr_nlp's infixes and special cases to a spaCy tokenizer.

    tokenizer (Tokenizer): an English tokenizer; changed in place.
    rules (list[dict]): rows of ``patterns/tokenizer.jsonl``.
    RETURNS (Tokenizer): the same tokenizer.
    """
    infixes = [r["pattern"] for r in rules if r["kind"] == "infix"]
    if infixes:
        defaults = list(English.Defaults.infixes or [])
        tokenizer.infix_finditer = compile_infix_regex(defaults + infixes).finditer
    for r in rules:
        if r["kind"] == "special":
            tokenizer.add_special_case(r["pattern"], [{ORTH: r["pattern"]}])
    return tokenizer


@registry.tokenizers("imr_nlp.tokenizer.v1")
def create_tokenizer() -> Callable[[Language], Tokenizer]:
    """Registered tokenizer factory (config: ``@tokenizers = "imr_nlp.tokenizer.v1"``)."""

    def make(nlp: Language) -> Tokenizer:
        base = registry.tokenizers.get("spacy.Tokenizer.v1")()(nlp)
        return customize(base, load_patterns("tokenizer"))

    return make


def blank() -> Language:
    """A blank English pipeline with imr_nlp's tokenizer and no components.

    RETURNS (Language): for reading and writing annotations, training data and
        anything else that needs imr_nlp's tokens without its taggers.
    """
    config = {"nlp": {"tokenizer": {"@tokenizers": "imr_nlp.tokenizer.v1"}}}
    return spacy.blank("en", config=config)
