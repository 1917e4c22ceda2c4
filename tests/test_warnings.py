"""imr_nlp runs clean under ``python -W error``: no warning of its own or of its stack
at import and load, except the one third-party warning it filters by name."""

import os
import subprocess
import sys
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_import_and_load_under_w_error():
    proc = _run(
        "import imr_nlp; nlp = imr_nlp.load(); nlp('Xanax 1 mg #60 is not medically necessary.')"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_the_filter_is_narrow():
    """imr_nlp's one filter silences click's split_arg_string message from spaCy's CLI
    only: the same category with another message, or from another module, still warns."""
    from imr_nlp import _filter_third_party_warnings

    message = "Importing 'parser.split_arg_string' is deprecated, it will only be available ..."
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()
        warnings.simplefilter("always")
        _filter_third_party_warnings()
        warnings.warn_explicit(
            message, DeprecationWarning, "_util.py", 23, module="spacy.cli._util"
        )
        warnings.warn_explicit(message, DeprecationWarning, "other.py", 1, module="other")
        warnings.warn_explicit(
            "other text", DeprecationWarning, "_util.py", 23, module="spacy.cli._util"
        )
    assert [(str(w.message), w.filename) for w in caught] == [
        (message, "other.py"),
        ("other text", "_util.py"),
    ]
