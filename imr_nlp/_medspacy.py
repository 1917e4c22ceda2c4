"""Import medspaCy's components without its import-time costs.

medspaCy 1.3.1 imports QuickUMLS, which imports nltk (and through it scipy
and scikit-learn) at import time: 1.7 s of the 2 s that ``imr_nlp.load()``
may take (issue 4), for a component imr_nlp never uses. nltk is given a
stand-in module that imports the real nltk the first time any attribute is
asked of it, so nothing is lost for code that does use nltk.

medspaCy's matcher module also calls ``warnings.filterwarnings("ignore")`` at
import, which would silence imr_nlp's own warnings for the whole process;
the warning filters are restored after the import.
"""

import importlib
import importlib.machinery
import sys
import types
import warnings
from typing import Any


class _DeferredModule(types.ModuleType):
    """A module that imports the real one on first attribute access."""

    def __init__(self, name: str):
        super().__init__(name)
        self.__spec__ = importlib.machinery.ModuleSpec(name, None)
        self._real: types.ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if attr == "_real":
            raise AttributeError(attr)
        if self._real is None:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            self._real = importlib.import_module(self.__name__)
        return getattr(self._real, attr)


def import_medspacy() -> tuple[Any, Any, Any, Any]:
    """Import medspaCy's ConText and Sectionizer.

    RETURNS (tuple): ``(ConText, ConTextRule, Sectionizer, SectionRule)``.
    """
    if "medspacy.context" not in sys.modules and "nltk" not in sys.modules:
        sys.modules["nltk"] = _DeferredModule("nltk")
    with warnings.catch_warnings():
        from medspacy.context import ConText, ConTextRule
        from medspacy.section_detection import Sectionizer, SectionRule
    return ConText, ConTextRule, Sectionizer, SectionRule


def rule_matcher(nlp: Any, name: str, rules: list, *, attr: str, prune: bool) -> Any:
    """medspaCy's MedspacyMatcher (phrases, token patterns, regexes) holding ``rules``."""
    import_medspacy()
    from medspacy.common.medspacy_matcher import MedspacyMatcher

    matcher = MedspacyMatcher(nlp, name=name, phrase_matcher_attr=attr, prune=prune)
    matcher.add(rules)
    return matcher


def run_matcher(matcher: Any, doc: Any) -> list[tuple[int, int, int]]:
    """Run a MedspacyMatcher on a doc. It runs its empty sub-matchers on every doc and
    spaCy warns (W036) each time; that warning says nothing about the letter."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"\[W036\]")
        return matcher(doc)
