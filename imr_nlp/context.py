"""imr_context: medspaCy's ConText with the modifiers IMR letters need.

Rules live in ``patterns/context.jsonl`` (NECESSITY negation, "non-certified",
"is not recommended"); medspaCy's general clinical rules are added for DRUG,
DRUG_CLASS and DIAGNOSIS when ``use_medspacy_rules`` is on. The full rule set
is saved with the pipeline. ConText only runs on letters that have entities.
"""

import json
import warnings
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import ensure_path

from ._medspacy import import_medspacy
from .patterns import load_patterns, read_jsonl

# medspaCy's categories plus the two IMR letters add; each sets a boolean on the span.
SPAN_ATTRS: dict[str, dict[str, bool]] = {
    "NEGATED_EXISTENCE": {"is_negated": True},
    "POSSIBLE_EXISTENCE": {"is_uncertain": True},
    "HISTORICAL": {"is_historical": True},
    "HYPOTHETICAL": {"is_hypothetical": True},
    "FAMILY": {"is_family": True},
    "NON_CERTIFIED": {"is_non_certified": True},
    "NOT_RECOMMENDED": {"is_not_recommended": True},
}
GENERAL_TYPES = ["DRUG", "DRUG_CLASS", "DIAGNOSIS"]


def _medspacy_rules() -> list[dict[str, Any]]:
    import medspacy

    path = Path(medspacy.__file__).resolve().parents[1] / "resources" / "en" / "context_rules.json"
    rows = json.loads(path.read_text(encoding="utf8"))["context_rules"]
    for row in rows:
        row.setdefault("allowed_types", GENERAL_TYPES)
        row["allowed_types"] = [t for t in row["allowed_types"] if t in GENERAL_TYPES] or GENERAL_TYPES
    return rows


class Context:
    """A thin wrapper around medspaCy's ConText that owns its rules."""

    def __init__(
        self,
        nlp: Language,
        name: str = "imr_context",
        *,
        use_medspacy_rules: bool = True,
        keep_graph: bool = False,
    ):
        self.nlp = nlp
        self.name = name
        self.keep_graph = keep_graph
        for attrs in SPAN_ATTRS.values():
            for attr in attrs:
                if not Span.has_extension(attr):
                    Span.set_extension(attr, default=False)
        rules = load_patterns("context")
        if use_medspacy_rules:
            import_medspacy()
            rules = rules + _medspacy_rules()
        self.set_rules(rules)

    def set_rules(self, rules: list[dict[str, Any]]) -> None:
        """(Re)build ConText from rule rows (medspaCy ConTextRule fields)."""
        ConText, ConTextRule, _, _ = import_medspacy()
        self.rules = rules
        # No pruning of overlapping modifiers: medspaCy's general "is not" (for DRUG,
        # DRUG_CLASS, DIAGNOSIS) would otherwise remove the NECESSITY-only "not".
        self.context = ConText(
            self.nlp,
            name=self.name,
            rules=None,
            span_attrs=SPAN_ATTRS,
            prune_on_modifier_overlap=False,
        )
        self.context.add([ConTextRule.from_dict(_rule_dict(r)) for r in rules])

    def __call__(self, doc: Doc) -> Doc:
        if not doc.ents:
            return doc
        with warnings.catch_warnings():
            # medspaCy runs an empty sub-matcher on every doc, and spaCy warns (W036) each time
            warnings.filterwarnings("ignore", message=r"\[W036\]")
            self.context(doc)
        if not self.keep_graph:
            # medspaCy's graph and modifiers hold Spans, which cannot cross processes
            # (nlp.pipe(n_process=2)) nor go into a DocBin: keep them as plain tuples.
            doc._.context_graph = None
            for ent in doc.ents:
                if ent._.modifiers:
                    ent._.modifiers = tuple(
                        (m.category, m.rule.literal, m.modifier_span[0], m.modifier_span[1])
                        for m in ent._.modifiers
                    )
        return doc

    def to_disk(self, path: str | Path, *, exclude: tuple = ()) -> None:
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        with (path / "context.jsonl").open("w", encoding="utf8") as f:
            for row in self.rules:
                f.write(json.dumps(row) + "\n")

    def from_disk(self, path: str | Path, *, exclude: tuple = ()) -> "Context":
        self.set_rules(read_jsonl(ensure_path(path) / "context.jsonl", required=("literal", "category")))
        return self


def _rule_dict(row: dict[str, Any]) -> dict[str, Any]:
    keep = ("literal", "category", "pattern", "direction", "allowed_types", "excluded_types",
            "max_scope", "max_targets", "terminated_by", "metadata")
    out = {k: row[k] for k in keep if k in row and row[k] is not None}
    for k in ("allowed_types", "excluded_types", "terminated_by"):
        if k in out:
            out[k] = set(out[k])
    return out


@Language.factory(
    "imr_context",
    assigns=["span._.is_negated", "span._.modifiers"],
    default_config={"use_medspacy_rules": True, "keep_graph": False},
)
def make_context(nlp: Language, name: str, *, use_medspacy_rules: bool, keep_graph: bool) -> Context:
    """Factory of the imr_context component.

    keep_graph (bool): keep medspaCy's ConTextGraph and modifier objects on the doc
        (for medspaCy's visualizer; not for n_process > 1 or DocBin).
    """
    return Context(nlp, name, use_medspacy_rules=use_medspacy_rules, keep_graph=keep_graph)
