"""imr_sections: medspaCy's Sectionizer with the section titles of IMR letters.

Titles of every layout live in ``patterns/sections.jsonl``; they are matched
case-sensitively and only at the start of a line. The rules are saved with
the pipeline (``to_disk``) because medspaCy keeps rules added at run time
only in memory.

medspaCy keeps a Section object on every token, which neither msgpack
(``nlp.pipe(n_process=2)``, DocBin) nor speed can afford. imr_nlp therefore
owns ``Token._.section`` and ``Doc._.sections`` before medspaCy registers them:
the sections are stored as plain lists in ``doc._.imr_sections``
(``[category, title_start, title_end, body_end]`` in tokens) and read back as
light Section views, so medspaCy's getters (``span._.section_category``,
``doc._.section_categories``) work as before, in any process.
"""

from pathlib import Path
from typing import Any

from bisect import bisect_right
from typing import NamedTuple

from spacy.language import Language
from spacy.tokens import Doc, Token
from spacy.util import ensure_path

from ._medspacy import import_medspacy, rule_matcher, run_matcher
from .patterns import read_jsonl
from .pipeline.structure import structure_of


_PENDING = "imr_nlp.sections.pending"


class SectionView(NamedTuple):
    """A section as medspaCy's getters read it, built from plain data."""

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


def _views(doc: Doc) -> list[SectionView]:
    rows = doc._.imr_sections or []
    return [SectionView(c, ts, te, te, be) for c, ts, te, be in rows]


def _get_sections(doc: Doc) -> list:
    pending = doc.user_data.get(_PENDING)
    return pending if pending is not None else _views(doc)


def _set_sections(doc: Doc, value: list) -> None:
    # the Sectionizer sets an empty list, then appends to it: keep that list until converted
    doc.user_data[_PENDING] = value


def _get_token_section(token: Token) -> SectionView | None:
    rows = token.doc._.imr_sections
    if not rows:
        return None
    i = bisect_right([r[1] for r in rows], token.i) - 1
    if i < 0 or token.i >= rows[i][3]:
        return None
    c, ts, te, be = rows[i]
    return SectionView(c, ts, te, te, be)


def _set_token_section(token: Token, value: object) -> None:
    """medspaCy writes a section on every token; imr_nlp derives it instead."""


def register_section_extensions() -> None:
    """Own the section attributes before medspaCy registers its own (it keeps existing ones)."""
    if not Doc.has_extension("imr_sections"):
        Doc.set_extension("imr_sections", default=None)
    Doc.set_extension("sections", getter=_get_sections, setter=_set_sections, force=True)
    Token.set_extension("section", getter=_get_token_section, setter=_set_token_section, force=True)


class Sections:
    """A thin wrapper around medspaCy's Sectionizer that owns its rules."""

    def __init__(self, nlp: Language, name: str = "imr_sections"):
        self.nlp = nlp
        self.name = name
        register_section_extensions()
        self.set_rules(structure_of(nlp).sections)

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
        section_rules = [SectionRule(r["literal"], r["category"], parents=r.get("parents")) for r in rules]
        self.matcher = rule_matcher(self.nlp, self.name, section_rules, attr="ORTH", prune=True)

    def __call__(self, doc: Doc) -> Doc:
        """Find the section titles with medspaCy's matcher and start-of-line filter, and
        store each section as plain data. medspaCy's own __call__ would also write a
        Section object onto every token (about 1 ms a letter for attributes that
        imr_nlp serves from ``doc._.imr_sections`` anyway)."""
        matches = self.sectionizer.filter_start_lines(doc, run_matcher(self.matcher, doc))
        strings = self.nlp.vocab.strings
        rows = []
        if not matches or matches[0][1] != 0:
            rows.append([None, 0, 0, matches[0][1] if matches else len(doc)])
        for i, (match_id, start, end) in enumerate(matches):
            body_end = matches[i + 1][1] if i + 1 < len(matches) else len(doc)
            rows.append([self.matcher.rule_map[strings[match_id]].category, start, end, body_end])
        doc._.imr_sections = rows
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


@Language.factory("imr_sections", assigns=["doc._.sections", "token._.section"], default_config={})
def make_sections(nlp: Language, name: str) -> Sections:
    """Factory of the imr_sections component."""
    return Sections(nlp, name)
