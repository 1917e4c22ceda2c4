"""brat: a folder with ``<id>.txt`` and ``<id>.ann`` per document and an ``annotation.conf``;
entities are ``T`` lines, a negated NECESSITY span has an attribute line
``A1<TAB>Negated T5``. Discontinuous spans are never written and are refused on reading.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .checks import (
    NEGATABLE,
    RawSpan,
    doc_ids,
    fail,
    make_doc,
    span_rows,
)

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

from .. import LABELS

BRAT_NEGATED = "Negated"


def _brat_conf() -> str:
    return "\n".join(
        [
            "# imr_nlp annotation labels (shared/spec/annotation.md)",
            "[entities]",
            *LABELS,
            "",
            "[relations]",
            "",
            "[events]",
            "",
            "[attributes]",
            f"{BRAT_NEGATED}\tArg:{NEGATABLE}",
            "",
        ]
    )


def _brat_text(text: str) -> str:
    return "".join(" " if ch.isspace() else ch for ch in text)


def write(docs: list[Doc], path: Path) -> None:
    ids = doc_ids(docs)
    seen: set[str] = set()
    for i, doc_id in enumerate(ids, start=1):
        if not doc_id or doc_id.startswith(".") or any(c in doc_id for c in "/\\\0"):
            raise fail(path, f"doc {i}", f"id {doc_id!r} cannot be a file name")
        if doc_id in seen:
            raise fail(path, f"doc {i}", f"duplicate id {doc_id!r} (one file pair per id)")
        seen.add(doc_id)
    path.mkdir(parents=True, exist_ok=True)
    (path / "annotation.conf").write_text(_brat_conf(), encoding="utf8")
    for doc, doc_id in zip(docs, ids, strict=True):
        lines = []
        attributes = 0
        for k, (start, end, label, negated, ent) in enumerate(span_rows(doc), start=1):
            lines.append(f"T{k}\t{label} {start} {end}\t{_brat_text(ent.text)}")
            if negated:
                attributes += 1
                lines.append(f"A{attributes}\t{BRAT_NEGATED} T{k}")
        with (path / f"{doc_id}.txt").open("w", encoding="utf8", newline="") as f:
            f.write(doc.text)
        with (path / f"{doc_id}.ann").open("w", encoding="utf8", newline="") as f:
            f.write("".join(line + "\n" for line in lines))


def _brat_pairs(path: Path) -> list[tuple[Path, Path]]:
    if path.is_file():
        stems = [path.with_suffix("")]
    else:
        stems = sorted({p.with_suffix("") for p in path.iterdir() if p.suffix in (".txt", ".ann")})
    pairs = []
    for stem in stems:  # ids may hold dots: add suffixes, never replace them
        txt, ann = stem.parent / f"{stem.name}.txt", stem.parent / f"{stem.name}.ann"
        for have, need in ((txt, ann), (ann, txt)):
            if not need.is_file():
                raise fail(need, "file", f"not found (its pair {have.name} exists)")
        pairs.append((txt, ann))
    return pairs


def read(path: Path, nlp: Language) -> list[Doc]:
    docs = []
    for txt, ann in _brat_pairs(path):
        with txt.open(encoding="utf8", newline="") as f:
            text = f.read()
        with ann.open(encoding="utf8", newline="") as f:
            content = f.read()
        entities: dict[str, RawSpan] = {}
        negations: list[tuple[str, str]] = []
        for i, line in enumerate(content.split("\n"), start=1):
            line = line.rstrip("\r")
            if not line.strip() or line.startswith("#"):
                continue  # blank line or AnnotatorNotes comment
            fields = line.split("\t")
            tid = fields[0]
            where = f"line {i} ({tid})"
            if tid.startswith("T"):
                if len(fields) != 3:
                    raise fail(ann, where, "expected 'T<n><TAB>LABEL START END<TAB>text'")
                head = fields[1]
                if ";" in head:
                    raise fail(ann, where, "discontinuous spans are not supported")
                parts = head.split(" ")
                if len(parts) != 3 or not all(p.isdigit() for p in parts[1:]):
                    raise fail(ann, where, f"expected 'LABEL START END', got {head!r}")
                if tid in entities:
                    raise fail(ann, where, f"duplicate id {tid}")
                label = parts[0]
                entities[tid] = RawSpan(
                    int(parts[1]),
                    int(parts[2]),
                    label,
                    where,
                    negated=False if label == NEGATABLE else None,
                    surface=fields[2],
                )
            elif tid.startswith(("A", "M")):
                parts = fields[1].split(" ") if len(fields) == 2 else []
                if len(parts) != 2 or parts[0] != BRAT_NEGATED:
                    raise fail(ann, where, f"expected '{tid}<TAB>{BRAT_NEGATED} T<n>'")
                negations.append((where, parts[1]))
            else:
                raise fail(ann, where, f"unsupported annotation {tid!r} (only T and A lines)")
        for where, target in negations:
            span = entities.get(target)
            if span is None:
                raise fail(ann, where, f"attribute refers to unknown entity {target!r}")
            if span.label != NEGATABLE:
                raise fail(ann, where, f"only {NEGATABLE} spans can be negated, not {span.label!r}")
            span.negated = True
        docs.append(make_doc(nlp, text, txt.stem, list(entities.values()), ann, "file"))
    return docs
