"""Export spans for correction in an annotation tool and read the corrections back.

Four formats are written and read (``FORMATS``):

- ``"prodigy"``: JSON Lines in the shape of Prodigy's ``ner_manual`` tasks
  (``text``, ``spans`` with ``token_start``/``token_end`` inclusive, ``tokens``,
  ``meta``). The gold files of ``shared/gold/`` are this shape without
  ``tokens``. A NECESSITY span carries ``"negated": true|false``.
- ``"label_studio"``: one JSON file, a list of Label Studio tasks with the
  spans as ``predictions`` (``model_version`` "imr_nlp"). The labeling config
  is :func:`label_studio_config` (a copy lives in
  ``patterns/label_studio_config.xml``). Negation of a NECESSITY region is a
  per-region ``Choices`` result (``from_name`` "negated", ``choices``
  ``["negated"]``) with the same region ``id``. Offsets are JavaScript string
  offsets (UTF-16 code units), as Label Studio counts them; they equal Python
  offsets unless the text has characters outside the Basic Multilingual Plane.
  On reading, the latest non-cancelled human annotation of a task wins over
  its predictions.
- ``"doccano"``: JSON Lines as doccano's sequence-labeling export,
  ``{"id", "text", "label": [[start, end, LABEL], ...]}``. doccano has no
  span attributes, so negation is an extra key ``"negated": [[start, end], ...]``
  listing the negated NECESSITY spans (every other NECESSITY span is not
  negated). doccano keeps unknown keys of an imported line as metadata and
  exports them again.
- ``"brat"``: a folder with ``<id>.txt`` and ``<id>.ann`` per document and an
  ``annotation.conf``. Entities are ``T`` lines; a negated NECESSITY span has
  an attribute line ``A1<TAB>Negated T5``. brat's text column cannot hold a
  line break, so whitespace other than a space is written as a space there;
  the offsets stay exact. Discontinuous spans are never written and are
  refused on reading.

Every span read back is checked against its text (offsets, label, surface
text where the format carries one, overlaps, token alignment); a span that
fails raises :class:`~imr_nlp.errors.AnnotationError` naming the file and the
line, task or brat id. No span is ever dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import LABELS
from ..errors import AnnotationError, Errors
from . import brat, doccano, label_studio, prodigy
from .brat import BRAT_NEGATED
from .checks import NEGATABLE, as_docs, fail, get_nlp, register_extensions
from .label_studio import (
    LS_CONFIG_FILE,
    LS_MODEL_VERSION,
    label_studio_config,
    write_label_studio_config,
)

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, DocBin

FORMATS: tuple[str, ...] = ("prodigy", "label_studio", "doccano", "brat")


def export_spans(
    docs: Iterable[Doc | Mapping[str, Any]],
    path: str | Path,
    *,
    format: str = "prodigy",
    nlp: Language | None = None,
) -> Path:
    """Write documents and their spans for correction in an annotation tool.

    docs (Iterable[Doc | dict]): spaCy Docs (spans in ``doc.ents``, id in
        ``doc._.imr_doc_id``, negation in ``span._.is_negated``) or gold-style
        dicts ``{"id", "text", "spans": [{"start", "end", "label"[, "negated"]}]}``.
        Every span is checked as on reading, so a file that is written can be
        read back. A document without an id gets ``doc_0001``, ``doc_0002``...
    path (str | Path): the file to write; for ``"brat"`` a folder (created if
        needed; ``annotation.conf`` and one ``.txt``/``.ann`` pair per document).
    format (str): one of ``FORMATS``.
    nlp (Language | None): tokenizes dict inputs (Prodigy tokens, alignment
        checks). Defaults to ``imr_nlp.pipeline.tokenizer.blank()``.
    RETURNS (Path): the file or folder written.
    """
    if format not in FORMATS:
        raise AnnotationError(Errors.E030.format(format=format, known=", ".join(FORMATS)))
    path = Path(path)
    checked = as_docs(docs, nlp)
    writer = {
        "prodigy": prodigy.write,
        "label_studio": label_studio.write,
        "doccano": doccano.write,
        "brat": brat.write,
    }[format]
    writer(checked, path)
    return path


def read_annotations(path: str | Path, *, format: str, nlp: Language | None = None) -> list[Doc]:
    """Read a corrected annotation file back into spaCy Docs.

    path (str | Path): the file (for ``"brat"`` the folder, or one ``.ann`` /
        ``.txt`` file of a pair).
    format (str): one of ``FORMATS``.
    nlp (Language | None): makes the Docs (``nlp.make_doc``); defaults to
        ``imr_nlp.pipeline.tokenizer.blank()``.
    RETURNS (list[Doc]): one Doc per document, in file order (brat: by file
        name), with ``doc.ents``, ``doc._.imr_doc_id`` and, on NECESSITY spans,
        ``span._.is_negated``. Prodigy's ``answer`` key is not interpreted:
        filter rejected or ignored tasks before reading.
    """
    if format not in FORMATS:
        raise AnnotationError(Errors.E030.format(format=format, known=", ".join(FORMATS)))
    register_extensions()
    path = Path(path)
    if not path.exists():
        raise fail(path, "file", "not found")
    nlp = get_nlp(nlp)
    if format == "prodigy":
        return [doc for doc, _ in prodigy.read_with_records(path, nlp)]
    reader = {"label_studio": label_studio.read, "doccano": doccano.read, "brat": brat.read}[format]
    return reader(path, nlp)


def to_docbin(docs: Iterable[Doc | Mapping[str, Any]], *, nlp: Language | None = None) -> DocBin:
    """Pack documents into a DocBin for ``spacy train`` / ``spacy evaluate``.

    docs (Iterable[Doc | dict]): Docs or gold-style dicts, as for export_spans.
    nlp (Language | None): tokenizes dict inputs; defaults to ``imr_nlp.pipeline.tokenizer.blank()``.
    RETURNS (DocBin): with user data stored, so ``doc._.imr_doc_id`` and
        ``span._.is_negated`` survive ``to_disk``/``get_docs``.
    """
    from spacy.tokens import DocBin

    docbin = DocBin(store_user_data=True)
    for doc in as_docs(docs, nlp):
        docbin.add(doc)
    return docbin


__all__ = [
    "BRAT_NEGATED",
    "FORMATS",
    "LABELS",
    "LS_CONFIG_FILE",
    "LS_MODEL_VERSION",
    "NEGATABLE",
    "export_spans",
    "label_studio_config",
    "read_annotations",
    "to_docbin",
    "write_label_studio_config",
]
