"""Reading letters from disk (.txt and .pdf) and writing outputs safely.

A letter's text is what every offset refers to, so ``read_letter`` returns a
``.txt`` file's text exactly as ``open(path).read()`` would give it under
universal newlines (``\\r\\n`` and ``\\r`` become ``\\n``), only decoded more
forgivingly. A ``.pdf`` is turned into text by ``pdf_to_text``, which drops
page headers and footers and joins words broken across lines.
"""

from __future__ import annotations

import os
import re
import secrets
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from .errors import Errors, InputError, PatternFileError, Warnings, warn
from .patterns import patterns_dir, read_jsonl

LETTER_SUFFIXES = (".txt", ".pdf")

# Share of control characters (other than \n \r \t \f) above which a .txt is binary junk.
BINARY_CONTROL_RATIO = 0.10
E017_BINARY = Errors.E017
# How many non-blank lines at the top and at the bottom of a page count as its edge.
EDGE_LINES = 3
# PDFium's marks: U+FFFE where a word was hyphenated at a line break; the error code of a
# document that needs a password (FPDF_ERR_PASSWORD).
PDFIUM_LINE_HYPHEN = "\ufffe"
PDFIUM_PASSWORD_ERROR = 4

_ALLOWED_CONTROLS = frozenset("\n\r\t\f")
_LIGATURES = {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl"}


@dataclass(frozen=True)
class Letter:
    """One letter read from disk.

    doc_id (str): the file stem.
    text (str): the text every offset refers to.
    path (str | None): where it was read from.
    source (str): "txt" or "pdf".
    encoding (str | None): the codec a .txt was decoded with; None for a PDF.
    warnings (tuple[str, ...]): the coded warnings given while reading.
    """

    doc_id: str
    text: str
    path: str | None
    source: str
    encoding: str | None
    warnings: tuple[str, ...] = ()


def read_letter(path: str | Path) -> Letter:
    """Read one letter, a ``.txt`` or a ``.pdf`` (suffix in any case).

    A .txt is decoded as UTF-8 (a BOM is dropped), else as cp1252, else as
    latin-1 (which never fails), with warning W001 for either fallback. A
    UTF-16 file with a BOM is decoded as UTF-16 (also with W001). Newlines are
    then normalised as in universal-newline mode.

    path (str | Path): the file.
    RETURNS (Letter): the letter.
    RAISES (InputError): reason "empty" (E010), "whitespace_only" (W004's
        wording), "binary" ([E017]), "unsupported" (E014), "not_found" /
        "unreadable" (E015), or from ``pdf_to_text``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        text = pdf_to_text(path)
        return Letter(path.stem, text, str(path), "pdf", None, ())
    if suffix != ".txt":
        raise InputError(
            Errors.E014.format(path=path, suffix=path.suffix),
            reason="unsupported",
            path=str(path),
        )
    data = _read_bytes(path)
    text, encoding, fallback = _decode(data)
    share = _control_share(text)
    if share > BINARY_CONTROL_RATIO:
        raise InputError(
            E017_BINARY.format(path=path, share=share), reason="binary", path=str(path)
        )
    given: list[str] = []
    if fallback:
        message = Warnings.W001.format(path=path, encoding=encoding)
        warn(message)
        given.append(message)
    text = normalize_newlines(text)
    if not text.strip():
        raise InputError(Errors.E018.format(path=path), reason="whitespace_only", path=str(path))
    return Letter(path.stem, text, str(path), "txt", encoding, tuple(given))


def normalize_newlines(text: str) -> str:
    """Turn ``\\r\\n`` and lone ``\\r`` into ``\\n``, as universal-newline mode does.

    text (str): the text.
    RETURNS (str): the text with ``\\n`` line ends only.
    """
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise InputError(
            Errors.E015.format(path=path, detail="no such file"), reason="not_found", path=str(path)
        ) from e
    except OSError as e:
        detail = e.strerror or type(e).__name__
        raise InputError(
            Errors.E015.format(path=path, detail=detail), reason="unreadable", path=str(path)
        ) from e
    if not data:
        raise InputError(Errors.E010.format(path=path), reason="empty", path=str(path))
    return data


def _decode(data: bytes) -> tuple[str, str, bool]:
    """RETURNS (tuple[str, str, bool]): text, codec, whether it was a fallback."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16", True
        except UnicodeDecodeError:
            pass
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig", False
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8", False
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252", True
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1", True


def _control_share(text: str) -> float:
    if not text:
        return 0.0
    controls = sum(
        1 for ch in text if ch not in _ALLOWED_CONTROLS and unicodedata.category(ch) == "Cc"
    )
    return controls / len(text)


# ---------------------------------------------------------------------------- PDF


@lru_cache(maxsize=1)
def _pdf_rules() -> tuple[tuple[re.Pattern[str], ...], tuple[re.Pattern[str], ...], frozenset[str]]:
    """RETURNS (tuple): drop-anywhere regexes, drop-at-edge regexes, words keeping a hyphen."""
    path = patterns_dir() / "pdf_noise.jsonl"
    anywhere: list[re.Pattern[str]] = []
    edge: list[re.Pattern[str]] = []
    keep: set[str] = set()
    for i, row in enumerate(read_jsonl(path, required=("kind", "pattern")), start=1):
        kind, pattern = row["kind"], row["pattern"]
        if kind == "keep_hyphen":
            keep.add(str(pattern).lower())
            continue
        if kind == "body_line":
            continue  # read by _body_line
        if kind != "drop_line":
            raise PatternFileError(
                Errors.E002.format(path=path, line=f"rule {i}", problem=f"unknown kind {kind!r}")
            )
        try:
            regex = re.compile(pattern)
        except (re.error, TypeError) as e:
            raise PatternFileError(
                Errors.E002.format(path=path, line=f"rule {i}", problem=f"bad regex ({e})")
            ) from None
        where = row.get("where", "any")
        if where not in ("any", "edge"):
            raise PatternFileError(
                Errors.E002.format(path=path, line=f"rule {i}", problem=f"bad 'where' {where!r}")
            )
        (edge if where == "edge" else anywhere).append(regex)
    return tuple(anywhere), tuple(edge), frozenset(keep)


def pdf_to_text(path: str | Path) -> str:
    """Extract and clean the text of a PDF letter with pypdfium2 (PDFium).

    The DWC publishes its letters AES-encrypted with an empty user password;
    PDFium opens them without a password, as any reader does.

    Cleaning, in order:

    1. Per page: newlines normalised (PDFium ends lines with "\\r\\n"), a
       line-break hyphen (PDFium's U+FFFE, which stands where a word was broken
       at the end of a line) turned back into "-" and a line break, ligatures
       (fi, fl, ...) spelled out, NULs and soft hyphens removed, trailing
       whitespace stripped from each line.
    2. Page headers and footers dropped: lines matching a ``drop_line`` rule
       of ``patterns/pdf_noise.jsonl`` ("Page 2 of 4"; bare page numbers only
       among the first/last 3 non-blank lines of a page), and, when there are
       at least 2 pages, any line that repeats identically (whitespace
       collapsed) among the first/last 3 non-blank lines of at least half of
       the pages and of at least 2 pages (e.g. "Case Number: CM15-...").
    3. Pages joined with "\\n".
    4. Line-break hyphens: where a line ends in ``<fragment>-`` and the next
       line starts with a lower-case letter, the line break is removed and

       - the hyphen is kept if the fragment follows another hyphen
         ("57-year-\\nold" -> "57-year-old"), is digits ("45-\\nminute"), is a
         ``keep_hyphen`` word of ``pdf_noise.jsonl`` ("long-", "short-",
         "non-", "self-", "follow-", "well-", "x-", "anti-", ...; compared in
         lower case), or is not lower-case letters (with at most a capital
         first letter; "NSAID-\\nrelated" -> "NSAID-related");
       - otherwise the hyphen is dropped ("medi-\\ncally" -> "medically",
         "Re-\\nview" -> "Review").

       A line ending in "-" before an upper-case letter, a digit or a blank
       line is left alone.

    path (str | Path): the PDF.
    RETURNS (str): the text, ending in one "\\n".
    RAISES (InputError): reason "encrypted" (E012) unless the empty user
        password opens it, "bad_pdf" (E013), "no_text" (E011), "empty" (E010),
        "not_found" / "unreadable" (E015).
    """
    path = Path(path)
    data = _read_bytes(path)
    pages = _pdfium_pages(path, data)
    if not any(p.strip() for p in pages):
        raise InputError(Errors.E011.format(path=path), reason="no_text", path=str(path))
    text = clean_pdf_pages(pages)
    if not text.strip():
        raise InputError(Errors.E011.format(path=path), reason="no_text", path=str(path))
    return text


def _pdfium_pages(path: Path, data: bytes) -> list[str]:
    """The raw text of each page of a PDF, as PDFium extracts it."""
    import pypdfium2

    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as e:
        if getattr(e, "err_code", None) == PDFIUM_PASSWORD_ERROR:
            raise InputError(
                Errors.E012.format(path=path), reason="encrypted", path=str(path)
            ) from e
        raise _bad_pdf(path, e) from e
    try:
        pages = []
        for i in range(len(pdf)):
            page = pdf[i]
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return pages
    except Exception as e:  # PDFium reports a damaged page in several ways
        raise _bad_pdf(path, e) from e
    finally:
        pdf.close()


def _bad_pdf(path: Path, e: Exception) -> InputError:
    detail = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    return InputError(
        Errors.E013.format(path=path, detail=detail), reason="bad_pdf", path=str(path)
    )


def clean_pdf_pages(pages: list[str]) -> str:
    """Clean the extracted text of a PDF's pages (steps 1-4 of ``pdf_to_text``).

    pages (list[str]): the text of each page, in order.
    RETURNS (str): the joined text, ending in one "\\n" (or "" if nothing is left).
    """
    anywhere, edge, keep = _pdf_rules()
    page_lines = [_page_lines(p) for p in pages]
    repeated = _repeated_edge_lines(page_lines) if len(page_lines) >= 2 else set()
    kept: list[str] = []
    for lines in page_lines:
        edges = set(_edge_indices(lines))
        for i, line in enumerate(lines):
            if any(r.search(line) for r in anywhere):
                continue
            if i in edges and (_collapse(line) in repeated or any(r.search(line) for r in edge)):
                continue
            kept.append(line)
    text = "\n".join(kept).strip("\n")
    text = join_hyphenated(text, keep)
    return text + "\n" if text else ""


def _page_lines(text: str) -> list[str]:
    text = normalize_newlines(text)
    for lig, spelled in _LIGATURES.items():
        text = text.replace(lig, spelled)
    text = text.replace(PDFIUM_LINE_HYPHEN, "-\n")
    text = text.replace("\x00", "").replace("\u00ad\n", "-\n").replace("\u00ad", "")
    return [line.rstrip() for line in text.split("\n")]


def _collapse(line: str) -> str:
    return " ".join(line.split())


def _edge_indices(lines: list[str]) -> list[int]:
    filled = [i for i, line in enumerate(lines) if line.strip()]
    return filled[:EDGE_LINES] + filled[-EDGE_LINES:]


def _repeated_edge_lines(page_lines: list[list[str]]) -> set[str]:
    counts: Counter[str] = Counter()
    for lines in page_lines:
        counts.update({_collapse(lines[i]) for i in _edge_indices(lines)})
    need = max(2, -(-len(page_lines) // 2))  # ceil(n / 2), at least 2 pages
    body = _body_line()
    # a line of running text ("necessary." ending an item on several pages) is no header
    return {line for line, n in counts.items() if n >= need and line and not body.search(line)}


@lru_cache(maxsize=1)
def _body_line() -> re.Pattern[str]:
    rows = [
        r["pattern"]
        for r in read_jsonl(patterns_dir() / "pdf_noise.jsonl", required=("kind", "pattern"))
        if r["kind"] == "body_line"
    ]
    return re.compile("|".join(f"(?:{p})" for p in rows) if rows else r"(?!)")


_HYPHEN_BREAK = re.compile(
    r"(?P<head>[A-Za-z0-9]+-)?(?P<frag>[A-Za-z0-9]+)-[ \t]*\n[ \t]*(?=[a-z])"
)


def join_hyphenated(text: str, keep: Iterable[str] | None = None) -> str:
    """Join words broken across lines with a hyphen (rule in ``pdf_to_text``).

    text (str): the text.
    keep (Iterable[str] | None): lower-case words that keep their hyphen;
        None for the ``keep_hyphen`` rules of ``patterns/pdf_noise.jsonl``.
    RETURNS (str): the text with those line breaks removed.
    """
    keep_set = _pdf_rules()[2] if keep is None else frozenset(w.lower() for w in keep)

    def repl(m: re.Match[str]) -> str:
        head, frag = m.group("head") or "", m.group("frag")
        simple_word = re.fullmatch(r"[A-Z]?[a-z]+", frag) is not None
        if head or not simple_word or frag.lower() in keep_set:
            return f"{head}{frag}-"
        return frag

    return _HYPHEN_BREAK.sub(repl, text)


# ---------------------------------------------------------------------------- paths


def iter_letter_paths(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """List the letters named by files and folders.

    Folders are searched recursively for ``.txt`` and ``.pdf`` files (any
    case), skipping hidden files and folders (names starting with ".", e.g.
    macOS "._letter.pdf"). A file named directly must have one of those
    suffixes.

    paths (str | Path | Iterable[str | Path]): files and folders.
    RETURNS (list[Path]): the letters, sorted, each once (by resolved path).
    RAISES (InputError): reason "not_found" (E015) for a path that does not
        exist, "unsupported" (E014) for a named file of another type.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    found: dict[str, Path] = {}
    for given in paths:
        p = Path(given)
        if not p.exists():
            raise InputError(
                Errors.E015.format(path=p, detail="no such file or folder"),
                reason="not_found",
                path=str(p),
            )
        if p.is_dir():
            candidates: Iterable[Path] = _walk_letters(p)
        else:
            if p.suffix.lower() not in LETTER_SUFFIXES:
                raise InputError(
                    Errors.E014.format(path=p, suffix=p.suffix), reason="unsupported", path=str(p)
                )
            candidates = [p]
        for c in candidates:
            # realpath, not Path.resolve(): it raises on a symlink loop, which read_letter
            # then reports as unreadable like any other file it cannot open
            found.setdefault(os.path.realpath(c), c)
    return sorted(found.values())


def _walk_letters(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if not name.startswith(".") and Path(name).suffix.lower() in LETTER_SUFFIXES:
                yield Path(root) / name


def input_root(paths: str | Path | Iterable[str | Path]) -> Path:
    """The common folder of the given files and folders (a file counts as its folder).

    paths (str | Path | Iterable[str | Path]): files and folders as given.
    RETURNS (Path): their deepest common folder (absolute).
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    folders = [os.path.abspath(p if Path(p).is_dir() else Path(p).parent) for p in paths]
    return Path(os.path.commonpath(folders)) if folders else Path.cwd()


def letter_ids(letters: Iterable[str | Path], root: str | Path) -> list[str]:
    """The ``doc_id`` of each letter of one run, unique within the run.

    The rule: a letter's id is its file stem (``a/letter.txt`` -> ``letter``).
    Where two or more letters of the run share a stem, each of them is named by
    its path relative to ``root`` (the common folder of the inputs,
    ``input_root``), "/"-separated and without the suffix (``a/letter`` and
    ``b/letter``); where even that is shared (``x.txt`` and ``x.pdf`` side by
    side), by the relative path with its suffix. Letters whose stem is unique
    keep their stem, so adding a file elsewhere renames only the letters it
    collides with.

    letters (Iterable): the letters' paths (as listed by ``iter_letter_paths``).
    root (str | Path): the common folder of the inputs.
    RETURNS (list[str]): one id per letter, in order.
    """
    paths = [Path(p) for p in letters]
    root = os.path.abspath(root)

    def rel(p: Path) -> str:
        r = os.path.relpath(os.path.abspath(p), root)
        return Path(r).as_posix()

    stems = Counter(p.stem for p in paths)
    ids = [
        p.stem if stems[p.stem] == 1 else str(Path(rel(p)).with_suffix("").as_posix())
        for p in paths
    ]
    counts = Counter(ids)
    return [i if counts[i] == 1 else rel(p) for i, p in zip(ids, paths, strict=True)]


# ---------------------------------------------------------------------------- writing


@contextmanager
def atomic_write(path: str | Path, *, mode: str = "w", encoding: str = "utf8") -> Iterator[IO[Any]]:
    """Write a file all at once: readers see the old file or the whole new one.

    Writes to ``.<name>.<random>.tmp`` in the same folder, flushes and fsyncs
    it, then ``os.replace``-s it onto ``path``. If the body raises, the
    temporary file is deleted and ``path`` is left untouched. The new file gets
    the permissions of the file it replaces, or the usual ones (0o666 less
    the umask) if there was none.

    path (str | Path): the target file.
    mode (str): "w" (text) or "wb" (bytes).
    encoding (str): the text encoding; ignored for "wb".
    YIELDS (IO): the open temporary file to write to.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write: mode must be 'w' or 'wb', not {mode!r}")
    path = Path(path)
    folder = path.parent
    fd, tmp = _create_temp(folder, path.name)
    try:
        if mode == "wb":
            f: IO[Any] = os.fdopen(fd, "wb")
        else:
            f = os.fdopen(fd, "w", encoding=encoding)
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        _copy_mode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(folder)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write bytes to a file atomically (see ``atomic_write``).

    path (str | Path): the target file.
    data (bytes): the content.
    """
    with atomic_write(path, mode="wb") as f:
        f.write(data)


def _create_temp(folder: Path, name: str) -> tuple[int, Path]:
    """Create ``folder/.<name>.<random>.tmp`` exclusively, with mode 0o666 less the umask."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = folder / f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"atomic_write: no free temporary name for {folder / name}")


def _copy_mode(target: Path, tmp: Path) -> None:
    """Give the new file the permissions of the file it replaces, if any."""
    try:
        mode = target.stat().st_mode & 0o7777
    except OSError:
        return
    os.chmod(tmp, mode)


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
