"""The trained NER combined with the rules: loading a trained model, sourcing it into the
rule pipeline, and the conflict rule by which trained spans join the rule spans.

Conflict rule of the combined pipeline: ``trained_ner`` sets ``doc.ents`` and
``imr_entities`` runs with ``overwrite_ents=False``: the rules tag as usual, every
rule span wins any overlap with a trained span (and keeps its attributes:
``_.imr_generic``, ``_.imr_drug_class``, ``_.imr_guideline_source`` ...), and a trained span is
added only where no rule span overlaps it (:func:`fill_gaps`), and only for the labels in
the model's ``fill_labels`` (``imr_meta.json``): those for which the trained model beat the
rules on the dev letters at training time. The model adds what the rules miss and
never displaces what they find; trained spans carry no attributes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Errors, ImrError, ModelError, Warnings, warn

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span

TRAINED_NAME = "trained_ner"
META_FILE = "imr_meta.json"

# Text whose tokens show whether two pipelines share imr_nlp's tokenizer rules
# (patterns/tokenizer.jsonl: glued counts, "Page(s)", glued negation ...).
_PROBE = (
    "Xanax Tab 1 Mg#120, QID. Ultram,50mg (Soma)Muscle relaxant #90-a Benzodiazepine "
    "is notmedically necessary; working.The MTUS Page(s): 24, Section(s): Opioids, "
    "Certification(s)/Specialty: Physical Medicine & Rehabilitation. 12/14/14 #60."
)


def load_trained_only(path: str | Path) -> Language:
    """The trained pipeline alone (tokenizer + ``ner``), for evaluation.

    path (str | Path): a folder written by ``imr_nlp.training.train``.
    RETURNS (Language): the pipeline.
    """
    import spacy

    from ..extensions import register
    from ..pipeline import tokenizer  # noqa: F401  (registers imr_nlp.tokenizer.v1)

    register()
    folder = Path(path)
    if not (folder / "config.cfg").is_file():
        detail = "no such folder" if not folder.exists() else "no config.cfg in it"
        raise ModelError(Errors.E046.format(path=path, detail=detail))
    try:
        return spacy.load(folder)
    except ImrError:
        raise
    except (OSError, ValueError, KeyError) as e:  # spaCy's errors of a broken folder
        raise ModelError(Errors.E046.format(path=path, detail=_one_line(e))) from e


def load_trained(
    path: str | Path, *, disable: Iterable[str] = (), fill_labels: Iterable[str] | None = None
) -> Language:
    """The rule pipeline with the trained NER sourced in as ``trained_ner``.

    ``trained_ner`` runs before ``imr_entities``, which is rebuilt with
    ``overwrite_ents=False`` so that trained and rule spans are pooled (see the
    module docstring for the conflict rule).

    path (str | Path): a folder written by ``imr_nlp.training.train``.
    disable (Iterable[str]): component names to leave out; "trained_ner" gives
        the rule pipeline alone.
    fill_labels (Iterable[str] | None): the labels trained spans may fill; None takes
        ``fill_labels`` of the model's ``imr_meta.json`` (cross-validation passes all labels).
    RETURNS (Language): the combined pipeline.
    """
    from .. import PIPE_NAMES, load

    disable = tuple(disable)
    nlp = load(disable=[name for name in disable if name != TRAINED_NAME])
    if TRAINED_NAME in disable:
        return nlp
    trained = load_trained_only(path)
    if "ner" not in trained.pipe_names:
        raise ModelError(Errors.E045.format(path=path))
    check_compatible(nlp, trained, path=path)
    if "imr_entities" in nlp.pipe_names:
        config = dict(nlp.get_pipe_config("imr_entities"))
        factory = config.pop("factory")
        config["overwrite_ents"] = False
        meta_path = Path(path) / META_FILE
        if fill_labels is not None:
            config["fill_labels"] = list(fill_labels)
        elif meta_path.is_file():
            fill = json.loads(meta_path.read_text(encoding="utf8")).get("fill_labels")
            if fill is not None:
                config["fill_labels"] = list(fill)
        # Rebuilt through the config (not by setting the attribute) so that
        # nlp.to_disk() / spacy.load() keep the pooling.
        nlp.replace_pipe("imr_entities", factory, config=config)
    later = PIPE_NAMES[PIPE_NAMES.index("imr_entities") :]
    before = next((name for name in later if name in nlp.pipe_names), None)
    if before is None:
        nlp.add_pipe("ner", name=TRAINED_NAME, source=trained)
    else:
        nlp.add_pipe("ner", name=TRAINED_NAME, source=trained, before=before)
    nlp.meta.setdefault("imr_nlp", {})["trained_model"] = str(path)
    return nlp


def check_compatible(nlp: Language, trained: Language, *, path: Any = None) -> bool:
    """Warn when the trained pipeline cannot be mixed cleanly into ``nlp``.

    Checks the language, the tokens of a probe text (the trained model was fit
    on imr_nlp's tokens; ``patterns/tokenizer.jsonl`` may have changed since) and
    the labels. Vocab strings are copied by spaCy when sourcing; neither side
    has vectors.

    RETURNS (bool): True when nothing was found.
    """
    from .. import LABELS

    ok = True
    if nlp.lang != trained.lang or [t.text for t in nlp.tokenizer(_PROBE)] != [
        t.text for t in trained.tokenizer(_PROBE)
    ]:
        warn(Warnings.W040.format(path=path))
        ok = False
    ner: Any = trained.get_pipe("ner")
    unknown = sorted(set(ner.labels) - set(LABELS))
    if unknown:
        warn(Warnings.W041.format(path=path, labels=", ".join(unknown)))
        ok = False
    return ok


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= 200 else text[:197] + "..."


def fill_gaps(doc: Doc, rule_spans: list[Span], earlier: Iterable[Span]) -> list[Span]:
    """The conflict rule: spans of an earlier component (a trained NER) fill the gaps the
    rules leave. A rule span wins every overlap and keeps its attributes.

    doc (Doc): the letter.
    rule_spans (list[Span]): the rule spans, non-overlapping.
    earlier (Iterable[Span]): the earlier component's spans (already filtered by label).
    RETURNS (list[Span]): the rule spans plus every earlier span no rule span overlaps.
    """
    import numpy

    taken = numpy.zeros(len(doc), dtype=bool)
    for s in rule_spans:
        taken[s.start : s.end] = True
    return list(rule_spans) + [e for e in earlier if not taken[e.start : e.end].any()]
