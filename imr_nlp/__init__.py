"""imr_nlp: California workers' compensation IMR determination letters as data.

>>> import imr_nlp
>>> nlp = imr_nlp.load()
>>> doc = nlp(letter_text)
>>> doc.ents, doc._.requests

Importing this package loads nothing; ``load()`` builds the pipeline from the
package's own files (no download).
"""

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

__version__ = "0.1.0"

if TYPE_CHECKING:
    import pandas
    from spacy.language import Language
    from spacy.tokens import Doc

LABELS = (
    "DRUG", "DRUG_CLASS", "STRENGTH", "QUANTITY", "FREQUENCY",
    "GUIDELINE", "DIAGNOSIS", "OUTCOME", "NECESSITY",
)

PIPE_NAMES = (
    "imr_sentences", "imr_sections", "imr_abbreviations",
    "imr_entities", "imr_context", "imr_requests",
)


def blank_config() -> dict[str, Any]:
    """The spaCy config of the rule pipeline (the tokenizer and the six components)."""
    return {
        "nlp": {
            "lang": "en",
            "pipeline": list(PIPE_NAMES),
            "tokenizer": {"@tokenizers": "imr_nlp.tokenizer.v1"},
        },
        "components": {name: {"factory": name} for name in PIPE_NAMES},
    }


def load(model: str | Path | None = None, *, disable: Iterable[str] = ()) -> "Language":
    """Build the imr_nlp pipeline, offline, from the package's own files.

    model (str | Path | None): None for the rule pipeline; or a folder written by
        ``imr-nlp train`` (a trained pipeline whose spans are combined with the rules).
    disable (Iterable[str]): component names to leave out (e.g. "imr_requests").
    RETURNS (Language): the pipeline; ``nlp(text)`` gives ``doc.ents`` and ``doc._.requests``.
    """
    from . import components  # noqa: F401  (registers the factories)
    from .extensions import register

    register()
    if model is not None:
        from .training import load_trained

        return load_trained(model, disable=disable)
    from spacy.util import load_model_from_config
    from thinc.api import Config

    nlp = load_model_from_config(Config(blank_config()), auto_fill=True, validate=True)
    for name in disable:
        nlp.remove_pipe(name)
    return nlp


def to_dataframe(docs: Iterable[Any], ids: Iterable[Any] | None = None) -> "pandas.DataFrame":
    """One row per disputed item of the letters, with the columns of records.md in order.

    ``doc_id`` is never null. Each letter's id is, first found: its entry in
    ``ids``; the id in its context when ``docs`` are the ``(doc, context)``
    pairs of ``nlp.pipe(..., as_tuples=True)`` (a context dict's ``doc_id`` or
    ``id``, or a str context); ``doc._.doc_id``; else its position in ``docs``
    ("0", "1", ...). A context dict's ``source_path`` fills that column.

    docs (Iterable[Doc | tuple[Doc, Any]]): letters processed by ``imr_nlp.load()``.
    ids (Iterable | None): one id per letter, in order.
    RETURNS (pandas.DataFrame): one row per record; list fields stay lists.
    """
    from .records import records_dataframe

    id_list = None if ids is None else [None if i is None else str(i) for i in ids]

    def rows():
        for n, item in enumerate(docs):
            doc, ctx = item if isinstance(item, tuple) else (item, None)
            given = id_list[n] if id_list is not None and n < len(id_list) else None
            from_ctx = ctx if isinstance(ctx, str) else (
                (ctx.get("doc_id") or ctx.get("id")) if isinstance(ctx, dict) else None)
            doc_id = given or from_ctx or doc._.doc_id
            source = ctx.get("source_path") if isinstance(ctx, dict) else None
            for r in doc._.requests or []:
                rec = {**r, "doc_id": str(doc_id or r.get("doc_id") or n)}
                if source is not None and rec.get("source_path") is None:
                    rec["source_path"] = str(source)
                yield rec

    return records_dataframe(rows())


def evaluate(gold_path: str | Path, *, nlp: "Language | None" = None) -> dict[str, Any]:
    """Precision, recall and F1 per label (exact and overlap) against a gold JSONL file.

    gold_path (str | Path): gold in the shape of ``shared/gold/seeds.jsonl``.
    nlp (Language | None): the pipeline to score; ``load()`` when None.
    RETURNS (dict): scores, see ``imr_nlp.scoring.score``.
    """
    from .scoring import evaluate_file

    return evaluate_file(gold_path, nlp=nlp or load())


def export_spans(docs: Iterable[Any], path: str | Path, *, format: str = "prodigy") -> Path:
    """Write tagged spans for correction in an annotation tool.

    docs (Iterable[Doc | dict]): processed letters, or gold-style dicts (``id``, ``text``, ``spans``).
    path (str | Path): the file (a folder for brat).
    format (str): "prodigy", "label_studio", "doccano" or "brat".
    RETURNS (Path): what was written.
    """
    from .annotations import export_spans as _export

    return _export(docs, path, format=format)


def read_annotations(path: str | Path, *, format: str, nlp: "Language | None" = None) -> list["Doc"]:
    """Read corrected annotations back into Docs, checking every span against its text.

    path (str | Path): the corrected file (a folder for brat).
    format (str): "prodigy", "label_studio", "doccano" or "brat".
    nlp (Language | None): whose tokenizer makes the Docs; imr_nlp's when None.
    RETURNS (list[Doc]): one Doc per letter, spans in ``doc.ents``.
    """
    from .annotations import read_annotations as _read

    return _read(path, format=format, nlp=nlp)


def process_long_text(text: str, nlp: "Language | None" = None) -> list["Doc"]:
    """A text longer than ``nlp.max_length`` (several letters in one file) as one Doc a letter,
    split at the titles that start IMR letters (see ``imr_nlp.extract.process_long_text``)."""
    from .extract import process_long_text as _process

    return _process(text, nlp)


__all__ = [
    "LABELS", "load", "to_dataframe", "evaluate", "export_spans", "read_annotations",
    "process_long_text", "__version__",
]
