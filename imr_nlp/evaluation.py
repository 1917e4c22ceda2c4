"""Quality against gold: precision, recall and F1 per label, exact and overlap match.

Exact: same start, end and label. Overlap: same label and at least one shared
character (each gold span and each predicted span is matched at most once).
Negation accuracy is the share of gold NECESSITY spans whose exactly matching
predicted span has the same ``negated`` value.
"""

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from .errors import Errors, GoldFileError

Span3 = tuple[int, int, str]
# "gold": shared/gold/*.jsonl; the others are the annotation formats of imr_nlp.annotations
GOLD_FORMATS = ("gold", "prodigy", "label_studio", "doccano", "brat")


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    """Precision, recall and F1 (0.0 where undefined)."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"p": p, "r": r, "f": f, "tp": tp, "fp": fp, "fn": fn}


def _overlap_matches(pred: list[Span3], gold: list[Span3]) -> int:
    used: set[int] = set()
    n = 0
    for ps, pe, pl in pred:
        for j, (gs, ge, gl) in enumerate(gold):
            if j not in used and gl == pl and ps < ge and gs < pe:
                used.add(j)
                n += 1
                break
    return n


def score_spans(
    pairs: Iterable[tuple[list[Span3], list[Span3]]],
    *,
    labels: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Score (predicted, gold) span lists of many documents.

    pairs (Iterable): ``(pred, gold)`` per document, spans as ``(start, end, label)``.
    labels (Iterable[str] | None): labels to report; all seen when None.
    RETURNS (dict): ``{"exact": {label: prf}, "overlap": {label: prf}}`` with a "micro" row each.
    """
    counts: dict[str, dict[str, list[int]]] = {"exact": {}, "overlap": {}}
    for pred, gold in pairs:
        all_labels = {s[2] for s in pred} | {s[2] for s in gold}
        for lab in all_labels:
            p = [s for s in pred if s[2] == lab]
            g = [s for s in gold if s[2] == lab]
            tp = len(set(p) & set(g))
            c = counts["exact"].setdefault(lab, [0, 0, 0])
            c[0] += tp
            c[1] += len(p) - tp
            c[2] += len(g) - tp
            tpo = _overlap_matches(p, g)
            c = counts["overlap"].setdefault(lab, [0, 0, 0])
            c[0] += tpo
            c[1] += len(p) - tpo
            c[2] += len(g) - tpo
    out: dict[str, Any] = {}
    for mode, per in counts.items():
        wanted = list(labels) if labels is not None else sorted(per)
        rows = {lab: prf(*per.get(lab, [0, 0, 0])) for lab in wanted}
        total = [sum(per.get(lab, [0, 0, 0])[i] for lab in wanted) for i in range(3)]
        rows["micro"] = prf(*total)
        out[mode] = rows
    return out


def score_exact(pred_docs: Sequence[Doc], gold_docs: Sequence[Doc]) -> dict[str, Any]:
    """Exact-match micro precision, recall and F1 of ``doc.ents`` (offsets and label), by
    :func:`score_spans`: what training picks labels and reports folds by.

    pred_docs (Sequence[Doc]): predictions, aligned with gold_docs by position.
    gold_docs (Sequence[Doc]): the gold documents (same texts).
    RETURNS (dict): ``p``, ``r``, ``f`` (rounded to 4 places), ``tp``, ``n_pred``, ``n_gold``
        and ``per_label`` (the same keys for each label seen).
    """
    pairs = [
        (
            [(e.start_char, e.end_char, e.label_) for e in pred.ents],
            [(e.start_char, e.end_char, e.label_) for e in gold.ents],
        )
        for pred, gold in zip(pred_docs, gold_docs, strict=True)
    ]
    rows = score_spans(pairs)["exact"]

    def counts(row: dict[str, Any]) -> dict[str, Any]:
        return {
            "p": round(row["p"], 4),
            "r": round(row["r"], 4),
            "f": round(row["f"], 4),
            "tp": row["tp"],
            "n_pred": row["tp"] + row["fp"],
            "n_gold": row["tp"] + row["fn"],
        }

    out = counts(rows.pop("micro"))
    out["per_label"] = {label: counts(row) for label, row in rows.items()}
    return out


def score_ents(examples: Iterable[Any], **kwargs: Any) -> dict[str, Any]:
    """spaCy's scores of ``doc.ents`` for Examples (``Scorer.score_spans``, exact match):
    ``ents_p``, ``ents_r``, ``ents_f`` and ``ents_per_type`` (``{label: {"p", "r", "f"}}``).
    The ``score`` of imr_entities, so that ``nlp.evaluate`` and ``spacy evaluate`` report it."""
    from spacy.scorer import Scorer

    kwargs.setdefault("allow_overlap", False)
    return Scorer.score_spans(examples, "ents", **kwargs)


def score_docs(
    pred_docs: list[Doc], gold: list[dict[str, Any]], *, labels: Iterable[str] | None = None
) -> dict[str, Any]:
    """Score processed docs against gold records (``{"text", "spans"}`` dicts).

    RETURNS (dict): ``score_spans`` output plus ``"negation"``: accuracy on NECESSITY.
    """
    pairs = []
    neg_total = neg_right = 0
    for doc, g in zip(pred_docs, gold, strict=True):
        pred = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
        gold_spans = [(s["start"], s["end"], s["label"]) for s in g["spans"]]
        pairs.append((pred, gold_spans))
        by_pos = {(e.start_char, e.end_char): e for e in doc.ents if e.label_ == "NECESSITY"}
        for s in g["spans"]:
            if s["label"] == "NECESSITY" and "negated" in s:
                neg_total += 1
                e = by_pos.get((s["start"], s["end"]))
                if e is not None and bool(getattr(e._, "is_negated", False)) == bool(s["negated"]):
                    neg_right += 1
    scores = score_spans(pairs, labels=labels)
    scores["negation"] = {
        "correct": neg_right,
        "total": neg_total,
        "accuracy": neg_right / neg_total if neg_total else None,
    }
    return scores


def read_gold_file(path: str | Path, *, format: str = "gold") -> list[dict[str, Any]]:
    """Read gold letters: ``{"id", "text", "spans": [{"start", "end", "label", "negated"?}]}``.

    path (str | Path): the file (a folder for brat).
    format (str): "gold" (JSON Lines in the shape of ``shared/gold/seeds.jsonl``) or an
        annotation format of ``imr_nlp.annotations`` ("prodigy", "label_studio",
        "doccano", "brat"), whose spans are checked against their text.
    RETURNS (list[dict]): one dict per letter, in file order.
    RAISES (GoldFileError): E050 for a missing file, E051 for a line that is not gold,
        E052 for an unknown format; AnnotationError (E031) for a bad annotation file.
    """
    if format not in GOLD_FORMATS:
        raise GoldFileError(Errors.E052.format(format=format, known=", ".join(GOLD_FORMATS)))
    path = Path(path)
    if not path.exists() or (format != "brat" and not path.is_file()):
        raise GoldFileError(Errors.E050.format(path=path))
    if format != "gold":
        from .annotations import read_annotations

        return [_gold_dict(doc, i) for i, doc in enumerate(read_annotations(path, format=format))]
    return [row for _, row in _gold_lines(path)]


def read_gold(path: str | Path, *, nlp: Language | None = None) -> list[Doc]:
    """Read a gold file (``shared/gold/*.jsonl``: ``id``, ``text``, ``spans``) into Docs: the
    one gold reader of imr_nlp (training, evaluation and the CLI read gold through it).

    Each line is checked as by :func:`read_gold_file`, then each span against its text as
    for an annotation file (``imr_nlp.annotations.checks``).

    path (str | Path): the JSONL file.
    nlp (Language | None): makes the Docs; defaults to ``imr_nlp.pipeline.tokenizer.blank()``.
    RETURNS (list[Doc]): the Docs with ``ents``, ``_.imr_doc_id``, ``_.is_negated``
        on NECESSITY spans and, where the line has them, ``_.imr_requests``.
    RAISES (GoldFileError): E050 / E051 as :func:`read_gold_file`; AnnotationError (E031)
        for a span that does not fit its text.
    """
    from .annotations.checks import get_nlp, record_doc, register_extensions

    path = Path(path)
    if not path.is_file():
        raise GoldFileError(Errors.E050.format(path=path))
    register_extensions()
    nlp = get_nlp(nlp)
    docs = []
    for n, row in _gold_lines(path):
        doc = record_doc(nlp, row, path, f"line {n}")
        if "requests" in row:
            doc._.imr_requests = row["requests"]
        docs.append(doc)
    return docs


def _gold_lines(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """The checked lines of a gold file, with their line numbers."""
    rows = []
    try:
        with path.open(encoding="utf8") as f:
            for n, line in enumerate(f, start=1):
                if line.strip():
                    rows.append((n, _gold_line(line, path, n)))
    except UnicodeDecodeError:
        problem = "not UTF-8 text"
        raise GoldFileError(Errors.E051.format(path=path, line="?", problem=problem)) from None
    if not rows:
        raise GoldFileError(Errors.E051.format(path=path, line=1, problem="no letters in the file"))
    return rows


def _gold_line(line: str, path: Path, n: int) -> dict[str, Any]:
    def fail(problem: str) -> GoldFileError:
        return GoldFileError(Errors.E051.format(path=path, line=n, problem=problem))

    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise fail(f"bad JSON ({e.msg})") from None
    if not isinstance(obj, dict):
        raise fail("not a JSON object")
    missing = [k for k in ("text", "spans") if k not in obj]
    if missing:
        raise fail(f"missing key(s) {missing}")
    if not isinstance(obj["text"], str) or not isinstance(obj["spans"], list):
        raise fail("'text' must be a string and 'spans' a list")
    for s in obj["spans"]:
        if not (
            isinstance(s, dict)
            and isinstance(s.get("start"), int)
            and isinstance(s.get("end"), int)
            and isinstance(s.get("label"), str)
        ):
            raise fail(f"a span without integer start/end and a label: {json.dumps(s)[:80]}")
    return obj


def _gold_dict(doc: Doc, index: int) -> dict[str, Any]:
    spans = []
    for e in doc.ents:
        span: dict[str, Any] = {"start": e.start_char, "end": e.end_char, "label": e.label_}
        if e.label_ == "NECESSITY":
            span["negated"] = bool(e._.is_negated)
        spans.append(span)
    doc_id = doc._.imr_doc_id
    return {"id": doc_id if doc_id is not None else f"#{index}", "text": doc.text, "spans": spans}


def evaluate_file(
    path: str | Path, *, nlp: Language, labels: Iterable[str] | None = None, format: str = "gold"
) -> dict[str, Any]:
    """Run a pipeline over the texts of a gold file and score it.

    path (str | Path): the gold file; format (str): one of ``GOLD_FORMATS``.
    """
    gold = read_gold_file(path, format=format)
    docs = []
    for g in gold:
        doc = nlp.make_doc(g["text"])
        doc._.imr_doc_id = g.get("id")
        for _, proc in nlp.pipeline:
            doc = proc(doc)
        docs.append(doc)
    from . import LABELS

    return score_docs(docs, gold, labels=labels or LABELS)


def format_table(scores: dict[str, Any], *, title: str = "") -> str:
    """The scores as a plain-text table, one row per label."""
    lines = [title] if title else []
    lines.append(
        f"{'label':<12} {'exact P':>8} {'R':>6} {'F1':>6}   "
        f"{'overlap P':>9} {'R':>6} {'F1':>6}   {'gold':>5}"
    )
    for lab, ex in scores["exact"].items():
        ov = scores["overlap"][lab]
        lines.append(
            f"{lab:<12} {ex['p']:>8.3f} {ex['r']:>6.3f} {ex['f']:>6.3f}   "
            f"{ov['p']:>9.3f} {ov['r']:>6.3f} {ov['f']:>6.3f}   {ex['tp'] + ex['fn']:>5}"
        )
    neg = scores.get("negation")
    if neg and neg["total"]:
        lines.append(
            f"NECESSITY negation: {neg['correct']}/{neg['total']} correct ({neg['accuracy']:.3f})"
        )
    return "\n".join(lines)


def compare_table(
    scores: dict[str, dict[str, Any]], *, title: str = "", mode: str = "exact"
) -> str:
    """Several pipelines' F1 per label side by side (one column per pipeline).

    scores (dict): pipeline name -> ``evaluate_file`` output.
    mode (str): "exact" or "overlap".
    RETURNS (str): the table, with P/R/F1 of the micro average and NECESSITY negation.
    """
    names = list(scores)
    labels = list(next(iter(scores.values()))[mode])
    lines = [title] if title else []
    lines.append(f"{'label':<12} " + " ".join(f"{n:>10}" for n in names))
    for lab in labels:
        lines.append(f"{lab:<12} " + " ".join(f"{scores[n][mode][lab]['f']:>10.3f}" for n in names))
    for key, name in (("p", "micro P"), ("r", "micro R")):
        cells = " ".join(f"{scores[n][mode]['micro'][key]:>10.3f}" for n in names)
        lines.append(f"{name:<12} {cells}")
    neg = []
    for n in names:
        ng = scores[n].get("negation") or {}
        neg.append(f"{ng['correct']}/{ng['total']}" if ng.get("total") else "-")
    lines.append(f"{'negation':<12} " + " ".join(f"{x:>10}" for x in neg))
    return "\n".join(lines)
