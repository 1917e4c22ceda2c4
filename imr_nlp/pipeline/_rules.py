"""What the rule components share: reading their rule files in ``initialize()``, and saving
them with the pipeline (``nlp.to_disk`` / ``spacy.load``).

A component lists its files of ``patterns/`` in ``rule_files`` and implements
``set_rules``: with one file it takes that file's rows, with several a dict of rows by
file name. ``initialize(rules_path=...)`` (``[initialize.components.<name>] rules_path``
in a config) reads a file like the shipped one (one rule file) or a folder holding the
files (several); None reads the package's own. A component whose rules were not read
reads them on its first doc.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.util import ensure_path

from ..errors import Errors, PatternFileError
from ..patterns import SCHEMAS, load_patterns, read_jsonl, write_jsonl

Rows = list[dict[str, Any]]


class RuleFiles:
    """Mixin of a component whose rules are rows of ``patterns/`` files."""

    rule_files: tuple[str, ...] = ()
    rules: Any = None  # the rows (one file) or {file: rows} (several); None until read

    def set_rules(self, rules: Any) -> None:  # pragma: no cover - each component has its own
        raise NotImplementedError

    def read_rules(self, rules_path: str | Path | None = None) -> dict[str, Rows]:
        """The rows of each rule file, from ``rules_path`` (a file with one rule file, a
        folder of ``<name>.jsonl`` files with several) or the package (None)."""
        if rules_path is None:
            return {n: load_patterns(n) for n in self.rule_files}
        path = Path(rules_path)
        if path.is_dir():
            return {
                n: read_jsonl(path / f"{n}.jsonl", required=SCHEMAS[n]) for n in self.rule_files
            }
        if len(self.rule_files) != 1:
            # several rule files are read from a folder
            raise PatternFileError(Errors.E001.format(path=path / f"{self.rule_files[0]}.jsonl"))
        name = self.rule_files[0]
        return {name: read_jsonl(path, required=SCHEMAS[name])}

    def initialize(
        self,
        get_examples: Any = None,
        *,
        nlp: Language | None = None,
        rules_path: str | Path | None = None,
    ) -> None:
        """Read the rules (``nlp.initialize()`` calls this; so does the first doc).

        rules_path (str | Path | None): rows like the shipped file(s) (see the module
            docstring); None for the package's own.
        """
        self._take(self.read_rules(rules_path))

    def ensure_rules(self) -> None:
        """Read the package's rules if neither ``initialize()`` nor ``from_disk()`` did."""
        if self.rules is None:
            self.initialize()

    def _take(self, files: dict[str, Rows]) -> None:
        self.set_rules(files[self.rule_files[0]] if len(self.rule_files) == 1 else files)

    def _files(self) -> dict[str, Rows]:
        self.ensure_rules()
        return {self.rule_files[0]: self.rules} if len(self.rule_files) == 1 else dict(self.rules)

    def to_disk(self, path: str | Path, *, exclude: tuple = ()) -> None:
        folder = ensure_path(path)
        folder.mkdir(parents=True, exist_ok=True)
        for name, rows in self._files().items():
            write_jsonl(folder / f"{name}.jsonl", rows)

    def from_disk(self, path: str | Path, *, exclude: tuple = ()) -> Any:
        folder = ensure_path(path)
        # a pipeline saved before a rule file existed takes the package's rows of that file
        self._take(
            {
                n: read_jsonl(folder / f"{n}.jsonl", required=SCHEMAS[n])
                if (folder / f"{n}.jsonl").is_file()
                else load_patterns(n)
                for n in self.rule_files
            }
        )
        return self
