"""Re-execute the notebooks in notebooks/ and store their outputs in the .ipynb files.

    python scripts/run_notebooks.py [NAME.ipynb ...]

This is the one command for regenerating stored outputs, for someone who wants
to read the notebooks with their results (e.g. on GitHub). The notebooks are
committed WITHOUT outputs: after running this, clear them before committing
(``python scripts/run_notebooks.py --clear``). ``tests/test_notebooks.py``
executes the notebooks without writing anything.

Each notebook runs with notebooks/ as its working folder, in the "python3" kernel.
"""

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"


def run(path: Path) -> float:
    """Execute one notebook in place; RETURNS the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS_DIR)}},
    ).execute()
    nbformat.write(nb, path)
    return time.perf_counter() - started


def clear(path: Path) -> None:
    """Remove outputs and execution counts from one notebook, in place."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
    nbformat.write(nb, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="notebook file names (default: all in notebooks/)")
    ap.add_argument("--clear", action="store_true", help="remove stored outputs instead of running")
    args = ap.parse_args(argv)
    paths = [NOTEBOOKS_DIR / n for n in args.names] or sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
    for path in paths:
        if args.clear:
            clear(path)
            print(f"cleared {path.name}")
        else:
            print(f"{path.name}: {run(path):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
