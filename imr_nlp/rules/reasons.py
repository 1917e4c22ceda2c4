"""The reasons an item's rationale gives, as codes of REASONS.md: the rules of the
``imr_reasons`` component (``imr_nlp.pipeline.reasons``), as plain functions on text.

A rationale is split into sentences; the reviewer's own argument ("In this case ...",
"There is no documentation of ...") is told apart from quotations of a guideline
("MTUS states that ...", "Guidelines recommend ..."); the cues of ``patterns/reasons.jsonl``
count in the sentences where they apply (``classify``). Where they find nothing, a small
text classifier (``train_model``, shipped in ``models/imr_reasons_textcat``) gives its codes.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spacy.language import Language

from ..errors import ImrError
from ..patterns import load_patterns

# The codes of shared/real/REASONS.md, in its order.
CODES = (
    "no_functional_benefit",
    "exceeds_guideline_limit",
    "not_recommended",
    "indication_not_met",
    "conservative_care_first",
    "missing_information",
    "monitoring_not_documented",
    "no_modification",
    "redundant",
    "depends_on_denied",
    "criteria_met",
    "other",
)
SPANS_KEY = "imr_reasons"
MAX_REASONS = 3  # records.md: at most three codes an item
MIN_SCORE = 1.0  # a code needs this much cue weight over the rationale to be given
NEUTRAL_FACTOR = 0.75  # a sentence neither quoted nor applied counts at this share
RUNNER_UP_FACTOR = 0.5  # in one sentence, a code whose cue is weaker than the sentence's strongest
#                            counts at this share (a sentence mostly makes one argument)
# the code that argues for the request: on an upheld item a counterpoint (kept only when
# nothing else was found), on an overturned item the deciding reason (REASONS.md)
FAVOURABLE = "criteria_met"
SCOPES = ("applied", "neutral", "guideline")
# the text classifier (scripts/build_reasons_model.py): codes it learns, how it is trained and used
MODEL_NAME = "imr_reasons_textcat"
MODEL_CODES = tuple(
    c for c in CODES if c not in ("criteria_met", "other")
)  # criteria_met: from the outcome
MODEL_EPOCHS = 20
MODEL_HASH_ROWS = (
    1 << 14
)  # rows of the hashed bag-of-words table: 0.8 MB (spaCy's default 2**18: 11 MB)
MODEL_BATCH = 8
MODEL_DROPOUT = 0.2
MODEL_ALONE = 0.5  # where the cues found nothing: the classifier's codes at this probability (else its top one)
# the sentence markers of patterns/reasons.jsonl, highest precedence first, and the scope each gives:
# "In this case ..." beats a quotation, which beats a mere mention of the patient
MARKERS = (
    ("applied_strong", "applied"),
    ("quote", "guideline"),
    ("applied", "applied"),
    ("guideline", "guideline"),
)


@dataclass
class Cue:
    code: str
    pattern: re.Pattern
    weight: float
    scope: frozenset
    unless: re.Pattern | None = None
    generic: bool = False


@dataclass
class Rules:
    split: re.Pattern
    scopes: list[tuple[str, list[re.Pattern]]]  # (scope, its patterns), highest precedence first
    cues: list[Cue]


@dataclass
class Reason:
    """One code given to a rationale, with the sentences (character offsets) it came from."""

    code: str
    score: float
    first: int
    evidence: list[tuple[int, int]] = field(default_factory=list)
    source: str = "rules"  # "rules" or "model" (the text classifier)


def _compile(p: str) -> re.Pattern:
    return re.compile(p, re.IGNORECASE)


@cache
def rules() -> Rules:
    """The compiled rows of the package's ``patterns/reasons.jsonl``."""
    return compile_rules(load_patterns("reasons"))


def compile_rules(rows: list[dict[str, Any]]) -> Rules:
    """Compile rows of ``patterns/reasons.jsonl`` (a pipeline's own copy, or the package's)."""
    splits = [r["pattern"] for r in rows if r["kind"] == "split"]
    cues = [
        Cue(
            r["code"],
            _compile(r["pattern"]),
            float(r.get("weight", 1.0)),
            frozenset(r.get("scope", SCOPES)),
            _compile(r["unless"]) if r.get("unless") else None,
            bool(r.get("generic", False)),
        )
        for r in rows
        if r["kind"] == "cue"
    ]
    unknown = sorted({c.code for c in cues} - set(CODES))
    if unknown:
        from ..errors import Errors, PatternFileError

        raise PatternFileError(
            Errors.E002.format(path="reasons.jsonl", line="?", problem=f"unknown code(s) {unknown}")
        )
    return Rules(
        split=re.compile("|".join(f"(?:{p})" for p in splits)),
        scopes=[
            (
                scope,
                [
                    _compile(r["pattern"])
                    for r in rows
                    if r["kind"] == "scope" and r["scope"] == marker
                ],
            )
            for marker, scope in MARKERS
        ],
        cues=cues,
    )


def sentences(text: str, r: Rules | None = None) -> list[tuple[int, int]]:
    """Character offsets (start, end) of the sentences of a rationale, without outer spaces."""
    bounds, start = [], 0
    for m in (r or rules()).split.finditer(text):
        bounds.append((start, m.start()))
        start = m.end()
    bounds.append((start, len(text)))
    out = []
    for s, e in bounds:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


def scope(sentence: str, r: Rules | None = None) -> str:
    """'applied' (the reviewer about this patient or request), 'guideline' (a quotation) or 'neutral'."""
    for where, patterns in (r or rules()).scopes:
        if any(p.search(sentence) for p in patterns):
            return where
    return "neutral"


def classify(
    text: str, outcome: str | None = None, model: Any = None, r: Rules | None = None
) -> list[Reason]:
    """The reasons a rationale gives, most prominent first, at most ``MAX_REASONS``.

    text (str): the rationale.
    outcome (str | None): "upheld" or "overturned" when known; an upheld item keeps
        ``criteria_met`` only when no other reason was found, an overturned item gets it alone.
    model (Language | None): a text classifier (``train_model``) that speaks where the cues
        found nothing, see ``combine``.
    r (Rules | None): compiled cue rules (the pipeline's); the package's when None.
    RETURNS (list[Reason]): codes with their score and evidence sentences.
    """
    if not text or not text.strip():
        return []
    r = r or rules()
    found: dict[str, Reason] = {}
    for (s, e), where in zip(sentences(text, r), scopes(text, r), strict=True):
        sent = " ".join(text[s:e].split())
        factor = NEUTRAL_FACTOR if where == "neutral" else 1.0
        best: dict[str, float] = {}
        generic: dict[str, float] = {}
        for cue in r.cues:
            if where not in cue.scope or not cue.pattern.search(sent):
                continue
            if cue.unless is not None and cue.unless.search(sent):
                continue
            target = generic if cue.generic else best
            target[cue.code] = max(target.get(cue.code, 0.0), cue.weight)
        if not best:
            best = generic
        top = max(best.values(), default=0.0)
        for code, weight in best.items():
            reason = found.setdefault(code, Reason(code, 0.0, s))
            reason.score += weight * factor * (1.0 if weight >= top else RUNNER_UP_FACTOR)
            reason.evidence.append((s, e))
    if outcome == "overturned":
        # the basis of an overturned decision is that the request meets the guideline;
        # reasons against it are what the reviewer weighed and set aside
        bounds = sentences(text, r)
        met = found.get(FAVOURABLE) or Reason(FAVOURABLE, MIN_SCORE, bounds[-1][0], [bounds[-1]])
        return [met]
    kept = [x for x in found.values() if x.score >= MIN_SCORE]
    if outcome == "upheld":
        against = [x for x in kept if x.code != FAVOURABLE]
        kept = against or kept
    ranked = sorted(kept, key=lambda x: (-x.score, x.first))[:MAX_REASONS]
    if model is not None:
        ranked = combine(ranked, text, model)
    return ranked


def scopes(text: str, r: Rules | None = None) -> list[str]:
    """The scope of each sentence of a rationale (``sentences``), see ``scope``."""
    out: list[str] = []
    for s, e in sentences(text, r):
        out.append(scope(" ".join(text[s:e].split()), r))
    return out


def argument_sentences(text: str) -> list[tuple[int, int]]:
    """The sentences of a rationale that are not a quoted guideline (what the classifier reads)."""
    return [
        b for b, where in zip(sentences(text), scopes(text), strict=True) if where != "guideline"
    ]


def model_text(text: str) -> str:
    """The classifier's input: the argument sentences, whitespace collapsed."""
    return " ".join(" ".join(text[s:e].split()) for s, e in argument_sentences(text))


def combine(ranked: list[Reason], text: str, model: Any) -> list[Reason]:
    """The cues decide; where they found nothing, the classifier gives its codes
    (probability >= MODEL_ALONE, else its top one). A code from the classifier carries as
    evidence the argument sentence the classifier scores highest for it."""
    if ranked:
        return ranked
    bounds = argument_sentences(text)
    if not bounds:
        return ranked
    cats = model(model_text(text)).cats
    order = sorted(cats, key=lambda c: -cats[c])
    chosen = ([c for c in order if cats[c] >= MODEL_ALONE] or order[:1])[:MAX_REASONS]
    per_sentence = [model(" ".join(text[s:e].split())).cats for s, e in bounds]
    out = []
    for c in chosen:
        i = max(range(len(bounds)), key=lambda k: per_sentence[k].get(c, 0.0))
        out.append(Reason(c, cats[c], bounds[i][0], [bounds[i]], source="model"))
    return out


def train_model(
    texts: list[str], labels: list[list[str]], *, seed: int = 0, epochs: int = MODEL_EPOCHS
) -> "Language":
    """Train the bag-of-words ``textcat_multilabel`` of decision reasons on rationales and their codes.

    texts (list[str]): rationales (``model_text`` is applied here). labels (list[list[str]]): their codes.
    RETURNS (Language): a blank English pipeline with one ``textcat_multilabel``; ``nlp.to_disk`` saves it.
    """
    import random

    import spacy
    from spacy.training import Example
    from spacy.util import fix_random_seed, minibatch

    fix_random_seed(seed)
    nlp = spacy.blank("en")
    tc: Any = nlp.add_pipe(
        "textcat_multilabel",
        config={
            "model": {
                "@architectures": "spacy.TextCatBOW.v3",
                "exclusive_classes": False,
                "ngram_size": 2,
                "no_output_layer": False,
                "nO": None,
                "length": MODEL_HASH_ROWS,
            }
        },
    )
    for c in MODEL_CODES:
        tc.add_label(c)
    examples = [
        Example.from_dict(
            nlp.make_doc(model_text(t)), {"cats": {c: float(c in codes_) for c in MODEL_CODES}}
        )
        for t, codes_ in zip(texts, labels, strict=True)
    ]
    optimizer = nlp.initialize(lambda: examples)
    rng = random.Random(seed)
    for _ in range(epochs):
        rng.shuffle(examples)
        for batch in minibatch(examples, MODEL_BATCH):
            nlp.update(batch, sgd=optimizer, drop=MODEL_DROPOUT)
    return nlp


def load_model(path: str | Path | None = None) -> "Language | None":
    """The shipped reasons classifier (``models/imr_reasons_textcat``), or None if it is absent."""
    from ..patterns import data_dir

    if path is None:
        try:
            path = data_dir("models") / MODEL_NAME
        except ImrError:
            return None
    path = Path(path)
    if not (path / "config.cfg").is_file():
        return None
    return _load_cached(str(path.resolve()))


@lru_cache(maxsize=4)
def _load_cached(path: str) -> "Language":
    import spacy

    return spacy.load(path)


def codes(text: str, outcome: str | None = None, model: Any = None) -> list[str]:
    """RETURNS (list[str]): just the codes of ``classify``."""
    return [r.code for r in classify(text, outcome, model)]


# ---- scoring (used by tests/test_reasons.py and scripts/evaluate_reasons.py) ----


def score(pairs: Iterable[tuple[list[str], list[str]]]) -> dict[str, Any]:
    """Micro P/R/F1, per-code P/R/F1 and first-code accuracy of (predicted, gold) code lists.

    First-code accuracy is over items whose gold has a code: the predicted first code equals it.
    """
    pairs = list(pairs)
    per = {c: {"tp": 0, "fp": 0, "fn": 0} for c in CODES}
    first_ok = first_n = 0
    for pred, gold in pairs:
        p, g = set(pred), set(gold)
        for c in p & g:
            per[c]["tp"] += 1
        for c in p - g:
            per[c]["fp"] += 1
        for c in g - p:
            per[c]["fn"] += 1
        if gold:
            first_n += 1
            first_ok += bool(pred) and pred[0] == gold[0]

    def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        return {"p": p, "r": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "support": tp + fn}

    tot = {k: sum(v[k] for v in per.values()) for k in ("tp", "fp", "fn")}
    return {
        "items": len(pairs),
        "micro": prf(**tot),
        "first_code_accuracy": first_ok / first_n if first_n else 0.0,
        "per_code": {c: prf(**v) for c, v in per.items() if any(v.values())},
    }


def format_scores(s: dict[str, Any], title: str = "") -> str:
    """A plain-text table of ``score``'s result."""
    lines = [title] if title else []
    lines.append(f"{'code':28} {'P':>6} {'R':>6} {'F1':>6} {'n':>4}")
    for c, v in s["per_code"].items():
        lines.append(f"{c:28} {v['p']:6.2f} {v['r']:6.2f} {v['f1']:6.2f} {v['support']:4d}")
    m = s["micro"]
    lines.append(f"{'micro':28} {m['p']:6.2f} {m['r']:6.2f} {m['f1']:6.2f} {m['support']:4d}")
    lines.append(f"first-code accuracy {s['first_code_accuracy']:.3f} over {s['items']} items")
    return "\n".join(lines)
