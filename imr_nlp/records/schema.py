"""One source for the record's columns: their order, the vocabularies, pandas dtypes.

``FIELDS`` is the column order of ``shared/spec/records.md``; every table writer
(CSV, JSONL, Parquet) and ``to_dataframe`` take their columns from here.
"""

from collections.abc import Iterable
from typing import Any

FIELDS = (
    "doc_id",
    "source_path",
    "case_number",
    "layout",
    "request_index",
    "request_text",
    "original_request",
    "authorized",
    "outcome",
    "drug",
    "generic",
    "drug_class",
    "strength",
    "strength_mg",
    "quantity",
    "frequency",
    "doses_per_day",
    "category",
    "claims_administrator_guideline",
    "imr_guideline",
    "guideline_source",
    "guideline_document",
    "guideline_sections",
    "guideline_pages",
    "rationale",
    "necessity_negated",
    "decision_reasons",
    "reviewer_states",
    "reviewer_specialties",
    "patient_age",
    "patient_sex",
    "date_of_injury",
    "ur_date",
    "decision_date",
    "date_assigned",
    "application_received",
    "priority",
    "diagnoses",
    "warnings",
)
# list-valued columns (list<string> in Parquet); date columns (ISO strings in records)
LIST_FIELDS = (
    "decision_reasons",
    "reviewer_states",
    "reviewer_specialties",
    "diagnoses",
    "warnings",
)
DATE_FIELDS = (
    "date_of_injury",
    "ur_date",
    "decision_date",
    "date_assigned",
    "application_received",
)
LAYOUTS = ("numbered_2013", "issues_decisions", "decisions_documents", "unknown")

# The vocabularies of records.md.
DRUG_CLASSES = (
    "opioid",
    "benzodiazepine",
    "muscle_relaxant",
    "nsaid",
    "anticonvulsant",
    "antidepressant",
    "sedative_hypnotic",
    "proton_pump_inhibitor",
    "topical_analgesic",
    "antipsychotic",
    "stimulant",
    "corticosteroid",
    "antihistamine",
    "triptan",
    "other",
)
CATEGORIES = (
    "pharmaceutical",
    "physical_medicine",
    "diagnostic_test",
    "surgery",
    "injection",
    "dme",
    "evaluation_management",
    "psychology",
    "home_health",
    "other",
)

# nullable dtypes: a missing age stays <NA> instead of turning the column into floats.
# quantity is a float: records.md keeps a non-whole amount ("106.32gm" -> 106.32).
DTYPES = {
    "request_index": "Int64",
    "quantity": "Float64",
    "patient_age": "Int64",
    "strength_mg": "Float64",
    "doses_per_day": "Float64",
    "necessity_negated": "boolean",
}
# Columns that are never null in a table: a record is known by (doc_id, request_index).
KEY_FIELDS = ("doc_id", "request_index")
# The columns of the errors table written beside a records dataset.
ERROR_FIELDS = ("source_path", "doc_id", "level", "reason", "message")


def arrow_type(name: str):
    """The pyarrow type of one column of ``FIELDS``, derived from the lists above:
    list fields ``list<string>``, dates ``date32``, DTYPES' Int64 ``int64``, Float64
    ``float64``, boolean ``bool``, anything else ``string``."""
    import pyarrow as pa

    if name in LIST_FIELDS:
        return pa.list_(pa.string())
    if name in DATE_FIELDS:
        return pa.date32()
    return {"Int64": pa.int64(), "Float64": pa.float64(), "boolean": pa.bool_()}.get(
        DTYPES.get(name, ""), pa.string()
    )


def arrow_schema(metadata: dict[str, str] | None = None):
    """The ONE pyarrow schema of a records table (Parquet file or dataset).

    Every column of ``FIELDS`` in order, typed whatever the data (a run where no
    record has a warning still has ``warnings: list<string>``), so that the
    partitions of any runs read as one ``pyarrow.dataset``. ``KEY_FIELDS`` are
    declared not null.

    metadata (dict | None): key-value provenance stored in the schema.
    RETURNS (pyarrow.Schema): the schema.
    """
    import pyarrow as pa

    fields = [pa.field(n, arrow_type(n), nullable=n not in KEY_FIELDS) for n in FIELDS]
    return pa.schema(fields, metadata=metadata)


def errors_arrow_schema(metadata: dict[str, str] | None = None):
    """The pyarrow schema of the errors table: ``ERROR_FIELDS``, all strings;
    ``level`` is "error" (the letter gave no records) or "warning"."""
    import pyarrow as pa

    return pa.schema(
        [pa.field(n, pa.string(), nullable=n in ("doc_id", "source_path")) for n in ERROR_FIELDS],
        metadata=metadata,
    )


def records_arrow_table(records: Iterable[dict[str, Any]], schema=None):
    """Records (dicts of JSON types, dates as ISO strings) as a pyarrow Table of ``arrow_schema``.

    RAISES (pyarrow.ArrowInvalid): a record without doc_id or request_index.
    """
    import datetime

    import pyarrow as pa

    schema = schema if schema is not None else arrow_schema()
    rows = list(records)
    columns = {}
    for name in FIELDS:
        values = [r.get(name) for r in rows]
        if name in DATE_FIELDS:
            values = [datetime.date.fromisoformat(v) if isinstance(v, str) else v for v in values]
        elif name in LIST_FIELDS:
            values = [list(v) if v is not None else [] for v in values]
        columns[name] = values
    return pa.Table.from_pydict(columns, schema=schema)


def records_from_arrow(table) -> list[dict[str, Any]]:
    """Rows of an ``arrow_schema`` table as records (dates back to ISO strings)."""
    rows = table.to_pylist()
    for r in rows:
        for name in DATE_FIELDS:
            if r.get(name) is not None and not isinstance(r[name], str):
                r[name] = r[name].isoformat()
    return rows


def records_dataframe(records: Iterable[dict[str, Any]]):
    """A pandas DataFrame of records with the columns of records.md, in order."""
    import pandas

    df = pandas.DataFrame([{k: r.get(k) for k in FIELDS} for r in records], columns=list(FIELDS))
    return df.astype(DTYPES)
