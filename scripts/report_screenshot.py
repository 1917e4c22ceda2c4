"""Screenshot of a report page for the README (docs/report.png), in headless Chromium.

    PYTHONPATH=$PWD python -m imr_nlp.cli extract ../shared/real/pdf --out /tmp/x.parquet
    PYTHONPATH=$PWD python -m imr_nlp.cli report /tmp/x.parquet --out /tmp/report.html
    PYTHONPATH=$PWD python scripts/report_screenshot.py /tmp/report.html docs/report.png

Takes the top of the page (``--height`` CSS pixels), scales it to ``--width`` pixels and
stores it with a small palette so that the PNG stays small.
"""

import argparse
import io
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests._browser import Browser  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("page", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--viewport", type=int, default=1150, help="CSS pixels of the page's width")
    ap.add_argument("--height", type=int, default=1700, help="CSS pixels of the page's top to keep")
    ap.add_argument("--width", type=int, default=820, help="pixels of the PNG's width")
    args = ap.parse_args(argv)
    from PIL import Image

    with Browser() as b:
        b.load(args.page.resolve().as_uri())
        png = b.screenshot(args.viewport)
    img = Image.open(io.BytesIO(png)).convert("RGB")
    img = img.crop((0, 0, img.width, min(img.height, args.height)))
    img = img.resize((args.width, round(img.height * args.width / img.width)), Image.LANCZOS)
    img = img.quantize(colors=64)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    args.out.write_bytes(buf.getvalue())
    print(
        f"{args.out}: {img.width}x{img.height}, {len(buf.getvalue()) / 1024:.0f} KiB",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
