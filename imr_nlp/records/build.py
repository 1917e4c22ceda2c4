"""One record per disputed item (``shared/spec/records.md``), as a pure function of a tagged Doc.

``build_requests(doc)`` returns plain JSON types so that records survive
``nlp.pipe(n_process=2)``, DocBin and ``to_dataframe``. The items, their
regions and the header block come from the letter's structure
(``doc._.imr_structure``, set by the ``imr_structure`` component from
``patterns/structure.jsonl``); the values come from the tagged spans inside
each item's header, its guideline lines and its rationale.

A field the letter does not state is None, never a guess. A rationale whose
conclusion contradicts the header is kept as written and noted in ``warnings``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import lru_cache
from typing import Any

from spacy.tokens import Doc, Span

from ..errors import Warnings
from ..patterns import load_patterns
from ..pipeline.sentences import sentence_starts
from ..pipeline.structure import analyse
from ..rules.dates import DATE, DATE_RE, iso_date
from ..rules.structure import Structure, collapse, shipped
from .normalize import count, doses_per_day, norm_strength, strength_mg
from .schema import FIELDS

# How far (entities, tokens) a quantity or frequency may follow a drug named elsewhere
# and still belong to the same mention.
TIED_MAX_ENTITIES = 6
TIED_MAX_TOKENS = 12
# Labels that end such a mention.
_MENTION_ENDS = ("DRUG", "DRUG_CLASS", "GUIDELINE", "DIAGNOSIS", "OUTCOME", "NECESSITY")


@lru_cache(maxsize=1)
def _rules() -> dict[str, Any]:
    rows = load_patterns("records")
    regex = {
        r["key"]: re.compile(r["value"].replace("{date}", DATE))
        for r in rows
        if r["kind"] == "regex"
    }
    return {
        "regex": regex,
        "sex": {r["key"]: r["value"] for r in rows if r["kind"] == "sex"},
        "categories": [
            (re.compile(r["pattern"]), r["category"]) for r in load_patterns("categories")
        ],
    }


def letter_structure(doc: Doc) -> dict[str, Any]:
    """The letter's structure: what imr_structure set, else the shipped rules' reading."""
    found = doc._.imr_structure if Doc.has_extension("imr_structure") else None
    return found if found is not None else analyse(shipped(), doc.text)


def build_requests(doc: Doc, structure: Structure | None = None) -> list[dict[str, Any]]:
    """Build the records of one letter.

    doc (Doc): a letter tagged by the imr_nlp pipeline.
    structure (Structure | None): the rules to read the guideline lines with; the shipped ones
        when None (the pipeline passes its own).
    RETURNS (list[dict]): one record per disputed item, fields in records.md order.
    """
    text = doc.text
    layout = letter_structure(doc)
    items = layout["items"]
    if not items:
        return []
    structure = structure or shipped()
    bounds = SentenceBounds(doc)
    letter = letter_fields(doc, text, bounds, header=layout["header"])
    letter["layout"] = layout["layout"]
    letter["source_path"] = doc._.imr_source_path if Doc.has_extension("imr_source_path") else None
    ents = list(doc.ents)
    regions = [tuple(r) for r in layout["regions"]]
    records = []
    for i, item in enumerate(items):
        rec: dict[str, Any] = {
            "doc_id": doc._.imr_doc_id,
            "request_index": i,
            "decision_reasons": [],
        }
        rec.update(
            item_fields(doc, ents, item, text, regions=regions, bounds=bounds, structure=structure)
        )
        rec.update(letter)
        rec["warnings"] = _check(rec)
        records.append({k: rec.get(k) for k in FIELDS})
    return records


def find_items(text: str) -> list[dict[str, Any]]:
    """The disputed items of a letter (``Item.as_dict()``), read with the shipped structure."""
    return [i.as_dict() for i in shipped().items(text)]


def item_fields(
    doc: Doc,
    ents: list[Span],
    item: dict[str, Any],
    text: str,
    *,
    regions: list[tuple[str, int, int]] | None = None,
    bounds: SentenceBounds | None = None,
    structure: Structure | None = None,
) -> dict[str, Any]:
    """The item-level fields of one record.

    text (str): ``doc.text``, read once by the caller.
    regions (list | None): the letter's labelled regions, computed once per letter.
    bounds (SentenceBounds | None): the letter's sentences, computed once per letter.
    """
    structure = structure or shipped()
    regions = structure.regions(text) if regions is None else regions
    bounds = SentenceBounds(doc) if bounds is None else bounds
    hs, he = item["header"]
    rs, re_ = item["region"]
    in_header = [e for e in ents if e.start_char >= hs and e.end_char <= he]
    drugs = [e for e in in_header if e.label_ == "DRUG"]
    first = {
        lab: next((e for e in in_header if e.label_ == lab), None)
        for lab in ("STRENGTH", "QUANTITY", "FREQUENCY")
    }
    out: dict[str, Any] = {
        "request_text": item["request_text"],
        "outcome": item["outcome"],
        "original_request": item.get("original_request"),
        "authorized": item.get("authorized"),
    }
    if drugs:
        generics = [d._.imr_generic or d.text.lower() for d in drugs]
        out["drug"] = drugs[0].text
        out["generic"] = "/".join(dict.fromkeys(generics))
        # a combination takes the class of its first ingredient that has one (APAP/codeine:
        # opioid); a compound cream, gel or patch is a topical analgesic
        classes = [d._.imr_drug_class for d in drugs if d._.imr_drug_class]
        cls = next((c for c in classes if c != "other"), classes[0] if classes else None)
        if len(drugs) > 1 and _rules()["regex"]["topical"].search(item["request_text"]):
            cls = "topical_analgesic"
        out["drug_class"] = cls
    else:
        out["drug"] = out["generic"] = out["drug_class"] = None
    if drugs and (first["QUANTITY"] is None or first["FREQUENCY"] is None):
        tied = _tied_mention(doc, ents, drugs[0], first["STRENGTH"], item, bounds)
        for lab in ("QUANTITY", "FREQUENCY"):
            if first[lab] is None and tied.get(lab) is not None:
                first[lab] = tied[lab]
    strength = first["STRENGTH"]
    out["strength"] = strength.text if strength is not None else None
    out["strength_mg"] = strength_mg(strength.text) if strength is not None else None
    # quantity and frequency are for medications (records.md)
    qty = first["QUANTITY"] if drugs else None
    out["quantity"] = count(qty.text) if qty is not None else None
    freq = first["FREQUENCY"] if drugs else None
    out["frequency"] = " ".join(freq.text.split()) if freq is not None else None
    out["doses_per_day"] = doses_per_day(out["frequency"]) if freq is not None else None
    out["category"] = category(item["request_text"], has_drug=bool(drugs) or strength is not None)
    mine: dict[str, tuple[int, int]] = {}
    for cat, s, e in regions:
        if rs <= s < re_:
            mine.setdefault(cat, (s, min(e, re_)))
    ca = mine.get("claims_administrator_guideline")
    imr = mine.get("imr_guideline")
    rat = mine.get("decision_rationale")
    out["claims_administrator_guideline"] = collapse(text[ca[0] : ca[1]]) if ca else None
    out["imr_guideline"] = collapse(text[imr[0] : imr[1]]) if imr else None
    out.update(_guideline(ents, structure, out["imr_guideline"], (imr, rat, ca)))
    out["rationale"] = text[rat[0] : rat[1]].strip() if rat else None
    nec_region = rat or item.get("conclusion") or (rs, re_)
    necs = [
        e for e in ents if e.label_ == "NECESSITY" and nec_region[0] <= e.start_char < nec_region[1]
    ]
    if not necs and item.get("conclusion"):
        cs, ce = item["conclusion"]
        necs = [e for e in ents if e.label_ == "NECESSITY" and cs <= e.start_char < ce]
    if necs and Span.has_extension("is_negated"):
        out["necessity_negated"] = bool(necs[-1]._.is_negated)
    else:
        conclusions = list(_rules()["regex"]["conclusion"].finditer(text, *rat)) if rat else []
        last = conclusions[-1] if conclusions else None
        out["necessity_negated"] = bool(last.group("not")) if last is not None else None
    return out


def _guideline(
    ents: list[Span],
    structure: Structure,
    imr_line: str | None,
    regions: tuple[tuple[int, int] | None, ...],
) -> dict[str, Any]:
    """Guideline fields: from the MAXIMUS line as the structure reads it; where the line does
    not follow that structure (2013 letters), from the first GUIDELINE span of the IMR line,
    then of the rationale, then of the Claims Administrator's line."""
    g = None
    for region in regions:
        if region is not None and g is None:
            g = next(
                (
                    e
                    for e in ents
                    if e.label_ == "GUIDELINE" and region[0] <= e.start_char < region[1]
                ),
                None,
            )
    out = {
        "guideline_source": g._.imr_guideline_source if g is not None else None,
        "guideline_document": None,
        "guideline_sections": None,
        "guideline_pages": g._.imr_guideline_pages if g is not None else None,
    }
    if imr_line:
        parsed = structure.guideline_line(imr_line)
        if parsed.pop("matched", False):
            out.update(parsed)
            imr = regions[0]
            in_line = imr is not None and g is not None and imr[0] <= g.start_char < imr[1]
            if not in_line:
                out["guideline_pages"] = None
    return out


def _tied_mention(
    doc: Doc,
    ents: list[Span],
    drug: Span,
    strength: Span | None,
    item: dict,
    bounds: SentenceBounds,
) -> dict[str, Span]:
    """Quantity/frequency of the same request named elsewhere: same drug and same strength,
    in one mention (before the next drug), outside the decision section's other items."""
    key = (
        drug._.imr_generic or drug.text.lower(),
        norm_strength(strength.text) if strength is not None else None,
    )
    if key[1] is None:
        return {}
    hs = item["header"][0]
    found: dict[str, Span] = {}
    for i, e in enumerate(ents):
        if (
            e.label_ != "DRUG"
            or e.start_char >= hs
            or (e._.imr_generic or e.text.lower()) != key[0]
        ):
            continue
        # tied to the request: the sentence speaks of the request, not of a medication list
        s, t = bounds.tokens_of(e.start)
        if not _rules()["regex"]["request_words"].search(doc[s:t].text):
            continue
        mention = []
        for f in ents[i + 1 : i + 1 + TIED_MAX_ENTITIES]:
            if f.label_ in _MENTION_ENDS:
                break
            if f.start - e.end > TIED_MAX_TOKENS:
                break
            mention.append(f)
        st = next((f for f in mention if f.label_ == "STRENGTH"), None)
        if st is None or norm_strength(st.text) != key[1]:
            continue
        for f in mention:
            found.setdefault(f.label_, f)
        break
    return found


def category(request_text: str, *, has_drug: bool) -> str:
    """Treatment category of an item (records.md)."""
    if has_drug:
        return "pharmaceutical"
    for regex, cat in _rules()["categories"]:
        if regex.search(request_text):
            return cat
    return "other"


def letter_fields(
    doc: Doc,
    text: str,
    bounds: SentenceBounds | None = None,
    *,
    header: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Fields of the whole letter, repeated on each of its records."""
    rx = _rules()["regex"]
    header = header if header is not None else letter_structure(doc)["header"]
    out: dict[str, Any] = {
        k: header.get(k)
        for k in (
            "case_number",
            "decision_date",
            "date_assigned",
            "application_received",
            "priority",
        )
    }
    m = rx["states_label"].search(text)
    if m:
        out["reviewer_states"] = _split_list(_label_value(text, m))
    else:
        m = rx["licensed_in"].search(text)
        out["reviewer_states"] = _split_list(m.group(1), and_too=True) if m else []
    m = rx["specialties_label"].search(text)
    if m:
        out["reviewer_specialties"] = _split_list(_label_value(text, m))
    else:
        out["reviewer_specialties"] = [
            collapse(x.group(1))
            for key in ("certified_in", "subspecialty_in")
            for x in [rx[key].search(text)]
            if x
        ]
    m = rx["age_sex"].search(text)
    out["patient_age"] = int(m.group(1)) if m else None
    out["patient_sex"] = _rules()["sex"].get(m.group(2).lower()) if m else None
    if header.get("date_of_injury"):
        out["date_of_injury"] = header["date_of_injury"]
    else:
        m = rx["injury"].search(text)
        out["date_of_injury"] = iso_date(m.group(1)) if m else None
    out["ur_date"] = header.get("ur_date") or ur_date(doc, text, bounds)
    out["diagnoses"] = case_summary_diagnoses(doc)
    return out


def ur_date(doc: Doc, text: str, bounds: SentenceBounds | None = None) -> str | None:
    """Date of the utilization review decision named in the first case-summary sentence that
    names utilization review (letters without the header block's "UR Denial Date")."""
    summary = _section_span(doc, "case_summary")
    if summary is None:
        return None
    bounds = SentenceBounds(doc) if bounds is None else bounds
    for ur in _rules()["regex"]["ur_mention"].finditer(text, summary.start_char, summary.end_char):
        start, end = bounds.chars_of(ur.start())
        after = re.match(rf"\s*\(\s*({DATE})\s*\)", text[ur.end() : end])
        d = after.group(1) if after else None
        if d is None:
            m = DATE_RE.search(text, start, end)
            d = m.group(0) if m else None
        if d:
            return iso_date(d)
    return None


class SentenceBounds:
    """Which sentence a token or character is in, from the SENT_START array (no token walk)."""

    def __init__(self, doc: Doc):
        self.doc = doc
        self.starts = sentence_starts(doc)
        self.idx = doc.to_array("IDX").tolist() if len(doc) else []

    def tokens_of(self, i: int) -> tuple[int, int]:
        """Token range of the sentence of token i."""
        k = bisect_right(self.starts, i) - 1
        end = self.starts[k + 1] if k + 1 < len(self.starts) else len(self.doc)
        return self.starts[max(k, 0)], end

    def chars_of(self, char: int) -> tuple[int, int]:
        """Character range of the sentence around a character offset."""
        i = max(bisect_right(self.idx, char) - 1, 0)
        s, e = self.tokens_of(i)
        return self.idx[s], (self.idx[e] if e < len(self.idx) else len(self.doc.text))


def _section_span(doc: Doc, category: str) -> Span | None:
    rows = doc._.imr_sections if Doc.has_extension("imr_sections") else None
    for cat, start, _title_end, end in rows or []:
        if cat == category:
            return doc[start:end]
    return None


def case_summary_diagnoses(doc: Doc) -> list[str]:
    """DIAGNOSIS texts of the clinical case summary, whitespace collapsed, in order, no repeats."""
    span = _section_span(doc, "case_summary")
    if span is None:
        return []
    out: list[str] = []
    for e in doc.ents:
        if e.label_ == "DIAGNOSIS" and span.start <= e.start < span.end:
            t = " ".join(e.text.split())
            if t not in out:
                out.append(t)
    return out


def _label_value(text: str, m: re.Match[str]) -> str:
    """A label's value (group 1), with the next line when the value breaks off there."""
    value = m.group(1).rstrip()
    if _rules()["regex"]["label_continues"].search(value):
        nxt = re.match(r"[ \t]*\n[ \t\f]*([^\n]+)", text[m.end() :])
        if nxt:
            value = value + " " + nxt.group(1).strip()
    return value


def _split_list(s: str, *, and_too: bool = False) -> list[str]:
    parts = re.split(r"\s*,\s*(?:and\s+)?" + (r"|\s+and\s+" if and_too else ""), s.strip())
    return [p.strip() for p in parts if p.strip()]


def _check(rec: dict[str, Any]) -> list[str]:
    neg = rec.get("necessity_negated")
    if neg is None:
        return []
    if rec["outcome"] == "upheld" and neg is False:
        return [
            Warnings.W003.format(
                doc_id=rec["doc_id"],
                problem=f"item {rec['request_index']} is Upheld but its rationale concludes 'medically necessary'",
            )
        ]
    if rec["outcome"] == "overturned" and neg is True:
        return [
            Warnings.W003.format(
                doc_id=rec["doc_id"],
                problem=f"item {rec['request_index']} is Overturned but its rationale "
                "concludes 'not medically necessary'",
            )
        ]
    return []
