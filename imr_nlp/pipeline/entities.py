"""imr_entities: the nine labels of annotation.md, tagged in one pass.

Each label's rules are data in ``patterns/`` (drugs, drug classes, dosage,
guidelines, diagnoses, necessity/outcome). Lexicons are matched with spaCy's
PhraseMatcher, built once at load; dose, guideline and outcome expressions are
compiled regexes on the text. The close calls of annotation.md are applied as
filters, then overlaps are resolved once and ``doc.ents`` is set once:

- a GUIDELINE, OUTCOME or NECESSITY span wins over anything inside it
  (drug names in a citation are part of it), otherwise the longer span wins;
- FREQUENCY, a form amount (``cream 180gm``) and STRENGTH are kept only
  near a DRUG in the same sentence (visit counts and "5% of patients" are not
  doses); a STRENGTH before "oral morphine equivalents" and a drug used as a
  unit ("morphine equivalents") are dropped;
- a class word naming an effect ("muscle relaxant effects", "range of action
  includes ... anticonvulsant") is not a DRUG_CLASS (these filters by the text around
  a span are ``patterns/span_filters.jsonl``);
- an abbreviation the letter defines ("Complex Regional Pain Syndrome
  (CRPS)") takes the label of its long form and carries it in ``_.imr_long_form``;
- a lexicon phrase split by a PDF line break ("proton pump \ninhibitors",
  "anti-\ndepressants") is found, and a drug name of FUZZY_MIN_LEN letters or more
  misspelled by one letter ("diazempam") is a DRUG;
- a class span keeps its modifiers outside ("topical analgesics" gives
  ``analgesics``, "narcotic analgesics" ``analgesics``), "non-opioid" is no class
  (``patterns/drug_class_rules.jsonl``);
- a named condition of the lexicon that the letter denies, rules out or reports
  as a finding ("MRI to rule out rotator cuff tear") is no DIAGNOSIS.
"""

import re
from typing import Any

import numpy
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from ..extensions import register
from ..factories import imr_factory
from ..rules.diagnoses import DiagnosisLists
from ..rules.guidelines import GuidelineFinder
from ..rules.spans import compile_rules, iter_matches
from ..training.combine import fill_gaps
from ._rules import RuleFiles
from .abbreviations import relabel_abbreviations
from .sentences import sentence_ids

RULE_FILES = (
    "drugs",
    "drug_classes",
    "drug_class_rules",
    "dosage",
    "guidelines",
    "diagnoses",
    "necessity",
    "span_filters",
)
HIGH = frozenset({"GUIDELINE", "OUTCOME", "NECESSITY"})  # win every overlap
_ONE_WORD = re.compile(r"^[a-z]+$")
ANCHORED = {"FREQUENCY", "STRENGTH"}

# a line break inside a phrase ("muscle \nrelaxants", "anti-\ndepressants"): the words on each side
_BREAK = re.compile(r"[ \t]*\n\s*")
_WORDS_BEFORE = re.compile(r"((?:[\w'/-]+[ \t]+){0,4}[\w'/-]+)$")
_WORDS_AFTER = re.compile(r"[\w'/-]+(?:[ \t]+[\w'/-]+){0,4}")
_NEAR_WORD = re.compile(r"[\w'/-]+")
FUZZY_MIN_LEN = 7  # letters a drug name needs before a one-letter misspelling of it is tagged
BREAK_LOOKBACK = 80  # characters before a line break searched for the start of a phrase
NEAR_DRUG_BEFORE = 40  # characters before a DRUG where near_drug rules (dosage) may match
NEAR_DRUG_AFTER = 240  # characters after a DRUG where near_drug rules may match
SPAN_FILTER_AFTER = 80  # characters after a span that span_filters "followed_by" rows see
SPAN_FILTER_BEFORE = 160  # characters before a span that span_filters "preceded_by" rows see
CLASS_NOT_AFTER_WINDOW = (
    12  # characters before a class word that drug_class_rules "not_after" rows see
)
STRENGTH_BEFORE_DRUG = 3  # tokens a STRENGTH may stand before its DRUG ("10 mg of Norco")
CLASS_MODIFIER_GAP = 2  # tokens between two class words for the first to modify the second


class Entities(RuleFiles):
    """Tag DRUG, DRUG_CLASS, STRENGTH, QUANTITY, FREQUENCY, GUIDELINE, DIAGNOSIS,
    OUTCOME and NECESSITY from rule data."""

    rule_files = RULE_FILES

    def __init__(
        self,
        nlp: Language,
        name: str = "imr_entities",
        *,
        dose_window: int = 16,
        overwrite_ents: bool = True,
        fill_labels: list[str] | None = None,
    ):
        """The tagger; its rules (the files of RULE_FILES in ``patterns/``) are read by
        ``initialize()`` (``rules_path``: a folder holding those files) or ``from_disk()``.

        nlp (Language): the pipeline (its tokenizer turns lexicon entries into patterns).
        name (str): the component name.
        dose_window (int): how many tokens after a DRUG a FREQUENCY or STRENGTH may stand.
        overwrite_ents (bool): replace entities set by earlier components; when False they
            are kept where no rule span overlaps them (the rules win every conflict).
        fill_labels (list[str] | None): with overwrite_ents False, the labels earlier spans
            may have to be kept (None: all).
        """
        register()
        self.nlp = nlp
        self.name = name
        self.dose_window = dose_window
        self.overwrite_ents = overwrite_ents
        self.fill_labels = None if fill_labels is None else set(fill_labels)

    def score(self, examples: Any, **kwargs: Any) -> dict[str, Any]:
        """spaCy's span scores of ``doc.ents`` (ents_p/r/f, ents_per_type), for
        ``nlp.evaluate`` and ``spacy evaluate`` (see ``imr_nlp.evaluation.score_ents``)."""
        from ..evaluation import score_ents

        return score_ents(examples, **kwargs)

    # -- building -------------------------------------------------------------
    def set_rules(self, rules: dict[str, list[dict[str, Any]]]) -> None:
        """Build matchers and regexes from rule rows (one list per file of RULE_FILES)."""
        self.rules = rules
        vocab = self.nlp.vocab
        self.lexicon: dict[str, tuple[str, str | None, str | None]] = {}
        self.matcher = PhraseMatcher(vocab, attr="LOWER")
        groups: dict[str, list[str]] = {}
        for row in rules["drugs"]:
            key = f"DRUG|{row['id']}|{row.get('class') or 'other'}"
            groups.setdefault(key, []).append(row["pattern"])
        for row in rules["drug_classes"]:
            key = f"DRUG_CLASS||{row['id']}"
            groups.setdefault(key, []).append(row["pattern"])
        for row in rules["diagnoses"]:
            if row["kind"] == "term":
                groups.setdefault("DIAGNOSIS||", []).append(row["pattern"])
        class_rules = rules["drug_class_rules"]
        self._class_modifiers = [
            re.compile(r["pattern"]) for r in class_rules if r["kind"] == "modifier"
        ]
        self._class_not_after = [
            re.compile(r["pattern"]) for r in class_rules if r["kind"] == "not_after"
        ]
        self._followed_by: dict[str, list[re.Pattern[str]]] = {}
        self._preceded_by: dict[str, list[re.Pattern[str]]] = {}
        for r in rules["span_filters"]:
            where = self._followed_by if r["kind"] == "followed_by" else self._preceded_by
            where.setdefault(r["label"], []).append(re.compile(r["pattern"]))
        # every lexicon phrase by its words, lower case, for phrases a line break splits
        self._by_words: dict[str, str] = {}
        for key, phrases in groups.items():
            for phrase in phrases:
                self._by_words.setdefault(" ".join(phrase.lower().split()), key)
        # One-word entries are looked up by the hash of the lower-case token (one vectorised
        # step per letter); tokenizing thousands of them into PhraseMatcher patterns would
        # create a lexeme for each and cost a third of load().
        exceptions = self.nlp.Defaults.tokenizer_exceptions
        single: dict[int, str] = {}
        for key, phrases in groups.items():
            label, generic, cls = key.split("|")
            self.lexicon[key] = (label, generic or None, cls or None)
            multi = []
            for phrase in sorted(set(phrases)):
                if _ONE_WORD.match(phrase) and phrase not in exceptions:
                    single.setdefault(vocab.strings.add(phrase), key)
                else:
                    multi.append(phrase)
            if multi:
                self.matcher.add(key, list(self.nlp.tokenizer.pipe(multi)))  # type: ignore[union-attr]
        # misspellings are looked for only near the curated names (not the dictionary's
        # foreign and historical synonyms)
        curated = {r["pattern"] for r in rules["drugs"] if "source" not in r}
        self._fuzzy = _FuzzyIndex(
            {
                vocab.strings[h]: k
                for h, k in single.items()
                if self.lexicon[k][0] == "DRUG" and vocab.strings[h] in curated
            }
        )
        self._single_hashes = numpy.array(sorted(single), dtype="uint64")
        self._single_keys = single
        regex_rows = rules["dosage"] + rules["necessity"]
        self.regex_rules = compile_rules([r for r in regex_rows if r.get("scope") != "near_drug"])
        self.near_drug_rules = compile_rules(
            [r for r in regex_rows if r.get("scope") == "near_drug"]
        )
        self.guidelines = GuidelineFinder(rules["guidelines"])
        self.diagnoses = DiagnosisLists(rules["diagnoses"])

    # -- tagging --------------------------------------------------------------
    def candidates(self, doc: Doc, text: str | None = None) -> list[Span]:
        """All candidate spans before overlaps are resolved (with their attributes set).

        text (str | None): ``doc.text``, if the caller has it (spaCy rebuilds it on each access).
        """
        self.ensure_rules()
        text = doc.text if text is None else text
        out: list[Span] = []
        strings = self.nlp.vocab.strings
        windows: list[list[int]] = []
        found = [(strings[m], s, e) for m, s, e in self.matcher(doc)]
        if len(self._single_hashes):
            lower = doc.to_array("LOWER")
            pos = numpy.searchsorted(self._single_hashes, lower).clip(
                0, len(self._single_hashes) - 1
            )
            for i in numpy.flatnonzero(self._single_hashes[pos] == lower):
                found.append((self._single_keys[int(lower[i])], int(i), int(i) + 1))
        found.extend(self._broken_phrases(doc, text))
        if self._fuzzy.words:
            taken = {i for _, st, en in found for i in range(st, en)}
            for tok in doc:
                if tok.i not in taken and len(tok) >= self._fuzzy.min_len and tok.is_alpha:
                    key = self._fuzzy.get(tok.lower_)
                    if key is not None:
                        found.append((key, tok.i, tok.i + 1))
        found.sort(key=lambda x: x[1])
        for key, start, end in found:
            label, generic, cls = self.lexicon[key]
            span = Span(doc, start, end, label=label)
            if label == "DIAGNOSIS" and self.diagnoses.finding_before(text, span.start_char):
                continue
            span._.generic = generic
            span._.drug_class = cls
            out.append(span)
            if label == "DRUG":
                lo, hi = max(0, span.start_char - NEAR_DRUG_BEFORE), span.end_char + NEAR_DRUG_AFTER
                if windows and lo <= windows[-1][1]:
                    windows[-1][1] = max(windows[-1][1], hi)
                else:
                    windows.append([lo, hi])
        matches = list(iter_matches(text, self.regex_rules))
        for lo, hi in windows:
            matches.extend(iter_matches(text, self.near_drug_rules, lo, hi))
        for start, end, row in matches:
            found_span = _char_span(doc, start, end, row["label"])
            if found_span is not None:
                out.append(found_span)
        # OUTCOME: the decision word of each item of the letter's structure (imr_structure)
        layout = doc._.imr_structure if Doc.has_extension("imr_structure") else None
        for item in (layout or {}).get("items", []):
            if item.get("outcome_span"):
                o_start, o_end = item["outcome_span"]
                outcome = _char_span(doc, o_start, o_end, "OUTCOME")
                if outcome is not None:
                    outcome._.imr_outcome = item["outcome"]
                    out.append(outcome)
        for g in self.guidelines(text, layout["regions"] if layout else None):
            citation = _char_span(doc, g["start"], g["end"], "GUIDELINE")
            if citation is not None:
                citation._.guideline_source = g["source"]
                citation._.guideline_pages = g["pages"]
                out.append(citation)
        for start, end in self.diagnoses(text):
            diagnosis = _char_span(doc, start, end, "DIAGNOSIS")
            if diagnosis is not None:
                out.append(diagnosis)
        return out

    def _broken_phrases(self, doc: Doc, text: str) -> list[tuple[str, int, int]]:
        """Lexicon phrases that a PDF line break splits ("proton pump \ninhibitors",
        "anti-\ndepressants"), as (key, start token, end token); the longest at each break."""
        out = []
        for m in _BREAK.finditer(text):
            a, b = m.start(), m.end()
            if a == 0 or b >= len(text) or not text[a - 1].isalnum() and text[a - 1] != "-":
                continue
            before = _WORDS_BEFORE.search(text, max(0, a - BREAK_LOOKBACK), a)
            after = _WORDS_AFTER.match(text, b)
            if before is None or after is None:
                continue
            left = [(w.start(), w.group()) for w in _NEAR_WORD.finditer(text, before.start(), a)]
            right = [(w.end(), w.group()) for w in _NEAR_WORD.finditer(text, b, after.end())]
            best = None
            for i in range(len(left)):
                for j in range(len(right), 0, -1):
                    words = [w for _, w in left[i:]]
                    tail = [w for _, w in right[:j]]
                    joins = [" ".join(words + tail)]
                    if words[-1].endswith("-"):  # a hyphen at the line end: kept or soft
                        joins = [
                            " ".join(words[:-1] + [words[-1] + tail[0]] + tail[1:]),
                            " ".join(words[:-1] + [words[-1][:-1] + tail[0]] + tail[1:]),
                        ]
                    key = next(
                        (
                            self._by_words[j_.lower()]
                            for j_ in joins
                            if j_.lower() in self._by_words
                        ),
                        None,
                    )
                    if key is not None:
                        best = (key, left[i][0], right[j - 1][0])
                        break
                if best:
                    break
            if best:
                span = doc.char_span(best[1], best[2])
                if span is not None:
                    out.append((best[0], span.start, span.end))
        return out

    def _strip_class_modifiers(self, spans: list[Span]) -> list[Span]:
        """annotation.md: a class span keeps its modifiers outside ("topical analgesics" gives
        ``analgesics``): a class candidate whose first words are modifiers is dropped when a class
        candidate of the rest ends where it ends."""
        classes = [s for s in spans if s.label_ == "DRUG_CLASS"]
        if len(classes) < 2:
            return spans
        drop = set()
        for a in classes:
            for b in classes:
                if (
                    b.end == a.end
                    and b.start > a.start
                    and all(
                        any(r.match(t.lower_) for r in self._class_modifiers) or t.is_space
                        for t in a.doc[a.start : b.start]
                    )
                ):
                    drop.add((a.start, a.end))
        return [s for s in spans if s.label_ != "DRUG_CLASS" or (s.start, s.end) not in drop]

    def keep(self, span: Span, text: str) -> bool:
        """The close-call filters of annotation.md that need only the text around a span."""
        label = span.label_
        after = text[span.end_char : span.end_char + SPAN_FILTER_AFTER]
        if any(r.match(after) for r in self._followed_by.get(label, ())):
            return False
        if label == "DIAGNOSIS" and (
            self.diagnoses.denied_before(text, span.start_char)
            or self.diagnoses.absent_after(text, span.end_char)
        ):
            return False
        before = text[max(0, span.start_char - SPAN_FILTER_BEFORE) : span.start_char]
        if any(r.search(before) for r in self._preceded_by.get(label, ())):
            return False
        return not (
            label == "DRUG_CLASS"
            and any(r.search(before[-CLASS_NOT_AFTER_WINDOW:]) for r in self._class_not_after)
        )

    def __call__(self, doc: Doc) -> Doc:
        if len(doc) == 0:
            return doc
        text = doc.text
        earlier = (
            []
            if self.overwrite_ents
            else [e for e in doc.ents if self.fill_labels is None or e.label_ in self.fill_labels]
        )
        cands = [s for s in self.candidates(doc, text) if self.keep(s, text)]
        chosen = _class_before_class(_resolve(self._strip_class_modifiers(cands)))
        chosen = self._anchor_doses(doc, chosen)
        chosen = relabel_abbreviations(doc, chosen, text)
        if earlier:
            chosen = fill_gaps(doc, chosen, earlier)
        doc.ents = sorted(chosen, key=lambda s: s.start)
        return doc

    def _anchor_doses(self, doc: Doc, spans: list[Span]) -> list[Span]:
        """Keep FREQUENCY/STRENGTH only within dose_window tokens after a DRUG (or a
        STRENGTH just before one) in the same sentence."""
        if not any(s.label_ in ANCHORED or s.label_ == "QUANTITY" for s in spans):
            return spans
        sent_id = sentence_ids(doc)
        drugs = [s for s in spans if s.label_ == "DRUG"]
        kept = []
        for s in spans:
            if s.label_ in ANCHORED or (
                s.label_ == "QUANTITY" and not s.text.startswith("#") and not s.text[:1].isdigit()
            ):
                ok = False
                for d in drugs:
                    if sent_id[d.start] != sent_id[s.start]:
                        continue
                    after = 0 <= s.start - d.end <= self.dose_window
                    before = s.label_ == "STRENGTH" and 0 <= d.start - s.end <= STRENGTH_BEFORE_DRUG
                    if after or before:
                        ok = True
                    if ok:
                        break
                if not ok:
                    continue
            kept.append(s)
        return kept


def _char_span(doc: Doc, start: int, end: int, label: str) -> Span | None:
    span = doc.char_span(start, end, label=label)
    if span is None:
        span = doc.char_span(start, end, label=label, alignment_mode="contract")
    return span if span is not None and len(span) else None


def _resolve(spans: list[Span]) -> list[Span]:
    """Non-overlapping spans: GUIDELINE/OUTCOME/NECESSITY first, then the longest."""
    high = filter_spans([s for s in spans if s.label_ in HIGH])
    taken: set[int] = set()
    for s in high:
        taken.update(range(s.start, s.end))
    rest = [
        s for s in spans if s.label_ not in HIGH and not taken.intersection(range(s.start, s.end))
    ]
    return high + filter_spans(rest)


class _FuzzyIndex:
    """Drug names misspelled by one letter ("diazempam", "Tramdol"): one letter left out, added,
    changed or two swapped, for names of at least ``min_len`` letters (shorter ones collide with
    English words). A spelling within one edit of two different drugs is left alone."""

    min_len = FUZZY_MIN_LEN

    def __init__(self, words: dict[str, str]):
        self.words = {w: k for w, k in words.items() if len(w) >= self.min_len and w.isalpha()}
        deletes: dict[str, str | None] = {}
        for w, k in self.words.items():
            for d in _deletes(w):
                if d in self.words:
                    continue
                deletes[d] = k if deletes.get(d, k) == k else None
        self.deletes = deletes

    def get(self, word: str) -> str | None:
        if word in self.words:
            return None  # the exact name is the lexicon's job
        hits = set()
        if word in self.deletes:
            hits.add(self.deletes[word])
        for d in _deletes(word):
            if d in self.words:
                hits.add(self.words[d])
            elif len(word) > self.min_len and d in self.deletes:
                hits.add(self.deletes[d])
        hits.discard(None)
        return hits.pop() if len(hits) == 1 else None


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _class_before_class(spans: list[Span]) -> list[Span]:
    """A class word right before another class word modifies it ("narcotic analgesics"
    gives ``analgesics``): the first is not a DRUG_CLASS."""
    classes = sorted((s for s in spans if s.label_ == "DRUG_CLASS"), key=lambda s: s.start)
    drop = set()
    for a, b in zip(classes, classes[1:], strict=False):
        gap = a.doc.text[a.end_char : b.start_char] if b.start - a.end <= CLASS_MODIFIER_GAP else ""
        if gap and gap.isspace():
            drop.add(a.start)
    return [s for s in spans if s.label_ != "DRUG_CLASS" or s.start not in drop]


@imr_factory(
    "imr_entities",
    assigns=[
        "doc.ents",
        "span._.imr_generic",
        "span._.imr_drug_class",
        "span._.imr_guideline_source",
        "span._.imr_guideline_pages",
        "span._.imr_outcome",
        "span._.imr_long_form",
    ],
    default_config={"dose_window": 16, "overwrite_ents": True, "fill_labels": None},
    default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None},
)
def make_entities(
    nlp: Language,
    name: str,
    *,
    dose_window: int,
    overwrite_ents: bool,
    fill_labels: list[str] | None,
) -> Entities:
    """Factory of the imr_entities component."""
    return Entities(
        nlp, name, dose_window=dose_window, overwrite_ents=overwrite_ents, fill_labels=fill_labels
    )
