"""imr_structure: the letter's layout as plain data on ``doc._.imr_structure``.

The first component of the pipeline. It holds the one ``Structure`` (the rows of
``patterns/structure.jsonl``), saves it with ``nlp.to_disk`` and reads it back
with ``spacy.load``, so that a rule changed in a saved pipeline reaches every
component that reads structure: sentences, sections, entities and records.

``doc._.imr_structure`` is a dict of plain data (it crosses processes and DocBin):
``layout``, ``header`` (the header block's fields), ``items`` (``Item.as_dict()``
of each disputed item) and ``regions`` (guideline lines and rationales).
"""

from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from ..extensions import register
from ..factories import imr_factory
from ..patterns import load_patterns
from ..rules.structure import Structure, shipped
from ._rules import RuleFiles


class LetterStructure(RuleFiles):
    """Find the letter's items, header block and labelled regions."""

    rule_files = ("structure",)

    def __init__(self, nlp: Language, name: str = "imr_structure"):
        register()
        self.name = name
        # read at once: the components that read structure take it from here when built
        self.set_rules(load_patterns("structure"))

    def set_rules(self, rules: list[dict[str, Any]]) -> None:
        """Compile the rows of a structure file (``patterns/structure.jsonl``)."""
        self.rules = rules
        self.structure = Structure(rules)

    def __call__(self, doc: Doc) -> Doc:
        doc._.imr_structure = analyse(self.structure, doc.text)
        return doc


def analyse(structure: Structure, text: str) -> dict[str, Any]:
    """The layout of one letter as plain data (see the module docstring)."""
    items = structure.items(text)
    return {
        "layout": structure.layout(text, items),
        "header": structure.header(text),
        "items": [i.as_dict() for i in items],
        "regions": structure.regions(text),
    }


def structure_of(nlp: Language | None) -> Structure:
    """The pipeline's Structure (its imr_structure component), or the shipped one."""
    if nlp is not None and "imr_structure" in nlp.component_names:
        component: Any = nlp.get_pipe("imr_structure")
        return component.structure
    return shipped()


@imr_factory("imr_structure", assigns=["doc._.imr_structure"], default_config={})
def make_structure(nlp: Language, name: str) -> LetterStructure:
    """Factory of the imr_structure component."""
    return LetterStructure(nlp, name)
