"""One record per disputed item (``shared/spec/records.md``).

- ``schema``: the columns, their order, vocabularies and dtypes;
- ``build``: records of a tagged Doc.
"""

from .build import (
    SentenceBounds, build_requests, category, doses_per_day, find_items, item_fields, iso_date,
    letter_fields, strength_mg,
)
from .schema import CATEGORIES, DRUG_CLASSES, DTYPES, FIELDS, records_dataframe

__all__ = [
    "CATEGORIES", "DRUG_CLASSES", "DTYPES", "FIELDS", "SentenceBounds", "build_requests",
    "category", "doses_per_day", "find_items", "item_fields", "iso_date", "letter_fields",
    "records_dataframe", "strength_mg",
]
