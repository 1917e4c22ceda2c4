"""Where the labelled parts of an item are: guideline lines and rationales.

A thin view of the letter's structure (``imr_nlp.rules.structure``, from
``patterns/structure.jsonl``), kept for taggers that work on characters.
Components of a pipeline read the regions from ``doc._.imr_structure`` instead.
"""

from .rules.structure import REGION_CAP, shipped

ITEM_LABELS = ("claims_administrator_guideline", "imr_guideline", "decision_rationale")


def label_regions(text: str) -> list[tuple[str, int, int]]:
    """``(category, body_start, body_end)`` of each guideline line and rationale, in text order
    (a region with no next label runs at most ``REGION_CAP`` characters)."""
    return shipped().regions(text)


__all__ = ["ITEM_LABELS", "REGION_CAP", "label_regions"]
