"""The ``imr-nlp`` command: extract | evaluate | export | train.

Only this module prints; the library returns values and raises coded errors.
"""

import argparse
import sys
from pathlib import Path

from .errors import ImrError


def _examples_dir() -> Path:
    return Path(__file__).resolve().parent / "examples"


def cmd_extract(args: argparse.Namespace) -> int:
    from .extract import extract, read_table

    paths = list(args.paths)
    if args.examples:
        paths.append(_examples_dir())
    if not paths:
        print("imr-nlp extract: give PATH... or --examples", file=sys.stderr)
        return 2
    if args.dask:
        from .corpus import extract as corpus_extract
        from .corpus.cluster import connect

        client, cluster = connect(args.dask, args.dask_workers)
        try:
            summary = corpus_extract(
                paths, client=client, out=args.out, batch_size=args.batch_size,
                resume=args.resume, part_size=args.part_size, progress=not args.quiet,
            )
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    else:
        summary = extract(
            paths, args.out, n_process=args.n_process, batch_size=args.batch_size,
            resume=args.resume, part_size=args.part_size, progress=not args.quiet,
        )
    if args.show:
        import pandas

        df = read_table(args.out)
        with pandas.option_context("display.max_columns", 12, "display.width", 160,
                                   "display.max_colwidth", 28):
            print(df[["doc_id", "request_index", "request_text", "outcome", "drug", "generic",
                      "drug_class", "strength_mg", "quantity", "doses_per_day", "category",
                      "guideline_source"]].to_string(index=False))
    print(summary.report(), file=sys.stderr)
    return 1 if summary.failures else 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from . import load
    from .scoring import compare_table, evaluate_file, format_table

    if not args.model:
        print(format_table(evaluate_file(args.gold, nlp=load()), title=f"== rules: {args.gold}"))
        return 0
    from .training import load_trained, load_trained_only

    scores = {
        "rules": evaluate_file(args.gold, nlp=load()),
        "trained": evaluate_file(args.gold, nlp=load_trained_only(args.model)),
        "combined": evaluate_file(args.gold, nlp=load_trained(args.model)),
    }
    print(compare_table(scores, title=f"== exact-match F1 on {args.gold} (model: {args.model})"))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from . import load
    from .annotations import export_spans
    from .io import iter_letter_paths, read_letter

    nlp = load(disable=["imr_requests"])
    docs = []
    for path in iter_letter_paths(args.paths):
        letter = read_letter(path)
        doc = nlp(letter.text)
        doc._.doc_id = letter.doc_id
        docs.append(doc)
    out = export_spans(docs, args.out, format=args.format)
    print(f"exported {len(docs)} letters as {args.format} to {out}", file=sys.stderr)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .training import train

    out = train(args.corrected, args.out, format=args.format, seed=args.seed, max_steps=args.max_steps)
    print(f"trained pipeline written to {out}; use imr_nlp.load(model={str(out)!r})", file=sys.stderr)
    return 0


def _positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {n}")
    return n


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="imr-nlp", description="IMR determination letters as data.")
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser("extract", help="letters (.txt/.pdf, files or folders) -> one record per item")
    e.add_argument("paths", nargs="*", help="files or folders of .txt and .pdf letters")
    e.add_argument("--out", required=True,
                   help="a folder (no suffix): partitioned Parquet dataset, the corpus format; "
                        "or one file: .csv, .jsonl or .parquet")
    e.add_argument("--examples", action="store_true", help="also run the bundled example letters")
    e.add_argument("--n-process", type=_positive, default=1,
                   help="worker processes (default 1: this process only)")
    e.add_argument("--dask", metavar="ADDRESS",
                   help="run on Dask: 'local' (a LocalCluster, one worker per CPU) or a "
                        "scheduler address such as tcp://scheduler:8786")
    e.add_argument("--dask-workers", type=_positive, default=None,
                   help="workers of --dask local (default: one per CPU)")
    e.add_argument("--batch-size", type=_positive, default=None,
                   help="letters per task sent to a worker (default: up to 16)")
    e.add_argument("--part-size", type=_positive, default=500,
                   help="letters per committed partition, the unit --resume keeps (default 500)")
    e.add_argument("--resume", action="store_true",
                   help="continue a killed run from its committed parts")
    e.add_argument("--show", action="store_true", help="print the main columns of the table")
    e.add_argument("--quiet", action="store_true", help="no progress bar")
    e.set_defaults(func=cmd_extract)

    v = sub.add_parser("evaluate", help="P/R/F1 per label against a gold JSONL file")
    v.add_argument("gold")
    v.add_argument("--model", help="a trained pipeline: compare rules, trained and combined")
    v.set_defaults(func=cmd_evaluate)

    x = sub.add_parser("export", help="tagged spans for correction in an annotation tool")
    x.add_argument("paths", nargs="+")
    x.add_argument("--out", required=True)
    x.add_argument("--format", default="prodigy", choices=["prodigy", "label_studio", "doccano", "brat"])
    x.set_defaults(func=cmd_export)

    t = sub.add_parser("train", help="train on corrected annotations; writes a pipeline folder")
    t.add_argument("corrected", nargs="+")
    t.add_argument("--out", required=True)
    t.add_argument("--format", default="prodigy", choices=["prodigy", "label_studio", "doccano", "brat"])
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--max-steps", type=int, default=None)
    t.set_defaults(func=cmd_train)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``imr-nlp``."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ImrError as e:
        print(f"imr-nlp: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
