"""One record per disputed item (``shared/spec/records.md``), as a pure function of a tagged Doc.

``build_requests(doc)`` returns plain JSON types so that records survive
``nlp.pipe(n_process=2)``, DocBin and ``to_dataframe``. It finds the items of
every layout:

- headers with a decision ("Norco 10mg, #90:  Upheld"), in the 2014-2016 and
  newer layouts, each followed by its guideline lines and rationale;
- the 2013 numbered list ("1) MAXIMUS Federal Services, Inc. has determined
  the request for X is not medically necessary and appropriate."), whose
  details follow later under "1) Regarding the request for X:".

A field the letter does not state is None, never a guess. A rationale whose
conclusion contradicts the header is kept as written and noted in ``warnings``.
"""

import re
from bisect import bisect_right
from datetime import date
from functools import lru_cache
from typing import Any, Iterable

import numpy
from spacy.tokens import Doc, Span

from ..errors import Warnings
from ..layout import label_regions
from ..patterns import load_patterns
from ..spans import hyphen_tolerant
from .schema import FIELDS

_MONTHS = {m: i for i, m in enumerate(
    "january february march april may june july august september october november december".split(), 1)}
_MON = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
DATE = rf"(?:{_MON}\s+\d{{1,2}},?\s+\d{{4}}|\d{{1,2}}/\d{{1,2}}/\d{{2,4}}|\d{{1,2}}-\d{{1,2}}-\d{{4}})"
_DATE = re.compile(DATE)
_ITEM_HEADER = re.compile(r"(?m)^[ \t]*(\S[^\n]{0,250}?):[ \t]*(Upheld|Overturned|UPHELD|OVERTURNED)[ \t]*$")
_NUMBERED = re.compile(
    r"(?m)^[ \t]*(\d{1,2})[).][ \t]+(?:MAXIMUS\s+Federal\s+Services,?\s+Inc\.?\s+has\s+determined\s+(?:that\s+)?)?"
    r"(?:the\s+request(?:ed)?\s+(?:for\s+)?)?(\S.{0,300}?)\s+(?:is|are|was)\s+(not\s+)?"
    + hyphen_tolerant("medically") + r"\s+" + hyphen_tolerant("necessary")
    + r"(?:\s+and\s+" + hyphen_tolerant("appropriate") + ")?",
    re.DOTALL,
)
_REGARDING = re.compile(r"(?m)^[ \t]*(\d{1,2})[).][ \t]+Regarding\s+the\s+request\s+for\b")
_AGE_SEX = re.compile(r"(?i)\b(\d{1,3})[- ]year[- ]old\s+(male|female|man|woman|gentleman|lady|boy|girl)\b")
_SEX = {"male": "male", "man": "male", "gentleman": "male", "boy": "male",
        "female": "female", "woman": "female", "lady": "female", "girl": "female"}
_INJURY = re.compile(
    rf"(?i)(?:date\s+of\s+injury(?:\s+of|\s+was|\s+is)?\s*:?|injur(?:y|ies)\s+(?:on|of|dated|that\s+occurred\s+on)|injured\s+on)\s+({DATE})"
)
_UR_LABEL = re.compile(rf"(?i)\bUR\s+(?:Denial|Decision)\s+Date\s*:?\s*({DATE})")
_UR = re.compile(r"(?i)\butilization\s+review\b|\bUR\b")
_STATES = re.compile(r"State\(s\) of Licensure:[ \t]*([^\n]+)")
_SPECIALTIES = re.compile(r"Certification\(s\)/Specialty:[ \t]*([^\n]+)")
_LICENSED = re.compile(r"licensed\s+to\s+practice\s+in\s+((?:[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)(?:\s*(?:,|and)\s*(?:and\s+)?[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)*)")
_CERTIFIED = re.compile(r"[Bb]oard\s+[Cc]ertified\s+in\s+(.+?)(?:\s+and\s+(?:is|has)\b|,\s+(?:is|has)\b|\.\s)", re.DOTALL)
_SUBSPECIALTY = re.compile(r"subspecialty\s+in\s+(.+?)(?:\s+and\s+(?:is|has)\b|,\s+(?:is|has)\b|\.\s)", re.DOTALL)
_REQUEST_WORDS = re.compile(
    r"(?i)\b(?:request\w*|RFA|authoriz\w*|non-?certif\w*|modified|denied|utilization\s+review|UR)\b"
)
_TOPICAL = re.compile(r"(?i)\b(?:cream|gel|ointment|lotion|patch(?:es)?|topical|compound(?:ed)?|liniment|transdermal)\b")
_NUM = re.compile(r"\d+(?:\.\d+)?")
_EVERY = re.compile(r"(?i)(?:\bq\.?\s?|every\s+)(\d+|one|two|three|four|five|six|eight|twelve|twenty-four)(?:\s?(?:-|to)\s?(?:\d+|four|six|eight|twelve))?\s?(?:h|hr|hrs|hours?)\b")
_WORDNUM = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "eight": 8, "twelve": 12, "twenty-four": 24}


@lru_cache(maxsize=1)
def _tables() -> tuple[list, list]:
    dpd = [(re.compile(r["key"]), float(r["value"])) for r in load_patterns("records") if r["kind"] == "doses_per_day"]
    cats = [(re.compile(r["pattern"]), r["category"]) for r in load_patterns("categories")]
    return dpd, cats


def build_requests(doc: Doc) -> list[dict[str, Any]]:
    """Build the records of one letter.

    doc (Doc): a letter tagged by the imr_nlp pipeline.
    RETURNS (list[dict]): one record per disputed item, fields in records.md order.
    """
    text = doc.text
    items = find_items(text)
    if not items:
        return []
    bounds = SentenceBounds(doc)
    letter = letter_fields(doc, text, bounds)
    ents = list(doc.ents)
    regions = label_regions(text)  # once per letter; each item takes the ones inside it
    records = []
    for i, item in enumerate(items):
        rec = {"doc_id": doc._.doc_id, "request_index": i, "decision_reasons": []}
        rec.update(item_fields(doc, ents, item, text, regions=regions, bounds=bounds))
        rec.update(letter)
        rec["warnings"] = _check(rec)
        records.append({k: rec.get(k) for k in FIELDS})
    return records


def find_items(text: str) -> list[dict[str, Any]]:
    """The disputed items of a letter, with their header and their region.

    RETURNS (list[dict]): ``{"request_text", "header": (start, end), "region": (start, end),
        "outcome"}``; outcome is None where the header carries no decision word.
    """
    items = []
    headers = list(_ITEM_HEADER.finditer(text))
    for i, m in enumerate(headers):
        end = headers[i + 1].start() if i + 1 < len(headers) else len(text)
        items.append({
            "request_text": m.group(1).strip(),
            "header": (m.start(1), m.start(1) + len(m.group(1).rstrip())),
            "region": (m.end(), end),
            "outcome": m.group(2).lower(),
        })
    if items:
        return items
    numbered = [m for m in _NUMBERED.finditer(text) if "\n\n\n" not in m.group(2).replace(" ", "")]
    regarding = {int(m.group(1)): m.start() for m in _REGARDING.finditer(text)}
    starts = sorted(regarding.values())
    for m in numbered:
        n = int(m.group(1))
        if n in regarding:
            start = regarding[n]
            later = [s for s in starts if s > start]
            end = later[0] if later else len(text)
        else:
            start, end = m.end(), len(text)
        items.append({
            "request_text": " ".join(m.group(2).split()),
            "header": (m.start(2), m.end(2)),
            "region": (start, end),
            "outcome": "upheld" if m.group(3) else "overturned",
            "conclusion": (m.start(), m.end()),
        })
    return items


def item_fields(
    doc: Doc,
    ents: list[Span],
    item: dict[str, Any],
    text: str,
    *,
    regions: list[tuple[str, int, int]] | None = None,
    bounds: "SentenceBounds | None" = None,
) -> dict[str, Any]:
    """The item-level fields of one record.

    text (str): ``doc.text``, read once by the caller.
    regions (list | None): ``layout.label_regions(text)``, computed once per letter.
    bounds (SentenceBounds | None): the letter's sentences, computed once per letter.
    """
    regions = label_regions(text) if regions is None else regions
    bounds = SentenceBounds(doc) if bounds is None else bounds
    hs, he = item["header"]
    rs, re_ = item["region"]
    in_header = [e for e in ents if e.start_char >= hs and e.end_char <= he]
    drugs = [e for e in in_header if e.label_ == "DRUG"]
    first = {lab: next((e for e in in_header if e.label_ == lab), None) for lab in ("STRENGTH", "QUANTITY", "FREQUENCY")}
    out: dict[str, Any] = {"request_text": item["request_text"], "outcome": item["outcome"]}
    if drugs:
        generics = [d._.generic or d.text.lower() for d in drugs]
        out["drug"] = drugs[0].text
        out["generic"] = "/".join(dict.fromkeys(generics))
        # a combination takes the class of its first ingredient that has one (APAP/codeine:
        # opioid); a compound cream, gel or patch is a topical analgesic
        classes = [d._.drug_class for d in drugs if d._.drug_class]
        cls = next((c for c in classes if c != "other"), classes[0] if classes else None)
        if len(drugs) > 1 and _TOPICAL.search(item["request_text"]):
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
    qty = first["QUANTITY"]
    out["quantity"] = int(m.group(0).split(".")[0]) if qty is not None and (m := _NUM.search(qty.text)) else None
    freq = first["FREQUENCY"]
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
    out["claims_administrator_guideline"] = " ".join(text[ca[0]:ca[1]].split()) if ca else None
    out["imr_guideline"] = " ".join(text[imr[0]:imr[1]].split()) if imr else None
    # the IMR guideline line first; a 2013 letter often only says the reviewer "found the
    # guideline(s) used by the Claims Administrator relevant": then the rationale's, then that one
    g = None
    for region in (imr, rat, ca):
        if region is not None and g is None:
            g = next((e for e in ents if e.label_ == "GUIDELINE" and region[0] <= e.start_char < region[1]), None)
    out["guideline_source"] = g._.guideline_source if g is not None else None
    out["guideline_pages"] = g._.guideline_pages if g is not None else None
    out["rationale"] = text[rat[0]:rat[1]].strip() if rat else None
    nec_region = rat or item.get("conclusion") or (rs, re_)
    necs = [e for e in ents if e.label_ == "NECESSITY" and nec_region[0] <= e.start_char < nec_region[1]]
    if not necs and item.get("conclusion"):
        cs, ce = item["conclusion"]
        necs = [e for e in ents if e.label_ == "NECESSITY" and cs <= e.start_char < ce]
    out["necessity_negated"] = bool(necs[-1]._.is_negated) if necs and Span.has_extension("is_negated") else None
    return out


def _tied_mention(
    doc: Doc, ents: list[Span], drug: Span, strength: Span | None, item: dict, bounds: "SentenceBounds"
) -> dict[str, Span]:
    """Quantity/frequency of the same request named elsewhere: same drug and same strength,
    in one mention (before the next drug), outside the decision section's other items."""
    key = (drug._.generic or drug.text.lower(), _norm_strength(strength.text) if strength is not None else None)
    if key[1] is None:
        return {}
    hs = item["header"][0]
    found: dict[str, Span] = {}
    for i, e in enumerate(ents):
        if e.label_ != "DRUG" or e.start_char >= hs or (e._.generic or e.text.lower()) != key[0]:
            continue
        # tied to the request: the sentence speaks of the request, not of a medication list
        s, t = bounds.tokens_of(e.start)
        if not _REQUEST_WORDS.search(doc[s:t].text):
            continue
        mention = []
        for f in ents[i + 1:i + 6]:
            if f.label_ in ("DRUG", "DRUG_CLASS", "GUIDELINE", "DIAGNOSIS", "OUTCOME", "NECESSITY"):
                break
            if f.start - e.end > 12:
                break
            mention.append(f)
        st = next((f for f in mention if f.label_ == "STRENGTH"), None)
        if st is None or _norm_strength(st.text) != key[1]:
            continue
        for f in mention:
            found.setdefault(f.label_, f)
        break
    return found


def _norm_strength(s: str) -> str:
    return re.sub(r"\s+", "", s.lower()).replace("mgs", "mg")


def strength_mg(s: str) -> float | None:
    """Milligrams of the first component: "10-325mg" 10.0, "0.5 g" 500.0, "5%" None."""
    low = s.lower().replace(" ", "")
    if "%" in low or re.search(r"/(?:hr|hour|h|ml|actuation|spray|dose|patch)\b", low):
        return None
    m = _NUM.search(low)
    if not m:
        return None
    value = float(m.group(0))
    unit = re.search(r"(mcg|µg|mg|gm|g|grams?|ml|units?|iu|meq)", low)
    unit = unit.group(1) if unit else "mg"
    if unit in ("mcg", "µg"):
        return value / 1000
    if unit in ("g", "gm", "gram", "grams"):
        return value * 1000
    if unit == "mg":
        return value
    return None


def doses_per_day(freq: str) -> float | None:
    """Doses a day of a frequency: QID 4, TID 3, BID 2, q8h 3, every four hours 6; PRN alone None."""
    m = _EVERY.search(freq)
    if m:
        n = m.group(1).lower()
        hours = int(n) if n.isdigit() else _WORDNUM.get(n)
        return round(24 / hours, 2) if hours else None
    for regex, value in _tables()[0]:
        if regex.search(freq):
            return value
    return None


def category(request_text: str, *, has_drug: bool) -> str:
    """Treatment category of an item (records.md)."""
    if has_drug:
        return "pharmaceutical"
    for regex, cat in _tables()[1]:
        if regex.search(request_text):
            return cat
    return "other"


def letter_fields(doc: Doc, text: str, bounds: "SentenceBounds | None" = None) -> dict[str, Any]:
    """Fields of the whole letter, repeated on each of its records."""
    out: dict[str, Any] = {}
    m = _STATES.search(text)
    if m:
        out["reviewer_states"] = _split_list(m.group(1))
    else:
        m = _LICENSED.search(text)
        out["reviewer_states"] = _split_list(m.group(1), and_too=True) if m else []
    m = _SPECIALTIES.search(text)
    if m:
        out["reviewer_specialties"] = _split_list(m.group(1))
    else:
        specs = [" ".join(x.group(1).split()) for rx in (_CERTIFIED, _SUBSPECIALTY) for x in [rx.search(text)] if x]
        out["reviewer_specialties"] = specs
    m = _AGE_SEX.search(text)
    out["patient_age"] = int(m.group(1)) if m else None
    out["patient_sex"] = _SEX[m.group(2).lower()] if m else None
    m = _INJURY.search(text)
    out["date_of_injury"] = iso_date(m.group(1)) if m else None
    out["ur_date"] = ur_date(doc, text, bounds)
    out["diagnoses"] = case_summary_diagnoses(doc)
    return out


def ur_date(doc: Doc, text: str, bounds: "SentenceBounds | None" = None) -> str | None:
    """Date of the utilization review decision: a "UR Denial Date" label, else the date in the
    first case-summary sentence that names utilization review."""
    m = _UR_LABEL.search(text)
    if m:
        return iso_date(m.group(1))
    summary = _section_span(doc, "case_summary")
    if summary is None:
        return None
    bounds = SentenceBounds(doc) if bounds is None else bounds
    for ur in _UR.finditer(text, summary.start_char, summary.end_char):
        start, end = bounds.chars_of(ur.start())
        after = re.match(rf"\s*\(\s*({DATE})\s*\)", text[ur.end():end])
        d = after.group(1) if after else None
        if d is None:
            m = _DATE.search(text, start, end)
            d = m.group(0) if m else None
        if d:
            return iso_date(d)
    return None


class SentenceBounds:
    """Which sentence a token or character is in, from the SENT_START array (no token walk)."""

    def __init__(self, doc: Doc):
        self.doc = doc
        if doc.has_annotation("SENT_START") and len(doc):
            starts = numpy.flatnonzero(doc.to_array("SENT_START").astype("int64") == 1)
            self.starts = starts.tolist() or [0]
        else:
            self.starts = [0]
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


def iso_date(s: str) -> str | None:
    """ISO date of "December 13, 2001", "2/1/2013", "12/14/14"; None if not a date."""
    s = " ".join(s.split())
    try:
        m = re.match(r"([A-Za-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})", s)
        if m:
            month = next(v for k, v in _MONTHS.items() if k.startswith(m.group(1).lower()[:3]))
            return date(int(m.group(3)), month, int(m.group(2))).isoformat()
        m = re.match(r"(\d{1,2})[/-](\d{1,2})[/-](\d{2,4})", s)
        if m:
            year = int(m.group(3))
            if year < 100:
                year += 2000 if year <= 40 else 1900
            return date(year, int(m.group(1)), int(m.group(2))).isoformat()
    except (ValueError, StopIteration):
        return None
    return None


def _split_list(s: str, *, and_too: bool = False) -> list[str]:
    parts = re.split(r"\s*,\s*(?:and\s+)?" + (r"|\s+and\s+" if and_too else ""), s.strip())
    return [p.strip() for p in parts if p.strip()]


def _check(rec: dict[str, Any]) -> list[str]:
    neg = rec.get("necessity_negated")
    if neg is None:
        return []
    if rec["outcome"] == "upheld" and neg is False:
        return [Warnings.W003.format(doc_id=rec["doc_id"], problem=f"item {rec['request_index']} is Upheld but its rationale concludes 'medically necessary'")]
    if rec["outcome"] == "overturned" and neg is True:
        return [Warnings.W003.format(doc_id=rec["doc_id"], problem=f"item {rec['request_index']} is Overturned but its rationale concludes 'not medically necessary'")]
    return []
