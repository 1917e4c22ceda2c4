"""Real published letters: ``imr-nlp extract`` against the PDF library's bare text extraction.

Usage::

    python benchmarks/real_pdf.py [--pdf ../shared/real/pdf] [--repeat 5] \\
        [--out benchmarks/results/real_pdf.json]

One run times, over the same files (the 49 letters the DWC publishes as
AES-encrypted PDFs, by default), each ``--repeat`` times and keeping the best:

* ``bare``: pypdfium2 opening each file and extracting each page's text, nothing
  else (the floor any PDF-reading extract stands on);
* ``read``: ``imr_nlp.io.read_letter`` (bare extraction plus imr_nlp's cleanup);
* ``extract``: ``imr_nlp.extract.extract`` over the folder into a JSONL table
  (reading, cleanup, the whole pipeline, records, the atomic table), one process.

It reports letters/s of each and the ratio extract / bare (the share of
extract's time the PDF library's own extraction would take), and writes the
figures to a JSON file.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def bare(paths: list[Path]) -> int:
    """Open every PDF with pypdfium2 and extract every page's text; RETURNS characters."""
    import pypdfium2

    n = 0
    for p in paths:
        pdf = pypdfium2.PdfDocument(p)
        for i in range(len(pdf)):
            page = pdf[i]
            tp = page.get_textpage()
            n += len(tp.get_text_range())
            tp.close()
            page.close()
        pdf.close()
    return n


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--pdf",
        type=Path,
        default=REPO.parent / "shared" / "real" / "pdf",
        help="folder of PDF letters (default: ../shared/real/pdf)",
    )
    ap.add_argument(
        "--repeat", type=int, default=5, help="runs of each measurement; the best is kept"
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=REPO / "benchmarks" / "results" / "real_pdf.json",
        help="JSON file for the figures",
    )
    args = ap.parse_args(argv)

    import imr_nlp
    from imr_nlp.extract import extract
    from imr_nlp.io import atomic_write, read_letter

    paths = sorted(args.pdf.glob("*.pdf"))
    if not paths:
        print(f"no PDF files in {args.pdf}", file=sys.stderr)
        return 1
    nlp = imr_nlp.load()
    tmp = Path(tempfile.mkdtemp())
    records = {}

    def run_extract() -> None:
        s = extract([args.pdf], tmp / "records.jsonl", nlp=nlp, progress=False)
        records["n"], records["failures"] = s.records, len(s.failures)

    t_bare = best_of(lambda: bare(paths), args.repeat)
    t_read = best_of(lambda: [read_letter(p) for p in paths], args.repeat)
    t_extract = best_of(run_extract, args.repeat)
    n = len(paths)
    result = {
        "letters": n,
        "records": records["n"],
        "failures": records["failures"],
        "bare_pdfium_letters_per_s": round(n / t_bare, 1),
        "read_letter_letters_per_s": round(n / t_read, 1),
        "extract_letters_per_s": round(n / t_extract, 1),
        "ratio_extract_to_bare": round(t_bare / t_extract, 3),
        "pdf_share_of_extract": round(t_read / t_extract, 3),
        "repeat": args.repeat,
        "python": platform.python_version(),
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    print(
        f"{n} letters, {result['records']} records, {result['failures']} failures (best of {args.repeat})"
    )
    print(f"  bare pypdfium2 text   {result['bare_pdfium_letters_per_s']:>8} letters/s")
    print(f"  read_letter (+clean)  {result['read_letter_letters_per_s']:>8} letters/s")
    print(f"  extract (whole job)   {result['extract_letters_per_s']:>8} letters/s")
    print(
        f"  extract / bare speed  {result['ratio_extract_to_bare']:>8}   "
        f"(reading is {result['pdf_share_of_extract']:.0%} of extract)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(args.out) as f:
        f.write(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
