"""imr_context: medspaCy's ConText with the modifiers IMR letters need.

Rules live in ``patterns/context.jsonl`` (NECESSITY negation, "non-certified",
"is not recommended"); medspaCy's general clinical rules are added for DRUG,
DRUG_CLASS and DIAGNOSIS when ``use_medspacy_rules`` is on. The full rule set
is saved with the pipeline. ConText only runs on letters that have entities.
"""

import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span

from .._medspacy import import_medspacy, rule_matcher, run_matcher
from ..extensions import register
from ..factories import imr_factory
from ._rules import RuleFiles
from .sentences import sentence_ids

# medspaCy's categories plus the two IMR letters add; each sets a boolean on the span.
SPAN_ATTRS: dict[str, dict[str, bool]] = {
    "NEGATED_EXISTENCE": {"is_negated": True},
    "POSSIBLE_EXISTENCE": {"is_uncertain": True},
    "HISTORICAL": {"is_historical": True},
    "HYPOTHETICAL": {"is_hypothetical": True},
    "FAMILY": {"is_family": True},
    "NON_CERTIFIED": {"imr_is_non_certified": True},
    "NOT_RECOMMENDED": {"imr_is_not_recommended": True},
}
GENERAL_TYPES = ["DRUG", "DRUG_CLASS", "DIAGNOSIS"]


def _medspacy_rules() -> list[dict[str, Any]]:
    import medspacy

    path = Path(medspacy.__file__).resolve().parents[1] / "resources" / "en" / "context_rules.json"
    rows = json.loads(path.read_text(encoding="utf8"))["context_rules"]
    for row in rows:
        row.setdefault("allowed_types", GENERAL_TYPES)
        row["allowed_types"] = [
            t for t in row["allowed_types"] if t in GENERAL_TYPES
        ] or GENERAL_TYPES
    return rows


class Context(RuleFiles):
    """A thin wrapper around medspaCy's ConText that owns its rules."""

    rule_files = ("context",)

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
        self.use_medspacy_rules = use_medspacy_rules
        register()

    def read_rules(self, rules_path: str | Path | None = None) -> dict[str, list[dict[str, Any]]]:
        """imr_nlp's rules (``rules_path``: a file like ``patterns/context.jsonl``, given as
        ``[initialize.components.imr_context] rules_path`` in a config; None for the
        package's own), plus medspaCy's general rules when ``use_medspacy_rules`` is on."""
        files = super().read_rules(rules_path)
        if self.use_medspacy_rules:
            import_medspacy()
            files["context"] = files["context"] + _medspacy_rules()
        return files

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
        expanded = [_as_phrase(d, self.nlp) for r in rules for d in _expand_sets(_rule_dict(r))]
        self.matcher = rule_matcher(
            self.nlp,
            self.name,
            [ConTextRule.from_dict(d) for d in expanded],
            attr="LOWER",
            prune=False,
        )

    def __call__(self, doc: Doc) -> Doc:
        self.ensure_rules()
        ents = doc.ents
        if not ents:
            return doc
        self._apply(doc, ents, run_matcher(self.matcher, doc))
        if not self.keep_graph:
            # medspaCy's graph and modifiers hold Spans, which cannot cross processes
            # (nlp.pipe(n_process=2)) nor go into a DocBin: keep them as plain tuples in
            # span._.imr_modifiers, and medspaCy's span._.modifiers at its default.
            doc._.context_graph = None
            for ent in doc.ents:
                if ent._.modifiers:
                    ent._.imr_modifiers = tuple(
                        (m.category, m.rule.literal, m.modifier_span[0], m.modifier_span[1])
                        for m in ent._.modifiers
                    )
                    ent._.modifiers = ()
        return doc

    def _apply(self, doc: Doc, ents: Sequence[Span], matches: list) -> None:
        """medspaCy's ConText algorithm, one sentence at a time and only in sentences with
        entities: a modifier's scope never leaves its sentence, so nothing changes but the
        cost (medspaCy compares every pair of modifiers of the whole letter)."""
        from medspacy.context.context_graph import ConTextGraph
        from medspacy.context.context_modifier import ConTextModifier

        sent_id = sentence_ids(doc)
        targets: dict[int, list[Span]] = {}
        for ent in ents:
            targets.setdefault(int(sent_id[ent.start]), []).append(ent)
        modifiers: dict[int, list] = {}
        strings = self.nlp.vocab.strings
        rule_map = self.matcher.rule_map
        for match_id, start, end in matches:
            sid = int(sent_id[start])
            if sid in targets:
                rule = rule_map[strings[match_id]]
                modifiers.setdefault(sid, []).append(ConTextModifier(rule, start, end, doc))
        graphs = []
        for sid, mods in modifiers.items():
            graph = ConTextGraph(prune_on_modifier_overlap=False)
            graph.targets = targets[sid]
            graph.modifiers = mods
            graph.update_scopes()
            graph.apply_modifiers()
            for target, modifier in graph.edges:
                target._.modifiers += (modifier,)
            self.context.set_context_attributes(graph.edges)
            graphs.append(graph)
        doc._.context_graph = graphs if self.keep_graph else None


def _rule_dict(row: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "literal",
        "category",
        "pattern",
        "direction",
        "allowed_types",
        "excluded_types",
        "max_scope",
        "max_targets",
        "terminated_by",
        "metadata",
    )
    out = {k: row[k] for k in keep if k in row and row[k] is not None}
    for k in ("allowed_types", "excluded_types", "terminated_by"):
        if k in out:
            out[k] = set(out[k])
    return out


def _expand_sets(rule: dict[str, Any], *, limit: int = 256) -> list[dict[str, Any]]:
    """One rule per combination of ``{"LOWER": {"IN": [...]}}`` alternatives and optional
    (``"OP": "?"``) tokens, so that most rules become plain phrases.

    spaCy evaluates a set predicate in Python on every token of every letter, and each
    Matcher pattern costs time on every letter; phrases go to the PhraseMatcher (a hash
    lookup). The expanded rules match exactly the same token sequences.
    """
    pattern = rule.get("pattern")
    if not isinstance(pattern, list):
        return [rule]
    options: list[list[dict[str, Any] | None]] = []
    for tok in pattern:
        low = tok.get("LOWER")
        op = tok.get("OP")
        orth = tok.get("ORTH")
        if (
            isinstance(orth, str)
            and not any(c.isalnum() for c in orth)
            and set(tok) <= {"ORTH", "OP"}
        ):
            low, tok = (
                orth,
                {"LOWER": orth, **({"OP": op} if op else {})},
            )  # punctuation: same in LOWER
        if not set(tok) <= {"LOWER", "OP"} or op not in (None, "?"):
            options.append([tok])
            continue
        values = low["IN"] if isinstance(low, dict) and set(low) == {"IN"} else [low]
        if not all(isinstance(v, str) for v in values):
            options.append([tok])
            continue
        alts: list[dict[str, Any] | None] = [{"LOWER": v} for v in values]
        if op == "?":
            alts.append(None)
        options.append(alts)
    total = 1
    for opt in options:
        total *= len(opt)
    if total == 1 and not any(t.get("OP") == "?" for t in pattern):
        return [rule]
    if total > limit:
        return [rule]
    out = []
    for combo in itertools.product(*options):
        toks = [t for t in combo if t is not None]
        if toks:
            out.append({**rule, "pattern": toks})
    return out


def _as_phrase(rule: dict[str, Any], nlp: Language) -> dict[str, Any]:
    """A token pattern of plain lower-case words becomes a phrase rule (PhraseMatcher: a hash
    lookup per token instead of a Matcher state machine), if the tokenizer splits the phrase
    into exactly those words."""
    pattern = rule.get("pattern")
    if not isinstance(pattern, list) or not pattern:
        return rule
    if not all(set(t) == {"LOWER"} and isinstance(t["LOWER"], str) for t in pattern):
        return rule
    words = [t["LOWER"] for t in pattern]
    phrase = " ".join(words)
    if [t.lower_ for t in nlp.make_doc(phrase)] != words:
        return rule
    out = {k: v for k, v in rule.items() if k != "pattern"}
    out["literal"] = phrase
    return out


@imr_factory(
    "imr_context",
    assigns=[
        "span._.is_negated",
        "span._.imr_is_non_certified",
        "span._.imr_is_not_recommended",
        "span._.imr_modifiers",
    ],
    default_config={"use_medspacy_rules": True, "keep_graph": False},
)
def make_context(
    nlp: Language, name: str, *, use_medspacy_rules: bool, keep_graph: bool
) -> Context:
    """Factory of the imr_context component.

    keep_graph (bool): keep medspaCy's ConTextGraph and modifier objects on the doc
        (for medspaCy's visualizer; not for n_process > 1 or DocBin).
    """
    return Context(nlp, name, use_medspacy_rules=use_medspacy_rules, keep_graph=keep_graph)
