"""report.html in a real headless Chromium: it loads with no console errors, and every plot
has drawn (an svg of nonzero size whose part of the screenshot is not blank).

Needs Chromium (``apt-get install chromium``; .ci/run installs it). Without it the tests
skip, unless IMR_REQUIRE_BROWSER=1 (as in CI), where they fail.
"""

import io
import os

import pytest

from imr_nlp.extract import extract, write_table
from imr_nlp.report import write_report

from ._browser import Browser, find_chromium
from .conftest import SHARED
from .test_report import random_records

WIDTH = 1100  # CSS pixels of the page's viewport
MIN_INK = 0.01  # share of a plot's pixels that must differ from the background
MIN_COLOURS = 8  # a drawn page has more distinct colours than this

if not find_chromium():
    if os.environ.get("IMR_REQUIRE_BROWSER") == "1":
        raise RuntimeError("IMR_REQUIRE_BROWSER=1 but no Chromium is installed")
    pytest.skip("no Chromium installed (apt-get install chromium)", allow_module_level=True)

PLOTS_JS = """Array.from(document.querySelectorAll('.plot')).map(d => {
  const g = d.querySelector('svg, img'); const r = g ? g.getBoundingClientRect() : null;
  return {name: d.dataset.plot, tag: g ? g.tagName : null,
          x: r ? r.left + scrollX : 0, y: r ? r.top + scrollY : 0,
          w: r ? r.width : 0, h: r ? r.height : 0};
})"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory, nlp):
    """The report of the real dev letters (extract -> parquet -> report), and of a full table."""
    d = tmp_path_factory.mktemp("browser")
    real = d / "real.parquet"
    summary = extract(SHARED / "real" / "pdf", real, nlp=nlp, progress=False)
    assert summary.records > 0
    full = d / "full.parquet"
    write_table(random_records(), full)
    return {
        "real": write_report(real, d / "real.html"),
        "full": write_report(full, d / "full.html"),
    }


def _ink(png: bytes, box: dict) -> float:
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB")
    crop = img.crop(
        (int(box["x"]), int(box["y"]), int(box["x"] + box["w"]), int(box["y"] + box["h"]))
    )
    n = crop.width * crop.height
    colours = crop.getcolors(maxcolors=max(1, n)) or []  # (count, colour) pairs
    background = max((count for count, _ in colours), default=0)
    return (n - background) / max(1, n)


@pytest.mark.parametrize("which", ["real", "full"])
def test_report_loads_without_console_errors_and_every_plot_draws(pages, which):
    from PIL import Image

    with Browser() as b:
        b.load(pages[which].resolve().as_uri())
        png = b.screenshot(WIDTH)  # sets the viewport; the plots are measured in that layout
        plots = b.evaluate(PLOTS_JS)
        problems = b.problems()
    assert problems == [], problems
    assert len(plots) >= (5 if which == "real" else 8), plots
    img = Image.open(io.BytesIO(png))
    assert img.width > WIDTH // 2 and len(img.convert("RGB").getcolors(1 << 24)) > MIN_COLOURS
    for p in plots:
        assert p["tag"] in ("svg", "IMG") and p["w"] > 0 and p["h"] > 0, p
        assert _ink(png, p) > MIN_INK, p


def test_console_errors_and_blank_plots_are_detected(tmp_path):
    """The checks above can fail: a page that logs an error, throws, and has an empty plot."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html><body><div class="plot" data-plot="empty">'
        '<svg width="300" height="200"></svg></div><script>console.error("boom");'
        "undefinedFunction();</script></body></html>"
    )
    with Browser() as b:
        b.load(page.resolve().as_uri())
        png = b.screenshot(WIDTH)
        plots = b.evaluate(PLOTS_JS)
        problems = b.problems()
    assert any("boom" in p for p in problems) and any("exception" in p for p in problems), problems
    assert len(plots) == 1 and plots[0]["w"] == 300 and _ink(png, plots[0]) <= MIN_INK
