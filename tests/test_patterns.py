"""Every rule file in patterns/ loads through the one loader, and bad files fail clearly."""

import pytest

from imr_nlp.errors import PatternFileError
from imr_nlp.patterns import SCHEMAS, load_patterns, patterns_dir, read_jsonl


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_pattern_file_loads(name):
    if not (patterns_dir() / f"{name}.jsonl").exists():
        pytest.fail(f"patterns/{name}.jsonl is listed in SCHEMAS but missing")
    rows = load_patterns(name)
    assert rows and all(isinstance(r, dict) for r in rows)


def test_callers_get_copies():
    rows = load_patterns("sections")
    rows[0]["literal"] = "CHANGED"
    assert load_patterns("sections")[0]["literal"] != "CHANGED"


def test_bad_line_names_file_and_line(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text('{"label": "DRUG", "pattern": "a", "id": "a"}\n{not json}\n')
    with pytest.raises(PatternFileError, match=r"x\.jsonl, line 2"):
        read_jsonl(p)


def test_missing_key_is_reported(tmp_path):
    p = tmp_path / "y.jsonl"
    p.write_text('{"label": "DRUG"}\n')
    with pytest.raises(PatternFileError, match="missing key"):
        read_jsonl(p, required=("label", "pattern"))


def test_unknown_name():
    with pytest.raises(PatternFileError, match="E003"):
        load_patterns("nope")
