"""The tokenizer of imr_nlp: spaCy's English rules plus a few for PDF-extracted letters.

Gold spans must align with tokens (``4mg#60`` gives STRENGTH ``4mg`` and
QUANTITY ``#60``; ``Page(s): 24`` keeps ``Page(s)`` whole). The extra rules
live in ``patterns/tokenizer.jsonl``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import spacy
from spacy.lang.en import English
from spacy.language import Language
from spacy.symbols import ORTH
from spacy.tokenizer import Tokenizer
from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex, registry

from ..patterns import load_patterns

_SURROGATES = re.compile("[\ud800-\udfff]")


class ImrTokenizer(Tokenizer):
    """spaCy's Tokenizer that first replaces lone surrogates (from broken decoding) by U+FFFD.

    spaCy cannot hash them (UnicodeEncodeError); one character for one keeps every offset.
    """

    def __call__(self, text: str):
        if not text.isascii():
            text = _SURROGATES.sub("\ufffd", text)
        return super().__call__(text)


def build_tokenizer(nlp: Language, rules: list[dict[str, Any]]) -> Tokenizer:
    """spaCy's English tokenizer with imr_nlp's infixes and special cases, built in one go.

    (Setting ``infix_finditer`` or adding special cases one by one on a finished tokenizer
    makes spaCy reload its ~2,700 exceptions each time: 0.3 s of every ``load()``.)

    nlp (Language): the English pipeline whose vocab and defaults the tokenizer uses.
    rules (list[dict]): rows of ``patterns/tokenizer.jsonl``.
    RETURNS (Tokenizer): the tokenizer.
    """
    defaults = English.Defaults
    infixes = list(defaults.infixes or []) + [r["pattern"] for r in rules if r["kind"] == "infix"]
    exceptions = dict(defaults.tokenizer_exceptions)
    for r in rules:
        if r["kind"] == "special":
            exceptions[r["pattern"]] = [{ORTH: r["pattern"]}]
    return ImrTokenizer(
        nlp.vocab,
        rules=exceptions,
        prefix_search=compile_prefix_regex(defaults.prefixes or []).search,
        suffix_search=compile_suffix_regex(defaults.suffixes or []).search,
        infix_finditer=compile_infix_regex(infixes).finditer,
        token_match=defaults.token_match,
        url_match=defaults.url_match,
    )


@registry.tokenizers("imr_nlp.tokenizer.v1")
def create_tokenizer() -> Callable[[Language], Tokenizer]:
    """Registered tokenizer factory (config: ``@tokenizers = "imr_nlp.tokenizer.v1"``)."""

    def make(nlp: Language) -> Tokenizer:
        return build_tokenizer(nlp, load_patterns("tokenizer"))

    return make


def blank() -> Language:
    """A blank English pipeline with imr_nlp's tokenizer and no components.

    RETURNS (Language): for reading and writing annotations, training data and
        anything else that needs imr_nlp's tokens without its taggers.
    """
    config = {"nlp": {"tokenizer": {"@tokenizers": "imr_nlp.tokenizer.v1"}}}
    return spacy.blank("en", config=config)
