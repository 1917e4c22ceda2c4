"""imr_sections: medspaCy's Sectionizer with the section titles of IMR letters.

Titles of every layout live in ``patterns/sections.jsonl``; they are matched
case-sensitively and only at the start of a line. The rules are saved with
the pipeline (``to_disk``) because medspaCy keeps rules added at run time
only in memory.
"""

import json
import warnings
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import ensure_path

from ._medspacy import import_medspacy
from .patterns import load_patterns, read_jsonl


class Sections:
    """A thin wrapper around medspaCy's Sectionizer that owns its rules."""

    def __init__(self, nlp: Language, name: str = "imr_sections"):
        self.nlp = nlp
        self.name = name
        self.set_rules(load_patterns("sections"))

    def set_rules(self, rules: list[dict[str, Any]]) -> None:
        """(Re)build the Sectionizer from rows of ``patterns/sections.jsonl``."""
        _, _, Sectionizer, SectionRule = import_medspacy()
        self.rules = rules
        self.sectionizer = Sectionizer(
            self.nlp,
            name=self.name,
            rules=None,
            phrase_matcher_attr="ORTH",
            require_start_line=True,
            span_attrs=None,
            input_span_type=None,
        )
        self.sectionizer.add(
            [SectionRule(r["literal"], r["category"], parents=r.get("parents")) for r in rules]
        )

    def __call__(self, doc: Doc) -> Doc:
        with warnings.catch_warnings():
            # medspaCy runs an empty sub-matcher on every doc, and spaCy warns (W036) each time
            warnings.filterwarnings("ignore", message=r"\[W036\]")
            return self.sectionizer(doc)

    def to_disk(self, path: str | Path, *, exclude: tuple = ()) -> None:
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        with (path / "sections.jsonl").open("w", encoding="utf8") as f:
            for row in self.rules:
                f.write(json.dumps(row) + "\n")

    def from_disk(self, path: str | Path, *, exclude: tuple = ()) -> "Sections":
        self.set_rules(read_jsonl(ensure_path(path) / "sections.jsonl", required=("category", "literal")))
        return self


@Language.factory("imr_sections", assigns=["doc._.sections", "token._.section"], default_config={})
def make_sections(nlp: Language, name: str) -> Sections:
    """Factory of the imr_sections component."""
    return Sections(nlp, name)
