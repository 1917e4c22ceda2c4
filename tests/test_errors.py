"""Every coded message is raised through an ImrError subclass and carries its own code."""

import ast
import re
from pathlib import Path

import imr_nlp.errors as errors
from imr_nlp.errors import Errors, ImrError, Warnings

PACKAGE = Path(errors.__file__).resolve().parent


def test_each_message_starts_with_its_own_code():
    for table in (Errors, Warnings):
        for name, message in vars(table).items():
            if re.fullmatch(r"[EW]\d{3}", name):
                assert message.startswith(f"[{name}] "), name


def test_code_property():
    assert errors.TrainingError(Errors.E042.format(path="x")).code == "E042"
    assert ImrError("no code").code is None


def _raised_classes():
    """(file, line, class) of every ``raise Name(<Errors|Messages>.Exxx...)`` in the package."""
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf8"))):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            call = node.exc
            if not isinstance(call.func, ast.Name):
                continue
            coded = any(
                isinstance(sub, ast.Attribute) and re.fullmatch(r"E\d{3}", sub.attr)
                for arg in call.args
                for sub in ast.walk(arg)
            )
            if coded:
                yield path.name, node.lineno, call.func.id


def test_coded_errors_are_raised_as_imr_error_subclasses():
    found = list(_raised_classes())
    assert len(found) > 10
    wrong = [
        (f, line, name)
        for f, line, name in found
        if not (
            isinstance(getattr(errors, name, None), type)
            and issubclass(getattr(errors, name), ImrError)
        )
    ]
    assert wrong == []


def test_raise_of_the_base_class_is_not_used():
    """A caller can catch by kind (TrainingError, GoldFileError ...): no bare ImrError(...)."""
    assert [x for x in _raised_classes() if x[2] == "ImrError"] == []
