"""Rebuild the shipped statistical NER, ``models/imr_ner_seeds/``, from the gold seeds.

Run from anywhere (CPU, about 5 minutes on 2 cores)::

    python scripts/build_model.py

It trains ``configs/ner.cfg`` on ``<repo>/../shared/gold/seeds.jsonl`` (4 letters
train, 1 dev, chosen by ``--seed``), writes the best model to
``models/imr_ner_seeds/`` with ``imr_meta.json``, then runs leave-one-out over
the five letters (train on four, score the fifth with the trained model alone,
exact span match) and writes ``models/imr_ner_seeds/loo_metrics.json``.
``--skip-loo`` leaves the metrics out; ``--gold`` and ``--out`` change the paths.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from imr_nlp.training import META_FILE, leave_one_out, train  # noqa: E402


def _rel(path: Path) -> str:
    return os.path.relpath(path.resolve(), REPO)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    gold = REPO.parent / "shared" / "gold" / "seeds.jsonl"
    parser.add_argument("--gold", type=Path, default=gold)
    parser.add_argument("--out", type=Path, default=REPO / "models" / "imr_ner_seeds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-steps", type=int, default=None, help="default: configs/ner.cfg")
    parser.add_argument("--skip-loo", action="store_true")
    args = parser.parse_args(argv)
    given = sys.argv[1:] if argv is None else argv
    command = " ".join(["python", "scripts/build_model.py", *given])

    print(f"Training on {_rel(args.gold)} -> {_rel(args.out)}")
    out = train(
        args.gold,
        args.out,
        format="gold",
        seed=args.seed,
        max_steps=args.max_steps,
        command=command,
    )
    meta_path = out / META_FILE
    meta = json.loads(meta_path.read_text(encoding="utf8"))
    # Paths relative to the repo and the gold's hash, so the meta is the same on any machine.
    meta["sources"] = {
        "paths": [_rel(args.gold)],
        "format": "gold",
        "sha256": hashlib.sha256(args.gold.read_bytes()).hexdigest(),
    }
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf8")
    dev = meta["dev_scores"]
    print(f"  train {', '.join(meta['train_docs'])}")
    print(
        f"  dev   {', '.join(meta['dev_docs'])}: P {dev.get('ents_p', 0):.3f} "
        f"R {dev.get('ents_r', 0):.3f} F1 {dev.get('ents_f', 0):.3f} "
        f"({meta['training_seconds']:.0f} s)"
    )

    if not args.skip_loo:
        print("Leave-one-out (trained model alone, exact match):")
        loo = leave_one_out(args.gold, format="gold", seed=args.seed, max_steps=args.max_steps)
        loo["gold"] = meta["sources"]
        loo["command"] = command
        (out / "loo_metrics.json").write_text(json.dumps(loo, indent=2) + "\n", encoding="utf8")
        print(f"  {'held out':<24}{'gold':>6}{'pred':>6}{'P':>8}{'R':>8}{'F1':>8}{'sec':>6}")
        for fold in loo["folds"]:
            print(
                f"  {fold['held_out']:<24}{fold['n_gold']:>6}{fold['n_pred']:>6}"
                f"{fold['p']:>8.3f}{fold['r']:>8.3f}{fold['f']:>8.3f}{fold['training_seconds']:>6.0f}"
            )
        pooled = loo["pooled"]
        print(
            f"  {'pooled':<24}{pooled['n_gold']:>6}{pooled['n_pred']:>6}"
            f"{pooled['p']:>8.3f}{pooled['r']:>8.3f}{pooled['f']:>8.3f}"
        )
        print(f"  mean F1 over letters: {loo['mean_f']:.3f}")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"Wrote {_rel(out)} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
