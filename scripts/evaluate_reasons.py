"""Score ``decision_reasons`` on the 49 real dev letters against shared/gold/real_dev_reasons.jsonl.

    PYTHONPATH=$PWD python scripts/evaluate_reasons.py [--folds 5]

Each PDF is read with ``imr_nlp.io.read_letter`` and run through ``imr_nlp.load()``; gold
items are matched to records by ``index`` (falling back to the record whose request text
matches, where the item finder skipped or merged an item), and scored where the record has
a rationale. Methods are scored by cross-validation over folds of letters: a method that
learns anything (the classifier, the combination) is fitted on the other folds only. The
rules never learn from the dev letters; the letters of ``held_out`` were never read while
their cues were written and are reported on their own.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared"
PDF_DIR = SHARED / "real" / "pdf"
GOLD = SHARED / "gold" / "real_dev_reasons.jsonl"
MATCH_RATIO = 0.6  # request texts this similar (difflib ratio of their endings) are the same item
TAIL = 60  # characters of the request text's end that are compared
HELD_OUT_EVERY = 3  # letters at sorted position k with k % 3 == 2 were never read for cue writing


@dataclass
class Item:
    letter: str
    index: int
    gold: list[str]
    rationale: str | None
    outcome: str | None
    predicted: list[str]
    matched_by: str  # "index", "text" or "none"


def held_out(letter_ids: list[str]) -> set[str]:
    """The letters never read while the cues of patterns/reasons.jsonl were written."""
    return {
        i for k, i in enumerate(sorted(set(letter_ids))) if k % HELD_OUT_EVERY == HELD_OUT_EVERY - 1
    }


def _similar(a: str, b: str) -> float:
    a, b = " ".join(a.lower().split())[-TAIL:], " ".join(b.lower().split())[-TAIL:]
    return difflib.SequenceMatcher(None, a, b).ratio() if a and b else 0.0


def align(gold_items: list[dict], records: list[dict]) -> list[tuple[dict, dict | None, str]]:
    """Pair each gold item with its record: by index where the request texts agree, else by text."""
    by_index = {r["request_index"]: r for r in records}
    out = []
    for it in gold_items:
        rec = by_index.get(it["index"])
        if rec is not None and _similar(it["request_text"], rec["request_text"]) >= MATCH_RATIO:
            out.append((it, rec, "index"))
            continue
        best = max(
            records, key=lambda r: _similar(it["request_text"], r["request_text"]), default=None
        )
        if best is not None and _similar(it["request_text"], best["request_text"]) >= MATCH_RATIO:
            out.append((it, best, "text"))
        else:
            out.append((it, None, "none"))
    return out


def dev_items(nlp=None) -> list[Item]:
    """Every gold item of the dev letters, with the pipeline's record (rationale, prediction)."""
    import imr_nlp
    from imr_nlp.io import read_letter

    nlp = nlp or imr_nlp.load()
    with GOLD.open(encoding="utf8") as f:
        gold = [json.loads(line) for line in f if line.strip()]
    items = []
    for letter in gold:
        doc = nlp(read_letter(PDF_DIR / f"{letter['id']}.pdf").text)
        for it, rec, how in align(letter["items"], doc._.imr_requests):
            items.append(
                Item(
                    letter=letter["id"],
                    index=it["index"],
                    gold=list(it["reasons"]),
                    rationale=(rec or {}).get("rationale") or None,
                    outcome=(rec or {}).get("outcome"),
                    predicted=list((rec or {}).get("decision_reasons") or []),
                    matched_by=how,
                )
            )
    return items


def folds(letters: list[str], k: int) -> list[set[str]]:
    """k folds of whole letters (sorted, dealt round-robin), so no letter is split."""
    ordered = sorted(set(letters))
    return [set(ordered[i::k]) for i in range(k)]


METHODS = ("rules", "model", "combined")


def model_only(text: str, outcome: str | None, model) -> list[str]:
    """The classifier on its own: codes at p >= 0.5 (else its top one), best first."""
    from imr_nlp.rules.reasons import FAVOURABLE, MAX_REASONS, model_text

    if outcome == "overturned":
        return [FAVOURABLE]
    cats = model(model_text(text)).cats
    order = sorted(cats, key=lambda c: -cats[c])
    return ([c for c in order if cats[c] >= 0.5] or order[:1])[:MAX_REASONS]


def cross_validate(items: list[Item], k: int = 5, seed: int = 0) -> dict[str, dict[int, list[str]]]:
    """Predictions of each method for every item with a rationale; the classifier of a
    fold is trained on the items of the other folds' letters only."""
    from imr_nlp.rules.reasons import codes, train_model

    scored = [i for i, it in enumerate(items) if it.rationale]
    out: dict[str, dict[int, list[str]]] = {m: {} for m in METHODS}
    for fold in folds([items[i].letter for i in scored], k):
        train = [i for i in scored if items[i].letter not in fold]
        test = [i for i in scored if items[i].letter in fold]
        model = train_model(
            [items[i].rationale for i in train], [items[i].gold for i in train], seed=seed
        )
        for i in test:
            it = items[i]
            out["rules"][i] = codes(it.rationale, it.outcome)
            out["model"][i] = model_only(it.rationale, it.outcome, model)
            out["combined"][i] = codes(it.rationale, it.outcome, model)
    return out


def scores(
    items: list[Item],
    preds: dict[int, list[str]],
    letters: set[str] | None = None,
    missing_as_empty: bool = False,
) -> dict:
    """``imr_nlp.rules.reasons.score`` over the items (of ``letters`` if given)."""
    from imr_nlp.rules.reasons import score

    pairs = []
    for i, it in enumerate(items):
        if letters is not None and it.letter not in letters:
            continue
        if i in preds:
            pairs.append((preds[i], it.gold))
        elif missing_as_empty:
            pairs.append(([], it.gold))
    return score(pairs)


def report(items: list[Item], cv: dict[str, dict[int, list[str]]], k: int) -> str:
    from imr_nlp.rules.reasons import format_scores

    ho = held_out([it.letter for it in items])
    n_letters = len({it.letter for it in items})
    lines = [
        f"gold items {len(items)} in {n_letters} letters; with a record "
        f"{sum(it.matched_by != 'none' for it in items)} (by index "
        f"{sum(it.matched_by == 'index' for it in items)}, by request text "
        f"{sum(it.matched_by == 'text' for it in items)}); with a rationale "
        f"{sum(bool(it.rationale) for it in items)}",
        f"cross-validation: {k} folds of letters; the classifier of each fold is trained on the others",
        "",
        f"{'method':10} {'micro F1 (all)':>15} {'first (all)':>12} "
        f"{'micro F1 (held-out)':>20} {'first (held-out)':>17}",
    ]
    for m in METHODS:
        a, h = scores(items, cv[m]), scores(items, cv[m], ho)
        lines.append(
            f"{m:10} {a['micro']['f1']:15.3f} {a['first_code_accuracy']:12.3f} "
            f"{h['micro']['f1']:20.3f} {h['first_code_accuracy']:17.3f}"
        )
    lines += [
        f"(held-out: the {len(ho)} letters never read while the cues were written)",
        "",
        format_scores(
            scores(items, cv["combined"]),
            title="== combined, per code, all letters (cross-validated)",
        ),
        "",
        format_scores(
            scores(items, cv["combined"], ho), title=f"== combined, the {len(ho)} held-out letters"
        ),
        "",
        format_scores(
            scores(items, cv["combined"], missing_as_empty=True),
            title="== combined, all gold items (an item without a record or rationale counts as no codes)",
        ),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args(argv)
    items = dev_items()
    print(report(items, cross_validate(items, args.folds), args.folds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
