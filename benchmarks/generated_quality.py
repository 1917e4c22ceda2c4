"""Record accuracy on generated letters (all layouts, PDF noise) against the generator's truth.

    python benchmarks/generated_quality.py [--n 300] [--seed 1] [--show 10]

The letters are synthetic (tools/generate_corpus.py), so this measures
how well the rules carry over to layouts and wordings beyond the five seeds;
it is no substitute for gold annotation of real letters.
"""

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tools")]  # this checkout's imr_nlp; the letter generator

from generate_corpus import generate_letters  # noqa: E402

FIELDS = (
    "outcome",
    "drug",
    "generic",
    "drug_class",
    "strength",
    "quantity",
    "frequency",
    "category",
    "necessity_negated",
    "guideline_source",
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--show", type=int, default=0, help="print this many mismatches per field")
    ap.add_argument("--out", help="write the figures as JSON here")
    args = ap.parse_args(argv)

    import imr_nlp

    nlp = imr_nlp.load()
    letters = [x for x in generate_letters(args.n, seed=args.seed) if x.broken is None]
    right, total, shown = Counter(), Counter(), Counter()
    items_found = items_true = letters_ok = 0
    by_layout: Counter = Counter()
    by_layout_ok: Counter = Counter()
    for letter, doc in zip(letters, nlp.pipe(x.text for x in letters), strict=False):
        recs, truth = doc._.requests, letter.truth
        items_true += len(truth)
        items_found += len(recs)
        by_layout[letter.layout] += 1
        if len(recs) == len(truth):
            letters_ok += 1
            by_layout_ok[letter.layout] += 1
        else:
            continue
        for rec, exp in zip(recs, truth, strict=False):
            for f in FIELDS:
                if f not in exp:
                    continue
                total[f] += 1
                if rec[f] == exp[f]:
                    right[f] += 1
                elif shown[f] < args.show:
                    shown[f] += 1
                    print(f"  {f}: got {rec[f]!r} want {exp[f]!r}  [{exp['request_text']}]")
    report = {
        "letters": len(letters),
        "letters_with_right_item_count": letters_ok,
        "items_true": items_true,
        "items_found": items_found,
        "by_layout": {k: f"{by_layout_ok[k]}/{v}" for k, v in sorted(by_layout.items())},
        "field_accuracy": {f: round(right[f] / total[f], 4) for f in FIELDS if total[f]},
    }
    print(json.dumps(report, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
