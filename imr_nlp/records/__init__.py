"""One record per disputed item (``shared/spec/records.md``).

- ``schema``: the columns, their order, vocabularies and dtypes;
- ``build``: the records of a tagged Doc;
- ``normalize``: milligrams, doses a day, counts from the text as written;
- ``evaluate``: records against gold records, field by field.

The items themselves (headers, regions, modified requests) are found by
``imr_nlp.rules.structure`` from ``patterns/structure.jsonl``.
"""

from ..rules.dates import iso_date
from .build import (
    SentenceBounds,
    build_requests,
    category,
    find_items,
    item_fields,
    letter_fields,
)
from .normalize import count, doses_per_day, strength_mg
from .schema import CATEGORIES, DRUG_CLASSES, DTYPES, FIELDS, records_dataframe

__all__ = [
    "CATEGORIES",
    "DRUG_CLASSES",
    "DTYPES",
    "FIELDS",
    "SentenceBounds",
    "build_requests",
    "category",
    "count",
    "doses_per_day",
    "find_items",
    "item_fields",
    "iso_date",
    "letter_fields",
    "records_dataframe",
    "strength_mg",
]
