"""Score records against gold records, field by field (``shared/gold/real_dev.jsonl``).

Gold holds one object per letter: letter fields at the top level, item fields
under ``requests``. Records are matched to gold items within a letter in order,
by their ``request_text`` (an item that is missing or extra does not shift the
others). Comparison follows ``shared/real/GUIDE.md``:

- text fields after collapsing whitespace; ``guideline_document`` and
  ``guideline_sections`` leniently (one contains the other, ignoring case);
- ``frequency``, ``doses_per_day`` and ``quantity`` on medication items only
  (gold ``drug`` not null);
- ``diagnoses`` as a set per letter, leniently (one string contains the other),
  scored as micro precision / recall / F1 over the letters;
- every other field exactly, over the fields the gold has.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import Errors, InputError

LENIENT = ("guideline_document", "guideline_sections")
MEDICATION_ONLY = ("frequency", "doses_per_day", "quantity")
LETTER_FIELDS = (
    "case_number",
    "date_assigned",
    "date_of_injury",
    "decision_date",
    "ur_date",
    "application_received",
    "priority",
    "reviewer_states",
    "reviewer_specialties",
    "patient_age",
    "patient_sex",
)


def read_gold_records(path: str | Path) -> list[dict[str, Any]]:
    """Read a gold records file (one letter a line, items under ``requests``)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(
            Errors.E015.format(path=path, detail="no such file"), reason="not_found", path=str(path)
        )
    rows = []
    with path.open(encoding="utf8") as f:
        for i, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(
                    Errors.E031.format(path=path, where=f"line {i}", problem=f"bad JSON ({e.msg})"),
                    reason="bad_gold",
                    path=str(path),
                ) from None
            if not isinstance(row, dict) or "id" not in row or "requests" not in row:
                raise InputError(
                    Errors.E031.format(
                        path=path,
                        where=f"line {i}",
                        problem="not a gold records line (needs 'id' and 'requests')",
                    ),
                    reason="bad_gold",
                    path=str(path),
                )
            rows.append(row)
    return rows


def _norm(value: Any) -> Any:
    """Whitespace collapsed; a table's missing value (NaN, pandas NA) as None; arrays as lists."""
    if isinstance(value, str):
        return " ".join(value.split())
    if value is None or isinstance(value, (bool, int, list)):
        return value
    if isinstance(value, float):
        return None if value != value else value
    if hasattr(value, "tolist"):
        return value.tolist()
    try:
        import pandas

        if value is pandas.NA:
            return None
    except ImportError:  # pragma: no cover
        pass
    return value


def _same(field: str, mine: Any, gold: Any) -> bool:
    mine, gold = _norm(mine), _norm(gold)
    if field in LENIENT and isinstance(mine, str) and isinstance(gold, str):
        a, b = mine.lower().rstrip("."), gold.lower().rstrip(".")
        return bool(a and b) and (a in b or b in a)
    if (
        isinstance(mine, (int, float))
        and isinstance(gold, (int, float))
        and not isinstance(mine, bool)
    ):
        return abs(mine - gold) < 1e-6
    return bool(mine == gold)


def _align(mine: list[dict[str, Any]], gold: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """Pairs (gold index, record index) matched in order by request_text."""
    a = [" ".join(str(g.get("request_text", "")).lower().split()) for g in gold]
    b = [" ".join(str(r.get("request_text") or "").lower().split()) for r in mine]
    if len(a) == len(b):
        return [(i, i) for i in range(len(a))]
    pairs: list[tuple[int, int]] = []
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag in ("equal", "replace"):
            pairs.extend(zip(range(i1, i2), range(j1, j2), strict=False))
    return pairs


def _diagnoses_counts(mine: Iterable[str], gold: Iterable[str]) -> tuple[int, int, int]:
    """(true positives, predicted, gold) with lenient matching, each string used once."""
    m = [" ".join(s.lower().split()) for s in dict.fromkeys(mine)]
    g = [" ".join(s.lower().split()) for s in dict.fromkeys(gold)]
    used: set[int] = set()
    tp = 0
    for s in m:
        for j, t in enumerate(g):
            if j not in used and (s in t or t in s):
                used.add(j)
                tp += 1
                break
    return tp, len(m), len(g)


def score_records(records: Iterable[dict[str, Any]], gold: list[dict[str, Any]]) -> dict[str, Any]:
    """Field-by-field accuracy of records against gold letters.

    records (Iterable[dict]): records of the gold letters (``doc_id`` = the gold ``id``).
    gold (list[dict]): gold letters as read by ``read_gold_records``.
    RETURNS (dict): ``items`` (gold, found, outcome right), ``fields`` {field: {"right", "n",
        "accuracy"}}, ``diagnoses`` {"precision", "recall", "f1"}, ``letters`` (gold, with
        records), ``misses`` [(letter id, field, mine, gold)] for reading.
    """
    by_doc: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_doc.setdefault(str(r.get("doc_id")), []).append(r)
    right: dict[str, int] = {}
    total: dict[str, int] = {}
    misses: list[tuple[str, str, Any, Any]] = []
    found = outcome_right = n_items = letters_read = 0
    tp = n_pred = n_gold = 0

    def tally(doc_id: str, field: str, mine: Any, value: Any) -> None:
        total[field] = total.get(field, 0) + 1
        if _same(field, mine, value):
            right[field] = right.get(field, 0) + 1
        else:
            misses.append((doc_id, field, mine, value))

    for letter in gold:
        doc_id = letter["id"]
        mine = sorted(by_doc.get(doc_id, []), key=lambda r: r.get("request_index") or 0)
        letters_read += bool(mine)
        n_items += len(letter["requests"])
        pairs = _align(mine, letter["requests"])
        found += len(pairs)
        for gi, ri in pairs:
            g, r = letter["requests"][gi], mine[ri]
            outcome_right += r.get("outcome") == g.get("outcome")
            for field, value in g.items():
                if field in MEDICATION_ONLY and g.get("drug") is None:
                    continue
                tally(doc_id, field, r.get(field), value)
        first = mine[0] if mine else {}
        for field in LETTER_FIELDS:
            if field in letter:
                tally(doc_id, field, first.get(field), letter[field])
        if "diagnoses" in letter:
            a, b, c = _diagnoses_counts(first.get("diagnoses") or [], letter["diagnoses"])
            tp, n_pred, n_gold = tp + a, n_pred + b, n_gold + c
    p = tp / n_pred if n_pred else 0.0
    rcl = tp / n_gold if n_gold else 0.0
    return {
        "letters": {"gold": len(gold), "with_records": letters_read},
        "items": {
            "gold": n_items,
            "found": found,
            "outcome_right": outcome_right,
            "recall": found / n_items if n_items else 0.0,
            "outcome_accuracy": outcome_right / n_items if n_items else 0.0,
        },
        "fields": {
            f: {"right": right.get(f, 0), "n": n, "accuracy": right.get(f, 0) / n}
            for f, n in total.items()
        },
        "diagnoses": {
            "precision": p,
            "recall": rcl,
            "f1": 2 * p * rcl / (p + rcl) if p + rcl else 0.0,
        },
        "misses": misses,
    }


def format_record_scores(scores: dict[str, Any]) -> str:
    """The per-field table of ``score_records`` as text."""
    it = scores["items"]
    lines = [
        f"letters: {scores['letters']['with_records']}/{scores['letters']['gold']} with records; "
        f"items found: {it['found']}/{it['gold']} ({it['recall']:.3f}); "
        f"outcome right: {it['outcome_right']}/{it['gold']} ({it['outcome_accuracy']:.3f})",
        f"{'field':30} {'right':>6} {'n':>5} {'accuracy':>9}",
    ]
    for field, s in scores["fields"].items():
        lines.append(f"{field:30} {s['right']:>6} {s['n']:>5} {s['accuracy']:>9.3f}")
    d = scores["diagnoses"]
    lines.append(
        f"{'diagnoses (set, lenient)':30} P {d['precision']:.3f} R {d['recall']:.3f} F1 {d['f1']:.3f}"
    )
    return "\n".join(lines)
