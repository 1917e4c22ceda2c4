"""imr_nlp: California workers' compensation IMR determination letters as data.

>>> import imr_nlp
>>> nlp = imr_nlp.load()
>>> doc = nlp(letter_text)
>>> doc.ents, doc._.imr_requests

Importing this package loads nothing; ``load()`` builds the pipeline from the
package's own files (no download).
"""

import warnings as _warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"


def _filter_third_party_warnings() -> None:
    """spaCy 3.7's CLI module (imported by ``import spacy``) still imports
    ``click.parser.split_arg_string``, which click 8.2+ deprecates. Only that one
    warning, from that one module, is silenced: ``python -W error`` keeps working."""
    _warnings.filterwarnings(
        "ignore",
        message=r"Importing 'parser\.split_arg_string' is deprecated",
        category=DeprecationWarning,
        module=r"spacy\.cli\._util",
    )


_filter_third_party_warnings()

if TYPE_CHECKING:
    import pandas
    from spacy.language import Language
    from spacy.tokens import Doc

LABELS = (
    "DRUG",
    "DRUG_CLASS",
    "STRENGTH",
    "QUANTITY",
    "FREQUENCY",
    "GUIDELINE",
    "DIAGNOSIS",
    "OUTCOME",
    "NECESSITY",
)

PIPE_NAMES = (
    "imr_structure",
    "imr_sentences",
    "imr_sections",
    "imr_abbreviations",
    "imr_entities",
    "imr_context",
    "imr_requests",
    "imr_reasons",
)


def blank_config() -> dict[str, Any]:
    """The spaCy config of the rule pipeline (the tokenizer and the six components)."""
    from .factories import factory_name

    return {
        "nlp": {
            "lang": "en",
            "pipeline": list(PIPE_NAMES),
            "tokenizer": {"@tokenizers": "imr_nlp.tokenizer.v1"},
        },
        "components": {name: {"factory": factory_name(name)} for name in PIPE_NAMES},
    }


# What ``nlp.meta`` says of the rule pipeline (saved into meta.json by ``nlp.to_disk``).
META: dict[str, Any] = {
    "name": "imr_nlp",
    "description": (
        "Rule pipeline for California workers' compensation Independent Medical Review "
        "determination letters: nine span labels (annotation.md) and one record per "
        "disputed item (records.md)."
    ),
    "license": "MIT",
    "spacy_version": ">=3.7.5,<3.8",
    "sources": [
        {
            "name": "medspaCy (Sectionizer, ConText and its general clinical rules)",
            "url": "https://github.com/medspacy/medspacy",
            "license": "MIT",
        },
        {
            "name": "scispaCy (abbreviation detection, Schwartz & Hearst 2003)",
            "url": "https://github.com/allenai/scispacy",
            "license": "Apache-2.0",
        },
        {
            "name": "drug-named-entity-recognition (brand names in patterns/drugs.jsonl)",
            "url": "https://fastdatascience.com/drug-named-entity-recognition-python-library",
            "license": "MIT",
        },
        {"name": "imr_nlp patterns/ (hand-written rules for IMR letters)", "license": "MIT"},
    ],
}


def pipeline_meta() -> dict[str, Any]:
    """``nlp.meta`` of imr_nlp's pipelines: name, version (the package's), description, sources."""
    import json

    return {**json.loads(json.dumps(META)), "version": __version__}


def load(model: str | Path | None = None, *, disable: Iterable[str] = ()) -> "Language":
    """Build the imr_nlp pipeline, offline, from the package's own files.

    model (str | Path | None): None for the rule pipeline; or a folder written by
        ``imr-nlp train`` (a trained pipeline whose spans are combined with the rules).
    disable (Iterable[str]): component names to leave out (e.g. "imr_requests").
    RETURNS (Language): the pipeline; ``nlp(text)`` gives ``doc.ents`` and ``doc._.imr_requests``.
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
    nlp.meta.update(pipeline_meta())
    for name in disable:
        nlp.remove_pipe(name)
    # the components read their rule files here (a config may point them elsewhere:
    # [initialize.components.imr_sections] rules_path = ...)
    nlp.initialize()
    return nlp


# displaCy colours: one per span label, then a palette for section categories and items.
LABEL_COLORS: dict[str, str] = {
    "DRUG": "#7aecec",
    "DRUG_CLASS": "#bfeeb7",
    "STRENGTH": "#feca74",
    "QUANTITY": "#ffeb80",
    "FREQUENCY": "#ff9561",
    "GUIDELINE": "#aa9cfc",
    "DIAGNOSIS": "#c887fb",
    "OUTCOME": "#e4e7d2",
    "NECESSITY": "#ff8197",
}
ITEM_COLORS: dict[str, str] = {"upheld": "#ff8197", "overturned": "#7aecec", "undecided": "#e4e7d2"}
_PALETTE = (
    "#ddd6fe",
    "#bae6fd",
    "#bbf7d0",
    "#fef08a",
    "#fed7aa",
    "#fecaca",
    "#e9d5ff",
    "#a5f3fc",
    "#d9f99d",
    "#fde68a",
    "#fbcfe8",
    "#c7d2fe",
)


def displacy_options(spans_key: str | None = None) -> dict[str, Any]:
    """Options for ``spacy.displacy.render`` that colour imr_nlp's labels.

    spans_key (str | None): None for ``style="ent"`` (the nine labels of ``doc.ents``);
        "imr_sections" or "imr_items" for ``style="span"`` (``doc.spans[spans_key]``).
    RETURNS (dict): ``{"colors": ...}`` plus ``"ents"`` (style ent) or ``"spans_key"``.

    >>> displacy.render(doc, style="ent", options=imr_nlp.displacy_options())
    >>> displacy.render(doc, style="span", options=imr_nlp.displacy_options("imr_sections"))
    """
    colors: dict[str, str] = dict(LABEL_COLORS)
    if spans_key is None:
        return {"ents": list(LABELS), "colors": colors}
    from .patterns import load_patterns

    categories = list(dict.fromkeys(r["category"] for r in load_patterns("sections")))
    colors.update({c: _PALETTE[i % len(_PALETTE)] for i, c in enumerate(categories)})
    colors.update(ITEM_COLORS)
    return {"spans_key": spans_key, "colors": colors}


def to_dataframe(docs: Iterable[Any], ids: Iterable[Any] | None = None) -> "pandas.DataFrame":
    """One row per disputed item of the letters, with the columns of records.md in order.

    ``doc_id`` is never null. Each letter's id is, first found: its entry in
    ``ids``; the id in its context when ``docs`` are the ``(doc, context)``
    pairs of ``nlp.pipe(..., as_tuples=True)`` (a context dict's ``doc_id`` or
    ``id``, or a str context); ``doc._.imr_doc_id``; else its position in ``docs``
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
            from_ctx = (
                ctx
                if isinstance(ctx, str)
                else ((ctx.get("doc_id") or ctx.get("id")) if isinstance(ctx, dict) else None)
            )
            doc_id = given or from_ctx or doc._.imr_doc_id
            source = ctx.get("source_path") if isinstance(ctx, dict) else None
            for r in doc._.imr_requests or []:
                rec = {**r, "doc_id": str(doc_id or r.get("doc_id") or n)}
                if source is not None and rec.get("source_path") is None:
                    rec["source_path"] = str(source)
                yield rec

    return records_dataframe(rows())


def evaluate(gold_path: str | Path, *, nlp: "Language | None" = None) -> dict[str, Any]:
    """Precision, recall and F1 per label (exact and overlap) against a gold JSONL file.

    gold_path (str | Path): gold in the shape of ``shared/gold/seeds.jsonl``.
    nlp (Language | None): the pipeline to score; ``load()`` when None.
    RETURNS (dict): scores, see ``imr_nlp.evaluation.score``.
    """
    from .evaluation import evaluate_file

    return evaluate_file(gold_path, nlp=nlp or load())


def export_spans(docs: Iterable[Any], path: str | Path, *, format: str = "prodigy") -> Path:
    """Write tagged spans for correction in an annotation tool.

    docs (Iterable[Doc | dict]): processed letters, or gold-style dicts
        (``id``, ``text``, ``spans``).
    path (str | Path): the file (a folder for brat).
    format (str): "prodigy", "label_studio", "doccano" or "brat".
    RETURNS (Path): what was written.
    """
    from .annotations import export_spans as _export

    return _export(docs, path, format=format)


def read_annotations(
    path: str | Path, *, format: str, nlp: "Language | None" = None
) -> list["Doc"]:
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
    "LABELS",
    "load",
    "to_dataframe",
    "evaluate",
    "export_spans",
    "read_annotations",
    "process_long_text",
    "displacy_options",
    "pipeline_meta",
    "__version__",
]
