"""One source for the record's columns: their order, the vocabularies, pandas dtypes.

``FIELDS`` is the column order of ``shared/spec/records.md``; every table writer
(CSV, JSONL, Parquet) and ``to_dataframe`` take their columns from here.
"""

from typing import Any, Iterable

FIELDS = (
    "doc_id", "source_path", "case_number", "layout", "request_index", "request_text",
    "original_request", "authorized", "outcome", "drug", "generic", "drug_class",
    "strength", "strength_mg", "quantity", "frequency", "doses_per_day", "category",
    "claims_administrator_guideline", "imr_guideline", "guideline_source", "guideline_document",
    "guideline_sections", "guideline_pages", "rationale", "necessity_negated", "decision_reasons",
    "reviewer_states", "reviewer_specialties", "patient_age", "patient_sex", "date_of_injury",
    "ur_date", "decision_date", "date_assigned", "application_received", "priority",
    "diagnoses", "warnings",
)
# list-valued columns (list<string> in Parquet); date columns (ISO strings in records)
LIST_FIELDS = ("decision_reasons", "reviewer_states", "reviewer_specialties", "diagnoses", "warnings")
DATE_FIELDS = ("date_of_injury", "ur_date", "decision_date", "date_assigned", "application_received")
LAYOUTS = ("numbered_2013", "issues_decisions", "decisions_documents", "unknown")

# The vocabularies of records.md.
DRUG_CLASSES = (
    "opioid", "benzodiazepine", "muscle_relaxant", "nsaid", "anticonvulsant", "antidepressant",
    "sedative_hypnotic", "proton_pump_inhibitor", "topical_analgesic", "antipsychotic",
    "stimulant", "corticosteroid", "antihistamine", "triptan", "other",
)
CATEGORIES = (
    "pharmaceutical", "physical_medicine", "diagnostic_test", "surgery", "injection", "dme",
    "evaluation_management", "psychology", "home_health", "other",
)

# nullable dtypes: a missing quantity stays <NA> instead of turning the column into floats
DTYPES = {"request_index": "Int64", "quantity": "Float64", "patient_age": "Int64",
          "strength_mg": "Float64", "doses_per_day": "Float64", "necessity_negated": "boolean"}



def records_dataframe(records: Iterable[dict[str, Any]]):
    """A pandas DataFrame of records with the columns of records.md, in order."""
    import pandas

    df = pandas.DataFrame([{k: r.get(k) for k in FIELDS} for r in records], columns=list(FIELDS))
    return df.astype(DTYPES)
