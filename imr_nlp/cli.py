"""The ``imr-nlp`` command: extract | evaluate | export | train | report.

Only this module prints; the library returns values and raises coded errors.
An ordinary mistake (a missing file, a file in another format, an output folder
that is not a pipeline) ends in one line ``imr-nlp: [Exxx] ...`` on stderr and
exit status 2, never a traceback.
"""

import argparse
import sys
from pathlib import Path

from . import __version__
from .errors import Errors, ImrError, TextTooLongError

ANNOTATION_FORMATS = ["prodigy", "label_studio", "doccano", "brat"]


def _examples_dir() -> Path:
    return Path(__file__).resolve().parent / "examples"


def _one_line(message: object) -> str:
    return " ".join(str(message).split())


def cmd_extract(args: argparse.Namespace) -> int:
    from . import load
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
                paths,
                client=client,
                out=args.out,
                model=args.model,
                batch_size=args.batch_size,
                resume=args.resume,
                part_size=args.part_size,
                progress=not args.quiet,
            )
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    else:
        nlp = load(model=args.model) if args.model else None
        summary = extract(
            paths,
            args.out,
            nlp=nlp,
            n_process=args.n_process,
            batch_size=args.batch_size,
            resume=args.resume,
            part_size=args.part_size,
            progress=not args.quiet,
        )
    if args.show:
        import pandas

        df = read_table(args.out)
        with pandas.option_context(
            "display.max_columns", 12, "display.width", 160, "display.max_colwidth", 28
        ):
            print(
                df[
                    [
                        "doc_id",
                        "request_index",
                        "request_text",
                        "outcome",
                        "drug",
                        "generic",
                        "drug_class",
                        "strength_mg",
                        "quantity",
                        "doses_per_day",
                        "category",
                        "guideline_source",
                    ]
                ].to_string(index=False)
            )
    print(summary.report(), file=sys.stderr)
    return 1 if summary.failures else 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from . import load
    from .evaluation import compare_table, evaluate_file, format_table

    fmt = args.format
    if args.letters:
        return _evaluate_records(args)
    if not args.model:
        scores = evaluate_file(args.gold, nlp=load(), format=fmt)
        print(format_table(scores, title=f"== rules: {args.gold}"))
        return 0
    from .training import load_trained, load_trained_only

    trained = load_trained_only(args.model)  # a bad --model fails before any scoring
    scores = {
        "rules": evaluate_file(args.gold, nlp=load(), format=fmt),
        "trained": evaluate_file(args.gold, nlp=trained, format=fmt),
        "combined": evaluate_file(args.gold, nlp=load_trained(args.model), format=fmt),
    }
    print(compare_table(scores, title=f"== exact-match F1 on {args.gold} (model: {args.model})"))
    return 0


def _evaluate_records(args: argparse.Namespace) -> int:
    """Records gold (one letter a line, items under "requests") against extract over --letters."""
    import tempfile

    from . import load
    from .extract import extract, read_table
    from .records.evaluate import format_record_scores, read_gold_records, score_records

    gold = read_gold_records(args.gold)
    nlp = load(model=args.model) if args.model else load()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "records.jsonl"
        summary = extract([args.letters], out, nlp=nlp, progress=not args.quiet)
        records = read_table(out).to_dict("records") if out.exists() else []
    print(f"== records: {args.gold} (letters: {args.letters})")
    print(format_record_scores(score_records(records, gold)))
    if summary.failures:
        print(summary.report(), file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from . import load
    from .annotations import export_spans
    from .io import iter_letter_paths, read_letter

    nlp = load(disable=["imr_requests"])
    docs = []
    failures = 0
    for path in iter_letter_paths(args.paths):
        # a letter that cannot be read is reported and skipped; the export goes on
        try:
            letter = read_letter(path)
            if len(letter.text) > nlp.max_length:
                raise TextTooLongError(
                    Errors.E016.format(length=len(letter.text), max_length=nlp.max_length)
                )
        except ImrError as e:
            failures += 1
            print(f"imr-nlp export: skipped {path}: {_one_line(e)}", file=sys.stderr)
            continue
        doc = nlp(letter.text)
        doc._.imr_doc_id = letter.doc_id
        docs.append(doc)
    if not docs:
        print(
            f"imr-nlp export: no letter could be read; nothing written to {args.out}",
            file=sys.stderr,
        )
        return 1
    out = export_spans(docs, args.out, format=args.format)
    print(
        f"exported {len(docs)} letters as {args.format} to {out}"
        + (f"; {failures} skipped" if failures else ""),
        file=sys.stderr,
    )
    return 1 if failures else 0


def cmd_train(args: argparse.Namespace) -> int:
    from .training import train

    out = train(
        args.corrected, args.out, format=args.format, seed=args.seed, max_steps=args.max_steps
    )
    print(
        f"trained pipeline written to {out}; use imr_nlp.load(model={str(out)!r})", file=sys.stderr
    )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .report import main_command, write_report

    out = write_report(args.table, args.out, command=main_command())
    print(f"report written to {out}", file=sys.stderr)
    return 0


def _positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {n}")
    return n


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="imr-nlp", description="IMR determination letters as data.")
    p.add_argument(
        "--version",
        action="version",
        version=f"imr-nlp {__version__}",
        help="print the version of imr_nlp and exit",
    )
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser(
        "extract", help="letters (.txt/.pdf, files or folders) -> one record per item"
    )
    e.add_argument("paths", nargs="*", help="files or folders of .txt and .pdf letters")
    e.add_argument(
        "--out",
        required=True,
        help="a folder (no suffix): partitioned Parquet dataset, the corpus format; "
        "or one file: .csv, .jsonl or .parquet",
    )
    e.add_argument(
        "--model",
        help="a trained pipeline folder (imr-nlp train) combined with "
        "the rules; default: the rules alone (with --dask: a folder every worker sees)",
    )
    e.add_argument("--examples", action="store_true", help="also run the bundled example letters")
    e.add_argument(
        "--n-process",
        type=_positive,
        default=1,
        help="worker processes (default 1: this process only)",
    )
    e.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run on Dask: 'local' (a LocalCluster, one worker per CPU) or a "
        "scheduler address such as tcp://scheduler:8786",
    )
    e.add_argument(
        "--dask-workers",
        type=_positive,
        default=None,
        help="workers of --dask local (default: one per CPU)",
    )
    e.add_argument(
        "--batch-size",
        type=_positive,
        default=None,
        help="letters per task sent to a worker (default: up to 16)",
    )
    e.add_argument(
        "--part-size",
        type=_positive,
        default=500,
        help="letters per committed partition, the unit --resume keeps (default 500)",
    )
    e.add_argument(
        "--resume", action="store_true", help="continue a killed run from its committed parts"
    )
    e.add_argument("--show", action="store_true", help="print the main columns of the table")
    e.add_argument("--quiet", action="store_true", help="no progress bar")
    e.set_defaults(func=cmd_extract)

    v = sub.add_parser("evaluate", help="P/R/F1 per label against a gold file")
    v.add_argument("gold", help="the gold file (a folder for --format brat)")
    v.add_argument(
        "--format",
        default="gold",
        choices=["gold", *ANNOTATION_FORMATS],
        help="format of the gold file: gold JSONL as in shared/gold/ (default), or "
        "corrected annotations of an annotation tool",
    )
    v.add_argument("--model", help="a trained pipeline folder: compare rules, trained and combined")
    v.add_argument(
        "--letters",
        help="for a records gold file (shared/gold/real_dev.jsonl): the folder "
        "of the letters it reads (PDF or text); scores extract's records field by field",
    )
    v.add_argument("--quiet", action="store_true", help="no progress bar (with --letters)")
    v.set_defaults(func=cmd_evaluate)

    x = sub.add_parser("export", help="tagged spans for correction in an annotation tool")
    x.add_argument("paths", nargs="+", help="files or folders of .txt and .pdf letters")
    x.add_argument("--out", required=True, help="the annotation file to write (a folder for brat)")
    x.add_argument(
        "--format",
        default="prodigy",
        choices=ANNOTATION_FORMATS,
        help="annotation tool format (default prodigy)",
    )
    x.set_defaults(func=cmd_export)

    t = sub.add_parser("train", help="train on corrected annotations; writes a pipeline folder")
    t.add_argument("corrected", nargs="+", help="corrected annotation files (folders for brat)")
    t.add_argument(
        "--out",
        required=True,
        help="the pipeline folder to write (new, empty, or an earlier imr-nlp train output)",
    )
    t.add_argument(
        "--format",
        default="prodigy",
        choices=[*ANNOTATION_FORMATS, "gold"],
        help="format of the corrected files (default prodigy; gold: shared/gold/*.jsonl)",
    )
    t.add_argument("--seed", type=int, default=0, help="split and training seed (default 0)")
    t.add_argument(
        "--max-steps", type=_positive, default=None, help="training steps (default: the config's)"
    )
    t.set_defaults(func=cmd_train)

    r = sub.add_parser(
        "report", help="one offline HTML page with counts, rates and plots of a table"
    )
    r.add_argument(
        "table",
        help="a table written by extract (.csv/.jsonl/.parquet) or a Parquet dataset folder",
    )
    r.add_argument("--out", required=True, help="the HTML file to write")
    r.set_defaults(func=cmd_report)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``imr-nlp``: an imr_nlp error is one line on stderr and exit status 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ImrError as e:
        print(f"imr-nlp: {_one_line(e)}", file=sys.stderr)
        return 2
    except OSError as e:  # a file the system refuses (permissions, disk full, a folder as file)
        print(f"imr-nlp: {_one_line(Errors.E060.format(detail=e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("imr-nlp: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
