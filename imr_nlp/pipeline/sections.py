"""imr_sections: medspaCy's Sectionizer with the section titles of IMR letters.

Titles of every layout live in ``patterns/sections.jsonl``; they are matched
case-sensitively and only at the start of a line. The rules are saved with
the pipeline (``to_disk``) because medspaCy keeps rules added at run time
only in memory.

medspaCy's own ``__call__`` keeps a Section object on every token, which neither
msgpack (``nlp.pipe(n_process=2)``, DocBin) nor speed can afford; and its
attributes (``doc._.sections``, ``token._.section``, ``span._.section_category``)
belong to medspaCy, so imr_nlp leaves them alone (a medspaCy pipeline in the same
process keeps working). The sections are stored as plain lists in
``doc._.imr_sections`` (``[category, title_start, title_end, body_end]`` in tokens),
read through ``token._.imr_section`` / ``token._.imr_section_category`` /
``span._.imr_section_category``, and given as spans in ``doc.spans["imr_sections"]``
(one span per titled section, title and body, labelled by its category).
"""

from pathlib import Path
from typing import Any, NamedTuple

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import ensure_path

from .._medspacy import import_medspacy, rule_matcher, run_matcher
from ..extensions import register
from ..factories import imr_factory
from ..patterns import read_jsonl
from ._rules import RuleFiles
from .structure import structure_of

SPANS_KEY = "imr_sections"  # doc.spans[SPANS_KEY]: the titled sections, labelled by category


class SectionView(NamedTuple):
    """A section with the fields of medspaCy's Section, built from plain data."""

    category: str | None
    title_start: int
    title_end: int
    body_start: int
    body_end: int
    parent: None = None
    rule: None = None

    @property
    def title_span(self) -> tuple[int, int]:
        return self.title_start, self.title_end

    @property
    def body_span(self) -> tuple[int, int]:
        return self.body_start, self.body_end

    @property
    def section_span(self) -> tuple[int, int]:
        return self.title_start, self.body_end


class Sections(RuleFiles):
    """A thin wrapper around medspaCy's Sectionizer that owns its rules."""

    rule_files = ("sections",)

    def __init__(self, nlp: Language, name: str = "imr_sections"):
        self.nlp = nlp
        self.name = name
        register()

    def read_rules(self, rules_path: str | Path | None = None) -> dict[str, list[dict[str, Any]]]:
        """The section titles (``category``, ``literal``): from ``rules_path``, a JSONL file
        of title rows (a structure file's ``section`` rows count), given as
        ``[initialize.components.imr_sections] rules_path`` in a config; None for the
        titles of the pipeline's structure (its ``imr_structure`` component)."""
        if rules_path is None:
            return {"sections": structure_of(self.nlp).sections}
        rows = read_jsonl(rules_path)
        return {
            "sections": [
                {"category": r["category"], "literal": r["literal"]}
                for r in rows
                if r.get("kind", "section") == "section" and "literal" in r
            ]
        }

    def set_rules(self, rules: list[dict[str, Any]]) -> None:
        """(Re)build the Sectionizer from section titles (``category``, ``literal``): the
        "section" rows of the pipeline's structure (``patterns/structure.jsonl``)."""
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
        # only the Sectionizer's start-of-line filter is used; the titles go into one matcher
        section_rules = [
            SectionRule(r["literal"], r["category"], parents=r.get("parents")) for r in rules
        ]
        self.matcher = rule_matcher(self.nlp, self.name, section_rules, attr="ORTH", prune=True)

    def __call__(self, doc: Doc) -> Doc:
        """Find the section titles with medspaCy's matcher and start-of-line filter, and
        store each section as plain data. medspaCy's own __call__ would also write a
        Section object onto every token (about 1 ms a letter for attributes that
        imr_nlp serves from ``doc._.imr_sections`` anyway)."""
        self.ensure_rules()
        matches = self.sectionizer.filter_start_lines(doc, run_matcher(self.matcher, doc))
        strings = self.nlp.vocab.strings
        rows: list[list[Any]] = []
        if not matches or matches[0][1] != 0:
            rows.append([None, 0, 0, matches[0][1] if matches else len(doc)])
        for i, (match_id, start, end) in enumerate(matches):
            body_end = matches[i + 1][1] if i + 1 < len(matches) else len(doc)
            rows.append([self.matcher.rule_map[strings[match_id]].category, start, end, body_end])
        doc._.imr_sections = rows
        doc.spans[SPANS_KEY] = [
            Span(doc, ts, be, label=c) for c, ts, _, be in rows if c is not None
        ]
        return doc

    def to_disk(self, path: str | Path, *, exclude: tuple = ()) -> None:
        """Nothing of its own to save: the titles are saved with imr_structure's structure."""

    def from_disk(self, path: str | Path, *, exclude: tuple = ()) -> "Sections":
        """The titles of the loaded pipeline's structure (imr_structure loads before this);
        a pipeline saved before imr_structure existed keeps its own ``sections.jsonl``."""
        own = ensure_path(path) / "sections.jsonl"
        if own.is_file():
            self.set_rules(read_jsonl(own, required=("category", "literal")))
        else:
            self.set_rules(structure_of(self.nlp).sections)
        return self


@imr_factory("imr_sections", assigns=["doc._.imr_sections", "doc.spans"], default_config={})
def make_sections(nlp: Language, name: str) -> Sections:
    """Factory of the imr_sections component."""
    return Sections(nlp, name)
