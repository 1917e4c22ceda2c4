"""Build imr_nlp's drug lexicon: ``patterns/drugs.jsonl`` and ``patterns/drug_classes.jsonl``.

Run from the repo root::

    python scripts/build_drug_lexicon.py

Sources
-------
* ``patterns/curated/drugs_curated.jsonl`` (hand-curated, the one to edit): which
  generics are in scope, their class, brands, misspellings, OCR/PDF splits and
  combination-product spellings. Curated forms always win.
* The ``drug_named_entity_recognition`` package (MIT, a dev dependency): its
  ``drug_ner_dictionary.pkl.bz2`` adds brand names for the curated generics, after
  hard filtering for precision (see ``dictionary_brands``). Its version and the
  file's SHA-256 are written into the header of ``drugs.jsonl``.
* ``CLASS_WORDS`` below (hand-written, in this script): the class words of
  ``drug_classes.jsonl`` ("benzodiazepines", "muscle relaxants", "NSAIDs", ...).

Both JSONL files are generated and committed; never edit them by hand (a test
rebuilds them and compares). The pipeline reads only the JSONL files, so this
script and the dictionary package are not needed at run time.

Output rows: ``{"label": "DRUG", "pattern": ..., "id": <generic>, "class": ...}``
plus ``"variant"`` ("misspelling", "ocr_split" or "combination") for non-canonical
spellings and ``"source": "dictionary"`` for brands taken from the dictionary.
Patterns are lower case text, for a PhraseMatcher on LOWER. Rows are sorted by
pattern, so the output is deterministic.
"""

from __future__ import annotations

import argparse
import bz2
import hashlib
import importlib.metadata
import importlib.util
import pickle
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from spacy.lang.en.stop_words import STOP_WORDS  # noqa: E402

from imr_nlp.patterns import read_jsonl, write_jsonl  # noqa: E402
from imr_nlp.records import DRUG_CLASSES  # noqa: E402

CURATED = REPO / "patterns" / "curated" / "drugs_curated.jsonl"
DICTIONARY_PACKAGE = "drug_named_entity_recognition"
DICTIONARY_FILE = "drug_ner_dictionary.pkl.bz2"

CLASSES = DRUG_CLASSES  # records.md

# Class words as they appear in free text. Release/form words are never part of them.
CLASS_WORDS: dict[str, list[str]] = {
    "opioid": [
        "opioid",
        "opioids",
        "opiate",
        "opiates",
        "narcotic",
        "narcotics",
        "long-acting opioid",
        "long-acting opioids",
        "long acting opioid",
        "long acting opioids",
        "short-acting opioid",
        "short-acting opioids",
        "short acting opioid",
        "short acting opioids",
    ],
    "benzodiazepine": ["benzodiazepine", "benzodiazepines"],
    "muscle_relaxant": [
        "muscle relaxant",
        "muscle relaxants",
        "muscle relaxer",
        "muscle relaxers",
        "skeletal muscle relaxant",
        "skeletal muscle relaxants",
        "antispasmodic",
        "antispasmodics",
    ],
    "nsaid": [
        "nsaid",
        "nsaids",
        "nonsteroidal anti-inflammatory",
        "non-steroidal anti-inflammatory",
        "nonsteroidal anti-inflammatory drug",
        "nonsteroidal anti-inflammatory drugs",
        "non-steroidal anti-inflammatory drug",
        "non-steroidal anti-inflammatory drugs",
        "non steroidal anti-inflammatory drug",
        "non steroidal anti-inflammatory drugs",
        "nonsteroidal antiinflammatory drug",
        "nonsteroidal antiinflammatory drugs",
        "nonsteroidal anti-inflammatory medication",
        "nonsteroidal anti-inflammatory medications",
        "non-steroidal anti-inflammatory medication",
        "non-steroidal anti-inflammatory medications",
        "cox-2 inhibitor",
        "cox-2 inhibitors",
        "cox 2 inhibitor",
        "cox 2 inhibitors",
        "anti-inflammatory",
        "anti-inflammatories",
        "antiinflammatory",
        "antiinflammatories",
        "anti-inflammatory drug",
        "anti-inflammatory drugs",
        "anti-inflammatory medication",
        "anti-inflammatory medications",
    ],
    "anticonvulsant": [
        "anticonvulsant",
        "anticonvulsants",
        "anti-convulsant",
        "anti-convulsants",
        "antiepileptic",
        "antiepileptics",
        "antiepileptic drug",
        "antiepileptic drugs",
        "anti-epileptic drug",
        "anti-epileptic drugs",
        "antiepilepsy drug",
        "antiepilepsy drugs",
        "anti-epilepsy drug",
        "anti-epilepsy drugs",
        "aeds",
    ],
    "antidepressant": [
        "antidepressant",
        "antidepressants",
        "anti-depressant",
        "anti-depressants",
        "tricyclic",
        "tricyclics",
        "tricyclic antidepressant",
        "tricyclic antidepressants",
        "tca",
        "tcas",
        "ssri",
        "ssris",
        "snri",
        "snris",
        "selective serotonin reuptake inhibitor",
        "selective serotonin reuptake inhibitors",
        "serotonin norepinephrine reuptake inhibitor",
        "serotonin norepinephrine reuptake inhibitors",
        "serotonin-norepinephrine reuptake inhibitor",
        "serotonin-norepinephrine reuptake inhibitors",
        "maoi",
        "maois",
        "monoamine oxidase inhibitor",
        "monoamine oxidase inhibitors",
    ],
    "sedative_hypnotic": [
        "sedative hypnotic",
        "sedative hypnotics",
        "sedative-hypnotic",
        "sedative-hypnotics",
        "hypnotic",
        "hypnotics",
        "sedative",
        "sedatives",
        "sleep aid",
        "sleep aids",
    ],
    "proton_pump_inhibitor": [
        "proton pump inhibitor",
        "proton pump inhibitors",
        "proton-pump inhibitor",
        "proton-pump inhibitors",
        "ppi",
        "ppis",
    ],
    "topical_analgesic": [
        "topical analgesic",
        "topical analgesics",
        "compounded cream",
        "compounded creams",
        "compound cream",
        "compound creams",
        "topical compound",
        "topical compounds",
        "topical nsaid",
        "topical nsaids",
        "analgesic",
        "analgesics",
    ],
    "antipsychotic": [
        "antipsychotic",
        "antipsychotics",
        "anti-psychotic",
        "anti-psychotics",
        "atypical antipsychotic",
        "atypical antipsychotics",
        "neuroleptic",
        "neuroleptics",
    ],
    "stimulant": [
        "stimulant",
        "stimulants",
        "psychostimulant",
        "psychostimulants",
        "cns stimulant",
        "cns stimulants",
    ],
    "corticosteroid": [
        "corticosteroid",
        "corticosteroids",
        "steroid",
        "steroids",
        "oral steroid",
        "oral steroids",
        "glucocorticoid",
        "glucocorticoids",
    ],
    "antihistamine": ["antihistamine", "antihistamines", "anti-histamine", "anti-histamines"],
    "triptan": ["triptan", "triptans"],
    "other": [
        "laxative",
        "laxatives",
        "stool softener",
        "stool softeners",
        "anticoagulant",
        "anticoagulants",
        "anti-coagulant",
        "anti-coagulants",
        "antiemetic",
        "antiemetics",
        "anti-emetic",
        "anti-emetics",
        "antibiotic",
        "antibiotics",
        "antihypertensive",
        "antihypertensives",
    ],
}

# --- filters for dictionary synonyms (never applied to curated entries) -------------


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Ordinary English and common medical words that the dictionary lists as drug names.
STOPLIST: frozenset[str] = _wordset(
    """
    relief pain plan tab tabs care heat ice sleep calm rest bio flex relax relaxer cold hot
    cool night day nite morning active acid aid aids advance advanced complete effect effects
    extra strength strong forte plus max maximum ultra super rapid fast quick gentle soft
    natural pure simple basic comfort ease easy free help therapy therapeutic medic medical
    pharma pharm health healthy care well wellness life vital energy power balance control
    rescue guard shield safe secure fix cure heal healing repair restore sure prime first
    best good great gold silver star sun sky blue red green white black clear neo nova novo
    apo gen generic standard original classic regular junior adult child children kids baby
    infant pediatric women men formula solution system kit pack dose unit tablet tablets
    capsule capsules caplet caplets cream gel lotion ointment patch spray drops drop liquid
    syrup elixir suspension solution injection inj powder film foam wash rub roll balm salve
    oral topical nasal ophthalmic otic rectal vaginal sublingual buccal transdermal
    release extended delayed sustained controlled immediate long short acting action
    migraine headache arthritis muscle joint back nerve sinus allergy cough flu fever
    stomach tummy bowel sleepaid tranquil serene peace peaceful dream dreams slumber
    doze snooze rest restful nap relaxing sedation sedative stress anxiety mood
    motion travel calmer calming soothe soothing numb zone target trial study test
    regimen dolor dolo analgesic anesthetic antacid laxative stool softener fiber
    diet slim thin lean trim weight loss gain boost focus alert awake wake
    nerve neuro spine spinal bone bones skin hair eye eyes ear ears nose throat
    mouth tooth teeth gum gums heart lung lungs liver kidney blood sugar salt
    water oil butter honey lemon lime orange cherry grape mint berry vanilla
    alpha beta gamma delta omega sigma theta kappa lambda
    mark marks norm norma norman dale rose lily iris ruby pearl amber jade
    vera flora luna stella nina tina lisa anna maria mario carlo bella
    magnum titan atlas apollo zeus hermes orion nexus vortex matrix vector
    tempo rhythm pulse wave flow stream spring summer winter autumn
    generic generics available generically vitamin vitamins special mild recombinant human
    pan
    """
)

# Dictionary names one typo (edit) away from an English word ("tiral"/trial,
# "proxen"/proven, "warfant"/warrant): found once with Debian's wamerican word list
# (2020.12.07) and frozen here, so the build needs no word list.
NEAR_ENGLISH: frozenset[str] = _wordset(
    """
    actron acular alertec allegron alprox amadol anaesthesin anesthesin aponal aremis
    ascriptin attentin atysmal buffex calypsol cardil champix circadin clarityn clofen
    clopra covera curatil curban cutivate damilen dolorex elenium endone faustan fluxid
    fortral froben gladem hamarin healon insuman iscover kwells mabura madrine mareen
    nalgesic nalone norset obsidan osmosin panasol pandel peritol ponmel prefin promet
    provas proxen querto reactine remsed revlex sortis sostril sumamed tentin trexan
    tritec urosin vasten veltane voltric warfant winpred zantic
    """
)

SALT_WORDS: frozenset[str] = _wordset(
    """
    hydrochloride hcl sodium potassium calcium magnesium zinc aluminum sulfate sulphate
    maleate citrate tartrate bitartrate besylate mesylate succinate fumarate acetate
    phosphate bromide chloride hydrobromide salt hydrate monohydrate anhydrous base
    tromethamine epolamine dipropionate propionate valerate furoate palmitate decanoate
    enanthate cypionate undecanoate pamoate lactate oxalate napsylate polistirex
    resinate sulfonate dimesylate
    """
)

FORM_WORDS = _wordset(
    """
    er cr xr xl sr la dr ir ods odt es ds hp cd xt sa ec mr ret retard depot
    patch patches cream gel lotion ointment spray tablet tablets tab tabs capsule capsules
    injection solution suspension syrup elixir drops powder film liquid oral topical
    """
)

# Dictionary synonyms must be one plain word of at least this many letters: the
# dictionary's multi-word and hyphenated names are almost all foreign makers' labels
# ("tramadol-ratiopharm", "dulco-lax perles"), and its short names collide with typos.
MIN_DICTIONARY_CHARS = 6

_SYNONYM_SHAPE = re.compile(r"[a-z]+")


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


# --- curated source ----------------------------------------------------------------


def load_curated(path: Path = CURATED) -> list[dict[str, Any]]:
    """Read and check the curated source.

    RETURNS (list[dict]): its entries, in file order.
    """
    entries = read_jsonl(path, required=("generic", "class"))
    seen: set[tuple[str, str]] = set()
    for e in entries:
        generic, cls = e["generic"], e["class"]
        if cls not in CLASSES:
            raise ValueError(f"{generic}: unknown class {cls!r}")
        if generic != _norm(generic):
            raise ValueError(f"{generic!r}: generic must be lower case and stripped")
        if (generic, cls) in seen:
            raise ValueError(f"{generic}: listed twice with class {cls}")
        seen.add((generic, cls))
        for key in ("brands", "misspellings", "ocr_splits", "combination_names", "exclude"):
            for form in e.get(key, []):
                if form != _norm(form):
                    raise ValueError(f"{generic}: {key} {form!r} must be lower case and stripped")
    return entries


# --- dictionary --------------------------------------------------------------------


def load_dictionary() -> dict[str, Any]:
    """Load drug_named_entity_recognition's dictionary without importing the package.

    RETURNS (dict): ``variant_to_canonical``, ``canonical_to_variants``,
        ``canonicals``, ``version`` and ``sha256``.
    """
    spec = importlib.util.find_spec(DICTIONARY_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"{DICTIONARY_PACKAGE} is not installed (a dev dependency): pip install -e '.[dev]'"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / DICTIONARY_FILE
    raw = path.read_bytes()
    data = pickle.loads(bz2.decompress(raw))
    v2c: dict[str, list[str]] = data["drug_variant_to_canonical"]
    c2v: dict[str, list[str]] = defaultdict(list)
    for variant in sorted(v2c):
        for canonical in v2c[variant]:
            c2v[canonical].append(variant)
    return {
        "variant_to_canonical": v2c,
        "canonical_to_variants": dict(c2v),
        "canonicals": frozenset(data["drug_canonical_to_data"]),
        "version": importlib.metadata.version(DICTIONARY_PACKAGE),
        "sha256": hashlib.sha256(raw).hexdigest(),
    }


def dictionary_brands(
    generic: str, canonical: str, dictionary: dict[str, Any], blocked: set[str]
) -> tuple[list[str], Counter]:
    """The dictionary's synonyms of one canonical drug that are safe to add.

    generic (str): the curated generic (the id the synonyms will get).
    canonical (str): the dictionary's canonical name for it.
    dictionary (dict): from ``load_dictionary``.
    blocked (set[str]): curated patterns; a synonym equal to one is skipped (curated wins).
    RETURNS (tuple): the kept synonyms (sorted) and a Counter of drop reasons.
    """
    v2c = dictionary["variant_to_canonical"]
    kept: list[str] = []
    dropped: Counter = Counter()
    for raw in dictionary["canonical_to_variants"].get(canonical, []):
        s = _norm(raw)
        if s in (generic, canonical) or s in blocked:
            continue
        if len(v2c.get(raw, [])) != 1:
            dropped["ambiguous in dictionary"] += 1
        elif not _SYNONYM_SHAPE.fullmatch(s):
            dropped["not one plain word"] += 1
        elif len(s) < MIN_DICTIONARY_CHARS:
            dropped["too short"] += 1
        elif s in STOP_WORDS or s in STOPLIST or s in FORM_WORDS:
            dropped["english or medical word"] += 1
        elif s in NEAR_ENGLISH:
            dropped["one typo from english"] += 1
        elif any(salt in s for salt in SALT_WORDS):
            dropped["salt form"] += 1
        elif " " not in generic and generic in s and len(s) - len(generic) > 2:
            dropped["generic plus maker name"] += 1
        else:
            kept.append(s)
    return sorted(kept), dropped


# --- build -------------------------------------------------------------------------


def _row(pattern: str, generic: str, cls: str, variant: str | None, source: str | None):
    row: dict[str, Any] = {"label": "DRUG", "pattern": pattern, "id": generic, "class": cls}
    if variant:
        row["variant"] = variant
    if source:
        row["source"] = source
    return row


def drug_rows(
    entries: list[dict[str, Any]], dictionary: dict[str, Any] | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Turn the curated entries (plus dictionary brands) into DRUG rows.

    RETURNS (tuple): rows sorted by pattern, and build statistics.
    """
    rows: dict[str, dict[str, Any]] = {}

    def add(pattern: str, generic: str, cls: str, variant: str | None = None) -> None:
        if pattern in STOP_WORDS:
            raise ValueError(f"{generic}: pattern {pattern!r} is an English stop word")
        old = rows.get(pattern)
        if old is not None:
            raise ValueError(
                f"pattern {pattern!r} listed twice: {old['id']} ({old['class']}) "
                f"and {generic} ({cls})"
            )
        rows[pattern] = _row(pattern, generic, cls, variant, None)

    for e in entries:
        generic, cls = e["generic"], e["class"]
        # A generic listed under two classes is a pattern only under its first.
        if "/" not in generic and generic not in e.get("exclude", []) and generic not in rows:
            add(generic, generic, cls)
        # Spelled-out combinations ("hydrocodone/apap") are not patterns: annotation.md
        # tags each ingredient of a compound as its own DRUG, and the record joins them.
        for key, variant in (
            ("brands", None),
            ("misspellings", "misspelling"),
            ("ocr_splits", "ocr_split"),
        ):
            for form in e.get(key, []):
                add(form, generic, cls, variant)

    stats: dict[str, Any] = {"dictionary": None, "dictionary_dropped": Counter()}
    if dictionary is not None:
        stats["dictionary"] = {k: dictionary[k] for k in ("version", "sha256")}
        blocked = set(rows)
        excluded = {f for e in entries for f in e.get("exclude", [])}
        claims: dict[str, set[tuple[str, str]]] = defaultdict(set)
        done: set[str] = set()
        for e in entries:
            generic = e["generic"]
            if generic in done or e.get("dictionary") is False:
                continue
            done.add(generic)
            canonical = e.get("dictionary_name", generic)
            if "/" in generic and "dictionary_name" not in e:
                continue
            if canonical not in dictionary["canonicals"]:
                continue
            kept, dropped = dictionary_brands(generic, canonical, dictionary, blocked)
            stats["dictionary_dropped"].update(dropped)
            for s in kept:
                if s not in excluded:
                    claims[s].add((generic, e["class"]))
        for s in sorted(claims):
            if len(claims[s]) > 1:
                stats["dictionary_dropped"]["claimed by two generics"] += 1
                continue
            ((generic, cls),) = claims[s]
            rows[s] = _row(s, generic, cls, None, "dictionary")
    ordered = [rows[p] for p in sorted(rows)]
    return ordered, stats


def class_rows() -> list[dict[str, Any]]:
    """RETURNS (list[dict]): DRUG_CLASS rows from ``CLASS_WORDS``, sorted by pattern."""
    rows: dict[str, dict[str, Any]] = {}
    for cls, words in CLASS_WORDS.items():
        if cls not in CLASSES:
            raise ValueError(f"unknown class {cls!r}")
        for w in words:
            w = _norm(w)
            if w in rows:
                raise ValueError(f"class word {w!r} listed twice")
            rows[w] = {"label": "DRUG_CLASS", "pattern": w, "id": cls}
    return [rows[p] for p in sorted(rows)]


def _write_jsonl(path: Path, header: list[str], rows: list[dict[str, Any]]) -> None:
    write_jsonl(path, rows, header=header)


def build(out_dir: str | Path, *, curated: str | Path = CURATED, use_dictionary: bool = True):
    """Write ``drugs.jsonl`` and ``drug_classes.jsonl`` into ``out_dir``.

    out_dir (str | Path): the folder to write into (``patterns/`` for the committed files).
    curated (str | Path): the curated source.
    use_dictionary (bool): add brand names from drug_named_entity_recognition.
    RETURNS (dict): a summary: rows, distinct generics, per-class generics, dictionary
        version and drop counts.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = load_curated(Path(curated))
    dictionary = load_dictionary() if use_dictionary else None
    rows, stats = drug_rows(entries, dictionary)
    if dictionary is not None:
        source = (
            f"source: patterns/curated/drugs_curated.jsonl + {DICTIONARY_PACKAGE} "
            f"{dictionary['version']} ({DICTIONARY_FILE} sha256 {dictionary['sha256'][:16]})"
        )
    else:
        source = "source: patterns/curated/drugs_curated.jsonl (no dictionary)"
    _write_jsonl(
        out_dir / "drugs.jsonl",
        [
            "GENERATED by scripts/build_drug_lexicon.py - do not edit; edit the curated source.",
            source,
            "pattern: lower-case surface form (PhraseMatcher on LOWER); id: generic, "
            "combinations joined by '/';",
            "variant: misspelling | ocr_split | combination; source: dictionary for "
            "filtered dictionary brands.",
        ],
        rows,
    )
    crows = class_rows()
    _write_jsonl(
        out_dir / "drug_classes.jsonl",
        [
            "GENERATED by scripts/build_drug_lexicon.py (CLASS_WORDS) - do not edit by hand.",
            "Drug class words as written in letters; id is the class of patterns/drugs.jsonl.",
        ],
        crows,
    )
    per_class: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        per_class[r["class"]].add(r["id"])
    return {
        "drug_rows": len(rows),
        "class_rows": len(crows),
        "distinct_generics": len({r["id"] for r in rows}),
        "generics_per_class": {c: len(per_class[c]) for c in CLASSES},
        "rows_per_kind": dict(
            sorted(Counter(r.get("variant", r.get("source", "curated")) for r in rows).items())
        ),
        "dictionary": stats["dictionary"],
        "dictionary_dropped": dict(sorted(stats["dictionary_dropped"].items())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", default=str(REPO / "patterns"))
    parser.add_argument("--no-dictionary", action="store_true")
    args = parser.parse_args(argv)
    summary = build(args.out_dir, use_dictionary=not args.no_dictionary)
    d = summary["dictionary"]
    print(f"wrote {args.out_dir}/drugs.jsonl and drug_classes.jsonl")
    if d:
        print(f"dictionary: {DICTIONARY_PACKAGE} {d['version']} sha256 {d['sha256']}")
    print(f"DRUG rows: {summary['drug_rows']}  DRUG_CLASS rows: {summary['class_rows']}")
    print(f"distinct generics: {summary['distinct_generics']}")
    print("rows per kind: " + ", ".join(f"{k}={v}" for k, v in summary["rows_per_kind"].items()))
    print("generics per class:")
    for cls, n in summary["generics_per_class"].items():
        print(f"  {cls:<22} {n}")
    if summary["dictionary_dropped"]:
        print("dictionary synonyms dropped:")
        for reason, n in summary["dictionary_dropped"].items():
            print(f"  {reason:<28} {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
