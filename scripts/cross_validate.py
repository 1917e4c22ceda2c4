"""Rules, trained NER and the two combined, per label, on letters the model never saw.

One command measures the annotation loop on corrected real letters::

    python scripts/cross_validate.py            # about 5 minutes on 2 shared cores

It splits the gold letters (default ``../shared/gold/real_dev_spans.jsonl``) into
``--folds`` folds of whole letters (letter i goes to fold i mod k). For each fold it
trains ``configs/ner.cfg`` on the other letters exactly as ``imr-nlp train`` does
(those letters are again split into train and dev by letter), and scores the
held-out letters with

- ``rules``: ``imr_nlp.load()``;
- ``trained``: the trained NER alone;
- ``combined_all``: rules + trained spans of every label (the conflict rule of
  ``imr_nlp.training``: a rule span wins every overlap);
- ``combined``: rules + trained spans of the labels in ``fill_labels`` only, the
  labels where ``combined_all`` beat ``rules`` over the held-out folds.

Scores are exact match (start, end, label), pooled over the held-out letters. It also
trains on the first 3 and 6 training letters of each fold (the learning curve; 9 is the
fold model itself; ``--no-curve`` skips it). If ``fill_labels`` is not empty, the
model trained on all letters is written to ``--ship`` (default
``models/imr_ner_real``) with ``fill_labels`` and these scores in its
``imr_meta.json``. Results go to ``--out`` (default ``models/cv_real_dev.json``).
Fold models are kept under ``--work``; ``--reuse`` scores them again without
training (after a change to the rules).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import imr_nlp  # noqa: E402
from imr_nlp.evaluation import score_spans  # noqa: E402
from imr_nlp.training import (  # noqa: E402
    META_FILE,
    load_trained,
    load_trained_only,
    read_docs,
    train_on_docs,
)

PIPELINES = ("rules", "trained", "combined_all", "combined")
CURVE_SIZES = (3, 6)


def _rel(path: Path) -> str:
    return os.path.relpath(path.resolve(), REPO)


def _spans(doc) -> list[tuple[int, int, str]]:
    return [(e.start_char, e.end_char, e.label_) for e in doc.ents]


def _train(docs, out: Path, *, reuse: bool, max_steps: int, seed: int, command: str) -> Path:
    ids = [d._.doc_id for d in docs]
    meta = out / META_FILE
    if reuse and meta.is_file():
        got = json.loads(meta.read_text(encoding="utf8"))
        if (
            sorted(got["train_docs"] + got["dev_docs"]) == sorted(ids)
            and got["max_steps"] == max_steps
        ):
            return out
    t0 = time.perf_counter()
    train_on_docs(docs, out, seed=seed, max_steps=max_steps, command=command)
    print(f"    trained on {len(docs)} letters in {time.perf_counter() - t0:.0f} s", flush=True)
    return out


def _score(pairs) -> dict:
    s = score_spans(pairs, labels=imr_nlp.LABELS)["exact"]
    return {
        lab: {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}
        for lab, row in s.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--gold", type=Path, default=REPO.parent / "shared" / "gold" / "real_dev_spans.jsonl"
    )
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--max-steps", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=REPO / "out" / "cv_models")
    parser.add_argument(
        "--reuse", action="store_true", help="score the fold models under --work again"
    )
    parser.add_argument(
        "--no-curve",
        dest="curve",
        action="store_false",
        help="skip the learning curve (training on 3 and 6 letters per fold)",
    )
    parser.add_argument("--out", type=Path, default=REPO / "models" / "cv_real_dev.json")
    parser.add_argument("--ship", type=Path, default=REPO / "models" / "imr_ner_real")
    parser.add_argument("--no-ship", action="store_true")
    parser.add_argument(
        "--unseen-every",
        type=int,
        default=3,
        help="also score apart the letters at positions i %% N == N-1 of the gold file, "
        "the ones kept out of rule development (0: none)",
    )
    args = parser.parse_args(argv)
    given = sys.argv[1:] if argv is None else argv
    command = " ".join(["python", "scripts/cross_validate.py", *given])
    started = time.perf_counter()

    docs = [d for d in read_docs(args.gold, format="gold") if d.text.strip()]
    folds = [[d for i, d in enumerate(docs) if i % args.folds == k] for k in range(args.folds)]
    rules = imr_nlp.load(disable=["imr_requests"])
    pairs: dict[str, list] = {p: [] for p in PIPELINES if p != "combined"}
    curve_pairs: dict[int, dict[str, list]] = {}
    fold_rows = []
    fold_dirs = []
    for k, held in enumerate(folds):
        rest = [d for j, f in enumerate(folds) if j != k for d in f]
        print(f"fold {k}: held out {', '.join(d._.doc_id for d in held)}", flush=True)
        model_dir = _train(
            rest,
            args.work / f"fold{k}",
            reuse=args.reuse,
            max_steps=args.max_steps,
            seed=args.seed,
            command=command,
        )
        fold_dirs.append(model_dir)
        pipes = {
            "rules": rules,
            "trained": load_trained_only(model_dir),
            "combined_all": load_trained(
                model_dir, disable=["imr_requests"], fill_labels=imr_nlp.LABELS
            ),
        }
        for name, nlp in pipes.items():
            for d in held:
                pairs[name].append((_spans(nlp(d.text)), _spans(d)))
        fold_rows.append(
            {
                "fold": k,
                "held_out": [d._.doc_id for d in held],
                "trained_on": [d._.doc_id for d in rest],
            }
        )
        if args.curve:
            for n in CURVE_SIZES:
                sub = _train(
                    rest[:n],
                    args.work / f"fold{k}_n{n}",
                    reuse=args.reuse,
                    max_steps=args.max_steps,
                    seed=args.seed,
                    command=command,
                )
                cp = curve_pairs.setdefault(n, {"trained": [], "combined_all": []})
                t = load_trained_only(sub)
                c = load_trained(sub, disable=["imr_requests"], fill_labels=imr_nlp.LABELS)
                for d in held:
                    cp["trained"].append((_spans(t(d.text)), _spans(d)))
                    cp["combined_all"].append((_spans(c(d.text)), _spans(d)))

    scores = {name: _score(p) for name, p in pairs.items()}
    fill = [
        lab
        for lab in imr_nlp.LABELS
        if scores["combined_all"][lab]["f"] > scores["rules"][lab]["f"]
    ]
    combined_pairs = []
    for k, held in enumerate(folds):
        nlp = load_trained(fold_dirs[k], disable=["imr_requests"], fill_labels=fill)
        combined_pairs.extend((_spans(nlp(d.text)), _spans(d)) for d in held)
    scores["combined"] = _score(combined_pairs)
    order = [d for f in folds for d in f]  # the order of the pairs above
    unseen_ids = set()
    if args.unseen_every:
        unseen_ids = {
            d._.doc_id for i, d in enumerate(docs) if i % args.unseen_every == args.unseen_every - 1
        }
    if unseen_ids:
        pick = [i for i, d in enumerate(order) if d._.doc_id in unseen_ids]
        every = {**pairs, "combined": combined_pairs}
        scores_unseen = {name: _score([p[i] for i in pick]) for name, p in every.items()}

    result = {
        "what": "exact-match P/R/F1 per label, pooled over held-out letters (leave-letters-out)",
        "command": command,
        "gold": {
            "path": _rel(args.gold),
            "sha256": hashlib.sha256(args.gold.read_bytes()).hexdigest(),
            "letters": len(docs),
            "spans": sum(len(d.ents) for d in docs),
        },
        "folds": fold_rows,
        "max_steps": args.max_steps,
        "seed": args.seed,
        "fill_labels": fill,
        "scores": scores,
    }
    if unseen_ids:
        result["unseen_by_rules"] = {
            "letters": sorted(unseen_ids),
            "scores": scores_unseen,
            "what": "the same scores on the letters kept out of rule development",
        }
    n_train = len(docs) - max(len(f) for f in folds)
    if args.curve:
        result["learning_curve"] = {
            str(n): {name: _score(p) for name, p in cp.items()}
            for n, cp in sorted(curve_pairs.items())
        }
        result["learning_curve"][str(n_train)] = {
            "trained": scores["trained"],
            "combined_all": scores["combined_all"],
        }

    print(f"\n{'label':<12}" + "".join(f"{p:>14}" for p in PIPELINES))
    for lab in [*imr_nlp.LABELS, "micro"]:
        print(f"{lab:<12}" + "".join(f"{scores[p][lab]['f']:>14.3f}" for p in PIPELINES))
    print(f"fill_labels: {fill or 'none'}")
    if unseen_ids:
        print(
            f"micro F1 on the {len(unseen_ids)} letters kept out of rule development: "
            + ", ".join(f"{p} {scores_unseen[p]['micro']['f']:.3f}" for p in PIPELINES)
        )
    if args.curve:
        print("learning curve (micro F1 of trained / combined_all by training letters):")
        for n, row in result["learning_curve"].items():
            print(
                f"  {n:>3}: {row['trained']['micro']['f']:.3f} / {row['combined_all']['micro']['f']:.3f}"
            )

    if fill and not args.no_ship:
        print(
            f"fill_labels not empty: training on all {len(docs)} letters -> {_rel(args.ship)}",
            flush=True,
        )
        train_on_docs(
            docs,
            args.ship,
            seed=args.seed,
            max_steps=args.max_steps,
            command=command,
            sources={
                "paths": [_rel(args.gold)],
                "format": "gold",
                "sha256": result["gold"]["sha256"],
            },
        )
        meta_path = args.ship / META_FILE
        meta = json.loads(meta_path.read_text(encoding="utf8"))
        meta["dev_fill_labels"] = meta.pop("fill_labels")
        meta["fill_labels"] = fill
        meta["cv_scores"] = {
            "file": _rel(args.out),
            "fill_labels": fill,
            "f1": {p: {lab: scores[p][lab]["f"] for lab in scores[p]} for p in PIPELINES},
        }
        meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf8")
        result["shipped"] = _rel(args.ship)
    result["seconds"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf8")
    print(f"Wrote {_rel(args.out)} ({result['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
