"""imr_reasons: ``decision_reasons`` on every record, and their evidence as spans.

For every record of ``doc._.imr_requests`` the component codes the record's ``rationale``
(``imr_nlp.rules.reasons.classify``: cues of ``patterns/reasons.jsonl``, and the shipped
classifier where they find nothing), sets ``rec["decision_reasons"]`` (most prominent first,
at most three) and puts the sentences each code came from in ``doc.spans["imr_reasons"]``
(label = code), so that
``displacy.render(doc, style="span", options={"spans_key": "imr_reasons"})`` shows why.
"""

import re
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import ensure_path

from ..extensions import register
from ..factories import imr_factory
from ..rules.reasons import MODEL_NAME, SPANS_KEY, classify, compile_rules, load_model
from ._rules import RuleFiles


def _locate(text: str, rationale: str, start: int) -> int:
    """Where a record's rationale starts in the letter (-1 if not found verbatim)."""
    at = text.find(rationale, start)
    return at if at >= 0 else text.find(rationale)


def _find_loose(text: str, snippet: str, start: int) -> tuple[int, int] | None:
    """Where a sentence stands in the letter when its spacing differs (line breaks, collapsed
    spaces): its words in order, any whitespace between them."""
    words = snippet.split()
    if not words:
        return None
    pattern = re.compile(r"\s+".join(map(re.escape, words)))
    m = pattern.search(text, start) or pattern.search(text)
    return (m.start(), m.end()) if m else None


class Reasons(RuleFiles):
    """Sets ``decision_reasons`` on each record and the evidence span group ``imr_reasons``.

    Its cues (``patterns/reasons.jsonl``) and its classifier are saved with the pipeline
    (``nlp.to_disk``: ``reasons.jsonl`` and ``imr_reasons_textcat/``) and read back from it."""

    rule_files = ("reasons",)

    def __init__(self, nlp: Language, name: str = "imr_reasons", use_model: bool = True):
        register()
        self.name = name
        self.use_model = use_model
        self.model = load_model() if use_model else None

    def set_rules(self, rules: list[dict[str, Any]]) -> None:
        """Compile the cue rows (``patterns/reasons.jsonl``)."""
        self.rules = rules
        self.compiled = compile_rules(rules)

    def to_disk(self, path: str | Path, *, exclude: tuple = ()) -> None:
        super().to_disk(path, exclude=exclude)
        if self.model is not None:
            self.model.to_disk(ensure_path(path) / MODEL_NAME)

    def from_disk(self, path: str | Path, *, exclude: tuple = ()) -> "Reasons":
        super().from_disk(path, exclude=exclude)
        saved = ensure_path(path) / MODEL_NAME
        if self.use_model and (saved / "config.cfg").is_file():
            self.model = load_model(saved)
        return self

    def __call__(self, doc: Doc) -> Doc:
        self.ensure_rules()
        spans: list[Span] = []
        cursor = 0
        letter = doc.text  # Doc.text joins every token on each access
        for rec in doc._.imr_requests or []:
            rationale = rec.get("rationale") or ""
            found = classify(rationale, rec.get("outcome"), self.model, self.compiled)
            rec["decision_reasons"] = [r.code for r in found]
            if not rationale.strip():
                continue
            at = _locate(letter, rationale, cursor)
            for r in found:
                for s, e in r.evidence:
                    if at >= 0:
                        where: tuple[int, int] | None = (at + s, at + e)
                    else:  # the record's rationale is not verbatim in the letter: find each sentence
                        where = _find_loose(letter, rationale[s:e], cursor)
                    if where is None:
                        continue
                    span = doc.char_span(*where, label=r.code, alignment_mode="expand")
                    if span is not None:
                        spans.append(span)
            if at >= 0:
                cursor = at + len(rationale)
        doc.spans[SPANS_KEY] = sorted(spans, key=lambda sp: (sp.start, sp.end, sp.label_))
        return doc


@imr_factory(
    "imr_reasons",
    assigns=["doc._.imr_requests", "doc.spans"],
    requires=["doc._.imr_requests"],
    default_config={"use_model": True},
)
def make_reasons(nlp: Language, name: str, use_model: bool) -> Reasons:
    """Factory of the imr_reasons component (use_model: add the shipped classifier to the cues)."""
    return Reasons(nlp, name, use_model)
