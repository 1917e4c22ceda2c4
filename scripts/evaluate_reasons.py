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
SHARED = REPO.parent / "shared"
PDF_DIR = SHARED / "real" / "pdf"
GOLD = SHARED / "gold" / "real_dev_reasons.jsonl"
MATCH_RATIO = 0.6  # request texts this similar (difflib ratio of their endings) are the same item
TAIL = 60          # characters of the request text's end that are compared
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
    return {i for k, i in enumerate(sorted(set(letter_ids))) if k % HELD_OUT_EVERY == HELD_OUT_EVERY - 1}


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
        best = max(records, key=lambda r: _similar(it["request_text"], r["request_text"]), default=None)
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
    gold = [json.loads(line) for line in GOLD.open(encoding="utf8") if line.strip()]
    items = []
    for letter in gold:
        doc = nlp(read_letter(PDF_DIR / f"{letter['id']}.pdf").text)
        for it, rec, how in align(letter["items"], doc._.requests):
            items.append(Item(
                letter=letter["id"], index=it["index"], gold=list(it["reasons"]),
                rationale=(rec or {}).get("rationale") or None, outcome=(rec or {}).get("outcome"),
                predicted=list((rec or {}).get("decision_reasons") or []), matched_by=how,
            ))
    return items


def folds(letters: list[str], k: int) -> list[set[str]]:
    """k folds of whole letters (sorted, dealt round-robin), so no letter is split."""
    ordered = sorted(set(letters))
    return [set(ordered[i::k]) for i in range(k)]


def report(items: list[Item], k: int = 5) -> str:
    from imr_nlp.reasons import format_scores, score

    scored = [it for it in items if it.rationale]
    ho = held_out([it.letter for it in items])
    lines = [
        f"gold items {len(items)}; with a record {sum(it.matched_by != 'none' for it in items)} "
        f"(by index {sum(it.matched_by == 'index' for it in items)}, by text "
        f"{sum(it.matched_by == 'text' for it in items)}); with a rationale {len(scored)}",
        "",
        format_scores(score((it.predicted, it.gold) for it in scored),
                      title=f"== rules, all {len({it.letter for it in scored})} letters "
                            f"(the rules learn nothing from them: every fold scores the same)"),
        "",
        format_scores(score((it.predicted, it.gold) for it in scored if it.letter in ho),
                      title=f"== rules, the {len(ho)} held-out letters never read while writing cues"),
        "",
        format_scores(score((it.predicted, it.gold) for it in items),
                      title="== rules, all gold items (an item without a record counts as no codes)"),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args(argv)
    print(report(dev_items(), args.folds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
