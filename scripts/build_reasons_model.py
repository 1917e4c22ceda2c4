"""Rebuild the shipped decision-reasons classifier, ``models/imr_reasons_textcat/``.

Run from the repository (CPU, under a minute)::

    PYTHONPATH=$PWD python scripts/build_reasons_model.py

It reads the 49 real dev letters (``../shared/real/pdf``) through ``imr_nlp.load()`` with the
classifier switched off, pairs their items with ``../shared/gold/real_dev_reasons.jsonl``
(scripts/evaluate_reasons.py), trains a bag-of-words ``textcat_multilabel``
(``imr_nlp.rules.reasons.train_model``) on every item that has a rationale, and writes it with
``imr_meta.json`` (what it was trained on) and ``cv_metrics.json`` (the cross-validated scores
of rules, classifier and both, five folds of letters).
"""

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import evaluate_reasons as ev  # noqa: E402

import imr_nlp  # noqa: E402
from imr_nlp.rules.reasons import MODEL_NAME, train_model  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "models" / MODEL_NAME)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args(argv)

    nlp = imr_nlp.load()
    nlp.get_pipe("imr_reasons").model = None  # records' rationales only; no earlier classifier
    items = ev.dev_items(nlp)
    train = [it for it in items if it.rationale]
    model = train_model([it.rationale for it in train], [it.gold for it in train], seed=args.seed)
    if args.out.exists():
        shutil.rmtree(args.out)
    model.to_disk(args.out)
    cv = ev.cross_validate(items, args.folds, seed=args.seed)
    ho = ev.held_out([it.letter for it in items])
    metrics = {
        m: {"all": ev.scores(items, cv[m]), "held_out": ev.scores(items, cv[m], ho)}
        for m in ev.METHODS
    }
    gold_sha = hashlib.sha256(ev.GOLD.read_bytes()).hexdigest()
    (args.out / "imr_meta.json").write_text(
        json.dumps(
            {
                "trained_on": "shared/gold/real_dev_reasons.jsonl",
                "gold_sha256": gold_sha,
                "items": len(train),
                "letters": len({it.letter for it in train}),
                "seed": args.seed,
                "command": "PYTHONPATH=$PWD python scripts/build_reasons_model.py",
            },
            indent=2,
        )
        + "\n"
    )
    (args.out / "cv_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(ev.report(items, cv, args.folds))
    print(f"\nwritten {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
