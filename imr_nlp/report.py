"""``imr-nlp report``: one self-contained HTML page summarising a table of records.

The page has no external references (no CDN, no fonts, no scripts from the
network): plots are matplotlib SVG written inline. Every number in it is
computed here from the table pandas reads; nothing is typed in.

    imr-nlp extract letters/ --out records.parquet
    imr-nlp report records.parquet --out report.html

Needs matplotlib: ``pip install "imr_nlp[report]"``.
"""

import datetime as _dt
import functools
import html
import io
import json
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .errors import Errors, ImrError, ReportError

Z95 = 1.959963984540054  # the normal quantile of a two-sided 95% interval
TOP_N = 15  # rows of the "most frequent" tables
MIN_GROUP_PLOT = 3  # groups with fewer items are tabled but not plotted
TOP_SPECIALTIES = 8  # columns of the reasons-by-specialty table
# provenance in a table's Parquet schema metadata: what the page shows -> the keys that may hold it
META_KEYS = {
    "imr_nlp version": ("imr_nlp.version", "imr_nlp_version"),
    "rules hash": ("imr_nlp.rules_sha256", "imr_nlp.rules_hash", "rules_hash"),
    "run date": ("imr_nlp.run_started", "imr_nlp.run_date", "run_date"),
    "command": ("imr_nlp.command", "command"),
}
ERRORS_DIR = "_errors"  # a dataset folder's errors table (Parquet parts)
MANIFEST_DIR = "_manifest"  # a dataset folder's committed partitions (part-N.json)
# overturn rate breakdowns: (title, column, how) — "list" columns are exploded
BREAKDOWNS = (
    ("category", "category", "value"),
    ("drug class", "drug_class", "value"),
    ("guideline document", "guideline_document", "value"),
    ("reviewer specialty", "reviewer_specialties", "list"),
    ("decision month", "decision_month", "value"),
)


@dataclass
class Corpus:
    """A table of records with what was found beside it."""

    records: Any  # pandas.DataFrame with the columns of records.md
    source: Path
    metadata: dict[str, str] = field(default_factory=dict)
    errors: Any = None  # pandas.DataFrame of <stem>.errors.csv, or None


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion k/n (0, 1 when n is 0)."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # at k = 0 or k = n the bound is exactly 0 or 1 (the formula leaves rounding noise)
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high


def _meta_from_schema(schema) -> dict[str, str]:
    raw = {
        k.decode("utf8", "replace"): v.decode("utf8", "replace")
        for k, v in (schema.metadata or {}).items()
    }
    out = {}
    for shown, keys in META_KEYS.items():
        for k in keys:
            if k in raw:
                out[shown] = raw[k]
                break
    return out


def _dataset_errors(folder: Path):
    """The errors table of a dataset folder (``_errors/*.parquet``; where ``_manifest`` lists the
    committed partitions, only theirs), or None."""
    import pandas
    import pyarrow.parquet as pq

    errors_dir = folder / ERRORS_DIR
    if not errors_dir.is_dir():
        return None
    paths = sorted(errors_dir.glob("*.parquet"))
    if (folder / MANIFEST_DIR).is_dir():
        committed = {m.stem for m in (folder / MANIFEST_DIR).glob("*.json")}
        paths = [p for p in paths if p.stem in committed or not p.stem.startswith("part-")]
    frames = [pq.read_table(p).to_pandas() for p in paths]
    return pandas.concat(frames, ignore_index=True) if frames else None


def _iso(v: Any) -> Any:
    if isinstance(v, (_dt.date, _dt.datetime)):
        return v.isoformat()[:10]
    return v


def read_corpus(path: str | Path) -> Corpus:
    """Read a table of records (.csv, .jsonl, .parquet) or a Parquet dataset folder.

    path (str | Path): the table, or a folder of Parquet files (partitioned or not).
    RETURNS (Corpus): the records (columns of records.md, dates as ISO strings), the
        table's imr_nlp metadata where it has some, and its errors table if one sits beside it.
    """
    import pandas

    from .extract import errors_path, read_table
    from .records import records_dataframe
    from .records.schema import DATE_FIELDS

    path = Path(path)
    if not path.exists():
        raise ReportError(Errors.E070.format(path=path, detail="no such file or folder"))
    meta: dict[str, str] = {}
    if path.is_dir():
        import pyarrow.dataset as ds

        # the Parquet files of the folder and its partition folders; names starting with "_"
        # or "." (errors, manifests, temporary files) are not records
        files = sorted(
            str(p)
            for p in path.rglob("*.parquet")
            if not any(part.startswith(("_", ".")) for part in p.relative_to(path).parts)
        )
        if not files:
            raise ReportError(Errors.E070.format(path=path, detail="no Parquet files"))
        try:
            dataset = ds.dataset(
                files, format="parquet", partitioning="hive", partition_base_dir=str(path)
            )
            table = dataset.to_table()
        except Exception as e:  # pyarrow raises several types for unreadable folders
            raise ReportError(
                Errors.E070.format(path=path, detail=str(e).splitlines()[0])
            ) from None
        meta = _meta_from_schema(dataset.schema)
        rows = [
            {k: (_iso(v) if k in DATE_FIELDS else v) for k, v in r.items()}
            for r in table.to_pylist()
        ]
        df = records_dataframe(rows)
    else:
        try:
            df = read_table(path)
            if path.suffix.lower() == ".parquet":
                import pyarrow.parquet as pq

                meta = _meta_from_schema(pq.read_schema(path))
        except ImrError:
            raise
        except Exception as e:  # a damaged file: JSON, CSV or Parquet errors of several types
            detail = (str(e).splitlines() or [type(e).__name__])[0]
            raise ReportError(Errors.E070.format(path=path, detail=detail)) from None
    if len(df) and df["doc_id"].isna().all() and df["outcome"].isna().all():
        raise ReportError(Errors.E070.format(path=path, detail="no doc_id or outcome column"))
    for col in DATE_FIELDS:
        df[col] = df[col].map(_iso)
    errors = _dataset_errors(path) if path.is_dir() else None
    for candidate in (errors_path(path), path / "errors.csv" if path.is_dir() else None):
        if errors is None and candidate is not None and candidate.is_file():
            errors = pandas.read_csv(candidate, dtype=str, keep_default_na=False)
    return Corpus(df, path, meta, errors)


# ---- the numbers ----


def overturn_table(df, column: str, how: str = "value"):
    """Items, overturned items, overturn rate and its 95% Wilson interval per group.

    df (DataFrame): records. column (str): the grouping column; how "list" explodes a
        list column (an item counts once in each of its groups). Missing values are
        grouped as "(none)".
    RETURNS (DataFrame): index = group; columns n, overturned, rate, low, high; largest n first.
    """
    import pandas

    d = df[[column, "outcome"]].copy()
    if how == "list":
        d = d.explode(column)
    d[column] = d[column].astype(object).where(d[column].notna(), "(none)")
    d["overturned"] = d["outcome"].eq("overturned")
    g = d.groupby(column, dropna=False)["overturned"].agg(n="size", overturned="sum")
    g["overturned"] = g["overturned"].astype(int)
    g["rate"] = g["overturned"] / g["n"]
    ci = [wilson(int(k), int(n)) for k, n in zip(g["overturned"], g["n"], strict=True)]
    g["low"] = [c[0] for c in ci]
    g["high"] = [c[1] for c in ci]
    g.index = g.index.map(str)
    g.index.name = column
    return (
        g.sort_values(["n", "overturned"], ascending=[False, False], kind="stable").astype(
            {"n": int}
        )
        if len(g)
        else pandas.DataFrame(columns=["n", "overturned", "rate", "low", "high"])
    )


def with_month(df):
    """The records with a ``decision_month`` column (YYYY-MM of decision_date, None where unknown)."""
    d = df.copy()
    d["decision_month"] = d["decision_date"].map(
        lambda v: v[:7] if isinstance(v, str) and len(v) >= 7 else None
    )
    return d


def reason_shares(df, by: str | None = None, how: str = "value", top: int | None = None):
    """The share of items citing each decision-reason code (overall, or per value of ``by``).

    how (str): "list" for a list column (an item counts in each of its groups).
    top (int | None): keep the largest groups only.
    RETURNS (DataFrame): rows = codes (most cited first), columns = "all items" or the groups;
        a cell is (items of the group citing the code) / (items of the group).
    """
    import pandas

    codes = df["decision_reasons"].map(lambda v: list(v) if v is not None else [])
    if by is None:
        groups = {"all items": codes}
    else:
        d = pandas.DataFrame({"key": df[by], "codes": codes})
        if how == "list":
            d = d.explode("key")
        key = d["key"].astype(object).where(d["key"].notna(), "(none)").map(str)
        groups = {g: d["codes"][key == g] for g in key.value_counts().index[:top]}
    cols = {}
    for g, c in groups.items():
        n = len(c)
        counts = pandas.Series(
            [code for lst in c for code in set(lst)], dtype=object
        ).value_counts()
        cols[g] = counts / n if n else counts
    out = pandas.DataFrame(cols).fillna(0.0)
    if len(out):  # rows: the codes most cited over all items first
        overall = pandas.Series([c for lst in codes for c in set(lst)], dtype=object).value_counts()
        out = out.loc[sorted(out.index, key=lambda c: (-overall.get(c, 0), c))]
    out.index.name = "code"
    return out


def summary(corpus: Corpus) -> dict[str, Any]:
    """Every table of the page, as pandas objects."""
    df = with_month(corpus.records)
    dates = df["decision_date"].dropna()
    failures: dict[str, int] = {}
    if corpus.errors is not None and len(corpus.errors):
        err = corpus.errors
        if "level" in err.columns:
            err = err[err["level"] == "error"]
        failures = err["reason"].value_counts().to_dict() if "reason" in err.columns else {}
    counts = {
        "letters": int(df["doc_id"].nunique()),
        "items": int(len(df)),
        "overturned items": int(df["outcome"].eq("overturned").sum()),
        "failed letters": int(sum(failures.values())),
        "first decision": min(dates) if len(dates) else None,
        "last decision": max(dates) if len(dates) else None,
    }
    n_all = len(df)
    k_all = int(df["outcome"].eq("overturned").sum())
    return {
        "counts": counts,
        "failures": failures,
        "overall": {
            "n": n_all,
            "overturned": k_all,
            "rate": k_all / n_all if n_all else float("nan"),
            "ci": wilson(k_all, n_all),
        },
        "overturn": {title: overturn_table(df, col, how) for title, col, how in BREAKDOWNS},
        "reasons": reason_shares(df),
        "reasons_by_category": reason_shares(df, "category"),
        "reasons_by_outcome": reason_shares(df, "outcome"),
        "reasons_by_guideline": reason_shares(df, "guideline_source"),
        "reasons_by_year": reason_shares(
            df.assign(decision_year=df["decision_month"].str[:4]), "decision_year"
        ),
        "reasons_by_specialty": reason_shares(
            df, "reviewer_specialties", "list", top=TOP_SPECIALTIES
        ),
        "top_drugs": df["generic"].fillna(df["drug"]).dropna().value_counts().head(TOP_N),
        "top_guidelines": df["guideline_document"].dropna().value_counts().head(TOP_N),
        "per_month": df["decision_month"].dropna().value_counts().sort_index(),
    }


# ---- the plots (inline SVG) ----

# matplotlib settings of the page's plots, applied only while a plot is drawn (rc_context):
# text as paths, so the SVG needs no font
STYLE = {"svg.fonttype": "path", "font.size": 9}


def _styled(plot):
    """Draw ``plot`` with STYLE, on a Figure of its own: no pyplot, no backend switch, and
    matplotlib's global settings are left as they were."""

    @functools.wraps(plot)
    def wrapper(*args, **kwargs):
        try:
            import matplotlib
        except ImportError:
            raise ReportError(Errors.E071) from None
        with matplotlib.rc_context(STYLE):
            return plot(*args, **kwargs)

    return wrapper


def _axes(width: float, height: float):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.subplots()


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg") :]


@_styled
def plot_overturn(table, title: str) -> str | None:
    """Horizontal bars of the overturn rate with 95% Wilson intervals (groups of >= MIN_GROUP_PLOT items)."""
    t = table[table["n"] >= MIN_GROUP_PLOT].head(TOP_N)
    if not len(t):
        return None
    t = t.iloc[::-1]
    fig, ax = _axes(6.4, 0.3 * len(t) + 0.9)
    y = range(len(t))
    ax.barh(
        list(y),
        t["rate"],
        color="#dd8452",
        xerr=[(t["rate"] - t["low"]).clip(lower=0), (t["high"] - t["rate"]).clip(lower=0)],
        error_kw={"ecolor": "#444", "capsize": 2},
    )
    ax.set_yticks(list(y), [f"{g[:40]} (n={n})" for g, n in zip(t.index, t["n"], strict=True)])
    ax.set_xlim(0, 1)
    ax.set_xlabel("share overturned, 95% Wilson interval")
    ax.set_title(f"overturn rate by {title}")
    return _svg(fig)


@_styled
def plot_counts(series, title: str, color: str = "#4c72b0") -> str | None:
    if not len(series):
        return None
    s = series.iloc[::-1]
    fig, ax = _axes(6.4, 0.3 * len(s) + 0.9)
    ax.barh([str(i)[:40] for i in s.index], s.values, color=color)
    ax.set_title(title)
    ax.set_xlabel("items")
    return _svg(fig)


@_styled
def plot_reasons(shares, title: str) -> str | None:
    """Grouped horizontal bars: share of items citing each code, one colour per column."""
    if not len(shares):
        return None
    s = shares.iloc[::-1]
    cols = list(s.columns)[:6]
    fig, ax = _axes(6.4, 0.28 * len(s) * max(1, len(cols) / 2) + 1.0)
    h = 0.8 / len(cols)
    for j, c in enumerate(cols):
        ax.barh([i + j * h for i in range(len(s))], s[c].values, height=h, label=str(c))
    ax.set_yticks([i + 0.4 - h / 2 for i in range(len(s))], list(s.index))
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of items citing the code")
    ax.set_title(title)
    if len(cols) > 1:
        ax.legend(fontsize=7, loc="lower right")
    return _svg(fig)


@_styled
def plot_months(series) -> str | None:
    if not len(series):
        return None
    fig, ax = _axes(6.4, 2.4)
    ax.bar(list(series.index), series.values, color="#55a868")
    ax.set_title("decisions per month")
    ax.set_ylabel("items")
    ax.tick_params(axis="x", labelrotation=90)
    return _svg(fig)


# ---- the page ----

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;
max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.5em}
h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.85em}
td,th{border:1px solid #ddd;padding:2px 8px;text-align:right}
td:first-child,th:first-child{text-align:left;max-width:24em;overflow-wrap:anywhere}
th{background:#f4f4f4}
.plot{margin:.8em 0}
.plot svg{max-width:100%;height:auto}
.note{color:#666;font-size:.85em}
.row{display:flex;flex-wrap:wrap;gap:0 1.5em;align-items:flex-start}
.row .plot{flex:1 1 520px;min-width:0}
.row table{flex:0 1 auto}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 1em}
dt{font-weight:600}
dd{margin:0}
"""


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v))


def _attr(name: Any) -> str:
    """A column name as the tail of a data-* attribute (lower case, [a-z0-9_-])."""
    return re.sub(r"[^a-z0-9_-]", "_", str(name).lower())


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return _e(v)


def _table(df, kind: str, index_name: str, cols: list[str] | None = None, attrs: str = "") -> str:
    cols = cols or list(df.columns)
    head = "".join(f"<th>{_e(c)}</th>" for c in [index_name, *cols])
    rows = []
    values = {c: df[c].tolist() for c in cols}  # per column, so integer columns stay integers
    for i, key in enumerate(df.index):
        data = " ".join(f'data-{_attr(c)}="{_e(values[c][i])}"' for c in cols)
        cells = "".join(f"<td>{_fmt(values[c][i])}</td>" for c in cols)
        rows.append(f'<tr data-group="{_e(key)}" {data}><td>{_e(key)}</td>{cells}</tr>')
    return (
        f'<table class="{kind}" {attrs}><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _plot(svg: str | None, name: str) -> str:
    if svg is None:
        return f'<p class="note">({_e(name)}: nothing to plot)</p>'
    return f'<div class="plot" data-plot="{_e(name)}">{svg}</div>'


def render(corpus: Corpus, *, command: str | None = None) -> str:
    """The report page of a corpus, as one HTML string."""
    s = summary(corpus)
    c = s["counts"]
    o = s["overall"]
    parts = [f"<h1>IMR decisions: {c['letters']} letters, {c['items']} disputed items</h1>"]
    parts.append(
        '<dl class="counts">'
        + "".join(
            f'<dt>{_e(k)}</dt><dd data-count="{_e(k)}">{_e(v if v is not None else "unknown")}</dd>'
            for k, v in c.items()
        )
        + "</dl>"
    )
    parts.append(
        f'<p>Overall overturn rate <b data-overall-rate="{o["rate"]:.6f}">{o["rate"]:.3f}</b> '
        f"(95% Wilson interval {o['ci'][0]:.3f}–{o['ci'][1]:.3f}, n={o['n']}).</p>"
        if o["n"]
        else "<p>No items.</p>"
    )
    if s["failures"]:
        fail = __import__("pandas").DataFrame({"letters": s["failures"]})
        parts.append("<h2>Letters that failed, by reason</h2>" + _table(fail, "failures", "reason"))

    parts.append(
        '<h2>Overturn rate</h2><p class="note">Share of items overturned, with its 95% Wilson '
        f"score interval and n. Groups of fewer than {MIN_GROUP_PLOT} items are in the tables "
        "but not the plots. A reviewer with several specialties counts in each.</p>"
    )
    for title, col, _how in BREAKDOWNS:
        t = s["overturn"][title]
        parts.append(f"<h3>by {_e(title)}</h3>")
        if col == "decision_month":
            parts.append(_plot(plot_months(s["per_month"]), "decisions per month"))
        parts.append(
            '<div class="row">'
            + _plot(plot_overturn(t, title), f"overturn by {title}")
            + _table(
                t,
                "overturn",
                col,
                ["n", "overturned", "rate", "low", "high"],
                attrs=f'data-by="{_e(col)}"',
            )
            + "</div>"
        )

    parts.append(
        '<h2>Decision reasons</h2><p class="note">Share of items whose rationale cites each '
        "code (decision_reasons; an item may cite up to three).</p>"
    )
    parts.append(
        '<div class="row">'
        + _plot(plot_reasons(s["reasons_by_outcome"], "reasons by outcome"), "reasons by outcome")
        + _table(s["reasons_by_outcome"], "reasons", "code", attrs='data-by="outcome"')
        + "</div>"
    )
    parts.append(
        _plot(
            plot_reasons(
                s["reasons_by_category"].iloc[:, :4], "reasons by category (largest four)"
            ),
            "reasons by category",
        )
    )
    parts.append(_table(s["reasons_by_category"], "reasons", "code", attrs='data-by="category"'))
    parts.append(
        "<h3>by guideline source</h3>"
        + _table(s["reasons_by_guideline"], "reasons", "code", attrs='data-by="guideline_source"')
    )
    parts.append(
        f"<h3>by reviewer specialty (the {TOP_SPECIALTIES} most frequent)</h3>"
        + _table(
            s["reasons_by_specialty"], "reasons", "code", attrs='data-by="reviewer_specialties"'
        )
    )
    parts.append(
        "<h3>by decision year</h3>"
        + _table(s["reasons_by_year"], "reasons", "code", attrs='data-by="decision_year"')
    )

    parts.append("<h2>Most frequent</h2>")
    parts.append(
        '<div class="row">'
        + _plot(plot_counts(s["top_drugs"], "most frequent drugs (generic)"), "top drugs")
        + _plot(
            plot_counts(s["top_guidelines"], "most frequent guideline documents", "#8172b2"),
            "top guidelines",
        )
        + "</div>"
    )

    meta = {k: corpus.metadata.get(k, "not recorded in the table") for k in META_KEYS}
    prov = {
        "table": str(corpus.source),
        **{f"extract: {k}": v for k, v in meta.items()},
        "report made by imr_nlp": __version__,
        "report made at (UTC)": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M"),
        "report command": command or "imr_nlp.report.write_report",
    }
    parts.append(
        '<h2>Provenance</h2><dl class="provenance">'
        + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in prov.items())
        + "</dl>"
    )
    title = f"imr_nlp report: {c['letters']} letters"
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f"<style>{CSS}</style></head><body>{''.join(parts)}</body></html>\n"
    )


def write_report(table: str | Path, out: str | Path, *, command: str | None = None) -> Path:
    """Read a table of records and write its report page.

    table (str | Path): .csv / .jsonl / .parquet written by ``imr-nlp extract``, or a Parquet
        dataset folder. out (str | Path): the HTML file. command (str | None): shown as provenance.
    RETURNS (Path): the page written.
    """
    from .io import atomic_write

    page = render(read_corpus(table), command=command)
    out = Path(out)
    with atomic_write(out) as f:
        f.write(page)
    return out


def main_command() -> str:
    """The command line of this process, for provenance."""
    return " ".join(json.dumps(a) if " " in a else a for a in ["imr-nlp", *sys.argv[1:]])
