"""imr-nlp report: the numbers in the page are those of a pandas groupby over the table,
the page is self-contained, and every input form (.csv, .jsonl, .parquet, Parquet dataset
folder with date32 dates) reads the same."""

import datetime as dt
import math
import random
import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from imr_nlp.extract import write_table
from imr_nlp.records.schema import CATEGORIES, DRUG_CLASSES
from imr_nlp.report import _attr, read_corpus, render, wilson, write_report
from imr_nlp.rules.reasons import CODES

SPECIALTIES = ("Pain Management", "Internal Medicine", "Orthopedic Surgery", "Psychiatry")
GUIDELINES = (
    "MTUS Chronic Pain Medical Treatment 2016",
    "MTUS Low Back Complaints 2004",
    "Official Disability Guidelines (ODG) Knee",
    None,
)


def random_records(n_letters: int = 40, seed: int = 7) -> list[dict]:
    """Records of made-up letters with every field the report uses, drawn at random."""
    rng = random.Random(seed)
    out = []
    for i in range(n_letters):
        date = dt.date(2016, 1, 1) + dt.timedelta(days=rng.randrange(700))
        specs = rng.sample(SPECIALTIES, rng.randint(1, 2))
        for j in range(rng.randint(1, 4)):
            cls = rng.choice(DRUG_CLASSES + (None, None))
            out.append(
                {
                    "doc_id": f"L{i:03d}",
                    "request_index": j,
                    "request_text": f"item {j}",
                    "outcome": rng.choice(("upheld", "upheld", "overturned")),
                    "category": "pharmaceutical" if cls else rng.choice(CATEGORIES),
                    "drug_class": cls,
                    "generic": rng.choice(("tramadol", "baclofen", None)) if cls else None,
                    "guideline_document": rng.choice(GUIDELINES),
                    "reviewer_specialties": specs,
                    "decision_date": date.isoformat(),
                    "decision_reasons": rng.sample(CODES, rng.randint(0, 3)),
                    "rationale": "x",
                    "layout": "decisions_documents",
                }
            )
    return out


class _Tables(HTMLParser):
    """Collects the rows of the page's tables, keyed by the table's class and data-by."""

    def __init__(self):
        super().__init__()
        self.tables: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
        self._key = None
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ("src", "href"):
            if k in a:
                self.external.append(f"{tag} {k}={a[k]}")
        if tag in ("script", "link", "iframe", "object", "embed"):
            self.external.append(tag)
        if tag == "table":
            self._key = (a.get("class", ""), a.get("data-by", ""))
            self.tables[self._key] = {}
        elif tag == "tr" and self._key and "data-group" in a:
            self.tables[self._key][a["data-group"]] = {
                k[5:]: v for k, v in a.items() if k.startswith("data-")
            }

    def handle_endtag(self, tag):
        if tag == "table":
            self._key = None


def parse(page: str) -> _Tables:
    p = _Tables()
    p.feed(page)
    return p


def expected_rates(df: pd.DataFrame, column: str, explode: bool = False) -> pd.DataFrame:
    d = df.explode(column) if explode else df
    d = d.assign(
        key=d[column].astype(object).where(d[column].notna(), "(none)").map(str),
        over=d["outcome"] == "overturned",
    )
    return d.groupby("key")["over"].agg(n="size", k="sum", rate="mean")


def pandas_read(path) -> pd.DataFrame:
    """The table read by pandas on its own; Parquet dates (date32) as ISO strings, as in records."""
    df = pd.read_parquet(path)
    for col in (
        "date_of_injury",
        "ur_date",
        "decision_date",
        "date_assigned",
        "application_received",
    ):
        df[col] = df[col].map(lambda v: v.isoformat() if hasattr(v, "isoformat") else v)
    return df


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "records.parquet"
    write_table(random_records(), path)
    return path


@pytest.mark.parametrize(
    "column,explode",
    [
        ("category", False),
        ("drug_class", False),
        ("guideline_document", False),
        ("reviewer_specialties", True),
        ("decision_month", False),
    ],
)
def test_overturn_rates_in_page_equal_pandas_groupby(table, column, explode):
    df = pandas_read(table)  # pandas on its own, not the report's reader
    df["decision_month"] = df["decision_date"].str[:7]
    want = expected_rates(df, column, explode)
    got = parse(render(read_corpus(table))).tables[("overturn", column)]
    assert set(got) == set(want.index)
    for key, row in want.iterrows():
        assert int(got[key]["n"]) == row["n"] and int(got[key]["overturned"]) == row["k"], key
        assert math.isclose(float(got[key]["rate"]), row["rate"], rel_tol=1e-12), key
        lo, hi = wilson(int(row["k"]), int(row["n"]))
        assert math.isclose(float(got[key]["low"]), lo) and math.isclose(
            float(got[key]["high"]), hi
        )
        assert float(got[key]["low"]) <= row["rate"] <= float(got[key]["high"])


def test_counts_and_reason_shares_come_from_the_table(table):
    df = pandas_read(table)
    page = render(read_corpus(table))
    assert f'data-count="letters">{df["doc_id"].nunique()}<' in page
    assert f'data-count="items">{len(df)}<' in page
    assert f'data-count="first decision">{df["decision_date"].min()}<' in page
    tables = parse(page).tables
    df["decision_year"] = df["decision_date"].str[:4]
    for by in ("outcome", "category", "decision_year"):
        shares = tables[("reasons", by)]
        for value, group in df.groupby(by):
            for code in CODES:
                want = group["decision_reasons"].map(lambda v, c=code: c in list(v)).mean()
                got = float(shares[code][value]) if code in shares else 0.0
                assert math.isclose(got, want, abs_tol=1e-12), (by, value, code)
    shares = tables[("reasons", "reviewer_specialties")]
    for value, group in df.explode("reviewer_specialties").groupby("reviewer_specialties"):
        for code in CODES:  # an item counts once in each of its reviewer's specialties
            want = group["decision_reasons"].map(lambda v, c=code: c in list(v)).mean()
            got = float(shares[code][_attr(value)]) if code in shares else 0.0
            assert math.isclose(got, want, abs_tol=1e-12), (value, code)


def test_wilson_interval_matches_its_formula():
    lo, hi = wilson(0, 10)
    z2 = 1.959963984540054**2
    assert lo == 0.0 and math.isclose(hi, z2 / (10 + z2))
    lo, hi = wilson(5, 10)
    assert math.isclose(0.5 - lo, hi - 0.5) and lo < 0.5 < hi
    assert wilson(30, 100)[1] - wilson(30, 100)[0] < wilson(3, 10)[1] - wilson(3, 10)[0]


def test_page_is_self_contained(table):
    page = render(read_corpus(table))
    p = parse(page)
    assert p.external == [], p.external
    assert not re.search(r"url\((?!#)|@import", page)  # url(#clip) is inside the page
    assert page.count("<svg") >= 6


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_every_table_format_gives_the_same_page_numbers(tmp_path, table, suffix):
    other = tmp_path / f"records{suffix}"
    write_table(random_records(), other)
    a, b = parse(render(read_corpus(table))).tables, parse(render(read_corpus(other))).tables
    assert a == b


def test_partitioned_parquet_dataset_with_date32_dates(tmp_path, table):
    import pyarrow as pa
    import pyarrow.dataset as ds

    df = pandas_read(table)
    arrow = pa.Table.from_pandas(df, preserve_index=False)
    dates = pa.array([dt.date.fromisoformat(v) for v in df["decision_date"]], type=pa.date32())
    arrow = arrow.set_column(arrow.schema.get_field_index("decision_date"), "decision_date", dates)
    arrow = arrow.append_column("year", pa.array([v[:4] for v in df["decision_date"]]))
    ds.write_dataset(
        arrow, tmp_path / "ds", format="parquet", partitioning=["year"], partitioning_flavor="hive"
    )
    corpus = read_corpus(tmp_path / "ds")
    assert len(corpus.records) == len(df)
    assert sorted(corpus.records["decision_date"]) == sorted(df["decision_date"])
    assert parse(render(corpus)).tables == parse(render(read_corpus(table))).tables


def test_errors_table_beside_the_records_is_counted(tmp_path):
    out = tmp_path / "r.jsonl"
    write_table(random_records(5), out)
    (tmp_path / "r.errors.csv").write_text(
        "path,level,reason,message\na.pdf,error,empty,x\nb.pdf,error,empty,y\nc.txt,warning,not_a_letter,z\n"
    )
    page = render(read_corpus(out))
    assert 'data-count="failed letters">2<' in page
    assert parse(page).tables[("failures", "")]["empty"]["letters"] == "2"


def test_cli_report_writes_the_page(tmp_path, table):
    from imr_nlp.cli import main

    out = tmp_path / "page.html"
    assert main(["report", str(table), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf8")
    assert page.startswith("<!DOCTYPE html>") and "Provenance" in page


def test_report_of_a_missing_table_is_a_coded_error(tmp_path, capsys):
    from imr_nlp.cli import main

    assert main(["report", str(tmp_path / "nope.parquet"), "--out", str(tmp_path / "x.html")]) == 2
    assert "[E070]" in capsys.readouterr().err


@pytest.mark.parametrize(
    "keys", [(b"imr_nlp.version", b"imr_nlp.rules_sha256"), (b"imr_nlp_version", b"rules_hash")]
)
def test_provenance_from_parquet_metadata(tmp_path, keys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from imr_nlp.records import records_dataframe

    arrow = pa.Table.from_pandas(records_dataframe(random_records(3)), preserve_index=False)
    meta = {**(arrow.schema.metadata or {}), keys[0]: b"9.9.9", keys[1]: b"abc123"}
    pq.write_table(arrow.replace_schema_metadata(meta), tmp_path / "m.parquet")
    page = write_report(tmp_path / "m.parquet", tmp_path / "m.html").read_text(encoding="utf8")
    assert "abc123" in page and "9.9.9" in page


def test_dataset_folder_with_errors_and_manifests(tmp_path):
    """A dataset folder: record parts at the top, its errors table in _errors/, committed
    partitions listed in _manifest/ (an errors part without a manifest is not counted)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from imr_nlp.records import records_dataframe

    folder = tmp_path / "corpus"
    (folder / "_errors").mkdir(parents=True)
    (folder / "_manifest").mkdir()
    recs = random_records(6)
    for n, part in enumerate((recs[: len(recs) // 2], recs[len(recs) // 2 :])):
        pq.write_table(
            pa.Table.from_pandas(records_dataframe(part), preserve_index=False),
            folder / f"part-{n:05d}.parquet",
        )
        (folder / "_manifest" / f"part-{n:05d}.json").write_text("{}")

    def errs(reasons):
        return pa.table(
            {
                "source_path": [f"{r}.pdf" for r in reasons],
                "doc_id": reasons,
                "level": ["error"] * len(reasons),
                "reason": reasons,
                "message": reasons,
            }
        )

    pq.write_table(errs(["empty", "no_text"]), folder / "_errors" / "part-00000.parquet")
    pq.write_table(errs(["empty"]), folder / "_errors" / "part-00009.parquet")  # not committed
    (folder / "_run.json").write_text("{}")
    corpus = read_corpus(folder)
    assert len(corpus.records) == len(recs)
    page = render(corpus)
    assert 'data-count="failed letters">2<' in page
    assert parse(page).tables[("failures", "")]["empty"]["letters"] == "1"


def test_rendering_leaves_matplotlib_as_found(table):
    import matplotlib

    before, backend = dict(matplotlib.rcParams), matplotlib.get_backend()
    assert render(read_corpus(table)).count("<svg") >= 6
    assert matplotlib.get_backend() == backend and dict(matplotlib.rcParams) == before


@pytest.mark.parametrize(
    "name,content",
    [("broken.jsonl", "{not json\n"), ("other.csv", "a,b\n1,2\n"), ("bad.parquet", "not parquet")],
)
def test_a_file_that_is_not_a_table_of_records_is_a_coded_error(tmp_path, name, content):
    from imr_nlp.errors import ImrError

    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ImrError, match=r"^\[E070\]"):
        read_corpus(path)
