"""Coupon codes: made from a pattern with a CSPRNG, or read from a pool file bought elsewhere.

A pool file is named in a campaign file, which marketers write; the server reads it and gives
its lines away as codes. So a pool must be a file of the campaigns folder itself: a path that
is absolute, goes through a hidden file or folder (``..``, ``.env``, ``.git``) or, once its
symbolic links are followed, ends outside the folder, is refused before anything is read.
"""

from __future__ import annotations

import csv
import re
import secrets
from pathlib import Path, PurePosixPath, PureWindowsPath

# Letters and digits a shopper cannot confuse when typing: no O/0 and no I/1.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PLACEHOLDER = re.compile(r"\{code:(\d+)\}")
MAX_CODE = 128
"""The longest code the database keeps (``gamify_coupon.code``)."""


class PoolPathError(ValueError):
    """A pool path that leads outside the campaigns folder; the message says how."""


def make_code(pattern: str) -> str:
    """``BF10-{code:8}`` → ``BF10-K7Q2M9XA``."""
    return PLACEHOLDER.sub(lambda m: random_code(int(m.group(1))), pattern)


def random_code(length: int) -> str:
    """``length`` characters of :data:`ALPHABET` from one CSPRNG read: the 32 characters take 5 bits
    of a byte each, and 256 is a multiple of 32, so every letter is equally likely."""
    return "".join(ALPHABET[b & 31] for b in secrets.token_bytes(length))


def pool_path(folder: Path, name: str) -> Path:
    """The pool file ``name`` (relative to ``folder``), its symbolic links resolved.

    Raises :class:`PoolPathError` when the path is absolute, names a hidden file or folder
    (``..`` included), or resolves to somewhere outside ``folder``; nothing is opened either way.
    """
    if (
        not name
        or "\0" in name
        or PurePosixPath(name).is_absolute()
        or PureWindowsPath(name).anchor  # a drive, a share or a leading backslash
    ):
        raise PoolPathError("must be a path relative to the campaign file's folder")
    if any(part.startswith(".") and part != "." for part in re.split(r"[/\\]", name)):
        raise PoolPathError("cannot go through `..` or hidden files and folders")
    return _inside(folder, Path(name))


def _inside(folder: Path, name: Path) -> Path:
    """``folder / name`` resolved, if it stays in ``folder`` and out of hidden files."""
    try:
        root = folder.resolve()
        path = (root / name).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, say
        raise PoolPathError(f"cannot be resolved: {exc}") from None
    if not path.is_relative_to(root):
        raise PoolPathError("leads outside the campaign file's folder (through a symbolic link)")
    if any(part.startswith(".") for part in path.relative_to(root).parts):
        raise PoolPathError("leads to a hidden file or folder (through a symbolic link)")
    return path


def read_pool(path: Path, folder: Path | None = None) -> list[str]:
    """Codes of a pool CSV in file order: the first column of each non-empty row, header skipped.

    With ``folder``, the path is checked again (:func:`pool_path`) right before it is opened,
    so a symbolic link changed after the campaign was checked still cannot lead outside.
    """
    return [code for _, code in read_pool_lines(path, folder)]


def read_pool_lines(path: Path, folder: Path | None = None) -> list[tuple[int, str]]:
    """``(line number, code)`` of every code of a pool CSV, in file order (see :func:`read_pool`).

    Raises OSError, UnicodeDecodeError or csv.Error for a file that cannot be read as CSV, and
    :class:`PoolPathError` for a path outside ``folder``.
    """
    if folder is not None:
        path = _inside(folder, path)  # an absolute path is taken as it is, then checked
    codes: list[tuple[int, str]] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        start = 1  # the line a row starts on (a quoted code may span lines)
        for row in reader:
            if row and row[0].strip():
                codes.append((start, row[0].strip()))
            start = reader.line_num + 1
    if codes and codes[0][1].lower() == "code":
        codes = codes[1:]
    return codes
