"""The shopper's widget: a small loader at ``{prefix}/widget.js``, and modules at
``{prefix}/widgets/<name>.<hash>.js`` that the loader fetches when a page needs them.

The widget is plain JavaScript in the top-level ``widgets/`` folder (see docs/widgets.md), one
self-contained file each, with no build step: ``loader.js``, and the modules ``frame.js``
(what is around every game: the inline panel or the floating button and its dialog, messages,
results), ``wheel.js`` and ``scratch.js`` (the games), ``challenge.js`` (the card of a challenge:
steps, progress, quiz, reward), ``loyalty.js`` (the loyalty card: points, tier, rewards) and
``verify.js`` (the "Verify this draw" panel), ``guest.js`` (the form of a guest's first
play: email, marketing consent, age), ``quiz.js`` (the form of a challenge's quiz, which the
card loads when the shopper first opens it) and ``trigger.js`` (a floating dialog that opens
by itself: data-trigger). Each module registers itself with the loader
(``gamify.register(name, module)``) and carries its own texts and styles. A page loads the
loader, the frame and the module of its campaign's game only, so a new game or panel does not
make every page heavier.

The files are read once per process (restart the app after editing ``widgets/``), lightly
minified (:func:`minify_js`: comments and indentation out, line breaks kept), hashed and
gzipped once, at level 9. The loader's copy has the current modules' hashes written in (the
line ``const MODULES = {};``), so its own hash changes whenever a module does:

- ``/widget.js`` is cached for 5 minutes, so a deploy reaches every shopper soon;
- ``/widget.<hash>.js`` is the same loader, cached for a year (``immutable``); any other hash
  is a 404 problem;
- ``/widgets/<name>.<hash>.js`` is a module, cached for a year (``immutable``). A loader of
  another deploy (cached for up to 5 minutes, or from a server not yet updated) may ask for a
  hash that this server does not have: it is redirected (307, never cached) to the current one.

All answer ``If-None-Match`` with 304, and send the gzip bytes to clients that accept them.
A strong ETag names one representation, so the gzip one is ``"<hash>-gzip"``.

In a wheel the files are the ``gamify_widgets`` package (pyproject.toml maps ``widgets/`` to
it); in a source checkout they are read from ``widgets/`` directly.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib.abc import Traversable
from pathlib import Path
from types import MappingProxyType

from flask import Response, request

from gamify.core.errors import NotFound
from gamify.core.version import __version__

LOADER = "loader.js"
#: The modules the loader may load, each from ``widgets/<name>.js``: the frame, the games
#: (named as the campaigns' ``game``) and the panels.
MODULES = (
    "frame",
    "wheel",
    "scratch",
    "challenge",
    "loyalty",
    "verify",
    "guest",
    "quiz",
    "trigger",
)
#: The line of loader.js where the server writes the modules' hashes.
MANIFEST = "const MODULES = {};"
PACKAGE = "gamify_widgets"
SOURCE_DIR = Path(__file__).resolve().parents[2] / "widgets"
MIMETYPE = "application/javascript"
CACHE_SHORT = "public, max-age=300"
CACHE_IMMUTABLE = "public, max-age=31536000, immutable"
DIGEST_LENGTH = 16
DIGEST = re.compile(rf"[0-9a-f]{{{DIGEST_LENGTH}}}")


@dataclass(frozen=True)
class Asset:
    """One served script: its bytes, gzipped once, and its content hash."""

    name: str  # "loader", or a module's name
    script: bytes
    gzipped: bytes
    digest: str  # hex, DIGEST_LENGTH characters of the script's SHA-256

    @property
    def filename(self) -> str:
        """Its immutable address, relative to the prefix."""
        if self.name == "loader":
            return f"widget.{self.digest}.js"
        return f"widgets/{self.name}.{self.digest}.js"


@dataclass(frozen=True)
class Assets:
    loader: Asset
    modules: Mapping[str, Asset]


def widget_dir() -> Traversable:
    """The folder of the widget files: the installed ``gamify_widgets`` package, else the
    ``widgets/`` folder of this source checkout.

    The package's search locations are read rather than ``importlib.resources.files``: an
    editable install maps ``widgets/`` as a namespace package, which ``files`` cannot open.
    """
    spec = importlib.util.find_spec(PACKAGE)
    locations = [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    for folder in (*locations, SOURCE_DIR):
        if (folder / LOADER).is_file():
            return folder
    return SOURCE_DIR


# -- minifying --------------------------------------------------------------------------------

# After one of these characters (or at the start) a `/` begins a regular expression, not a
# division; `)` and `]` end an operand, so a `/` after them divides.
_REGEX_AFTER_CHARS = frozenset(["", *"(,=:[!&|?{};+-*%<>~^"])
_REGEX_AFTER_WORDS = frozenset(
    {"return", "typeof", "case", "do", "else", "in", "of", "new", "delete", "void", "throw"}
    | {"instanceof", "yield", "await"}
)
_WORD = re.compile(r"[\w$]+")


def minify_js(source: str) -> str:
    """``source`` without comments (but ``/*! … */`` ones) and layout whitespace.

    A small tokenizer, enough for the widget's own files: it copies strings, template literals
    (with their ``${…}``, to any depth) and regular expressions verbatim, drops comments, the
    indentation and blank lines, and turns each run of spaces into one. Line breaks stay, so
    automatic semicolon insertion reads the code as before. tests/web/test_widget_assets.py checks
    that each file and its minified copy have the same tokens (espree, ESLint's parser).
    """
    out: list[str] = []
    i, n = 0, len(source)
    last = ""  # the last significant token, to tell a regular expression from a division
    templates: list[int] = []  # brace depth at each open `${`, innermost last

    def emit_space(char: str) -> None:
        if char == "\n":
            while out and out[-1] == " ":
                out.pop()
            if out and out[-1] != "\n":
                out.append("\n")
        elif out and out[-1] not in (" ", "\n"):
            out.append(" ")

    def template(start: int) -> int:
        """Copies a template literal's text from ``start`` (after the backtick or ``}``) up to
        its end or its next ``${``; returns the index after it."""
        j = start
        while j < n:
            if source[j] == "\\":
                j += 2
            elif source[j] == "`":
                out.append(source[start : j + 1])
                return j + 1
            elif source.startswith("${", j):
                out.append(source[start : j + 2])
                templates.append(0)
                return j + 2
            else:
                j += 1
        raise ValueError("unterminated template literal")

    while i < n:
        char = source[i]
        if char in " \t\r\n":
            emit_space("\n" if char == "\n" else " ")
            i += 1
        elif source.startswith("//", i):
            end = source.find("\n", i)
            i = n if end < 0 else end
        elif source.startswith("/*", i):
            end = source.find("*/", i + 2)
            if end < 0:
                raise ValueError("unterminated comment")
            comment = source[i : end + 2]
            if comment.startswith("/*!"):
                out.append(comment)
            else:
                emit_space("\n" if "\n" in comment else " ")
            i = end + 2
        elif char in "'\"":
            j = i + 1
            while j < n and source[j] != char:
                if source[j] == "\n":
                    break
                j += 2 if source[j] == "\\" else 1
            if j >= n or source[j] != char:
                raise ValueError("unterminated string")
            out.append(source[i : j + 1])
            last = char
            i = j + 1
        elif char == "`":
            out.append("`")
            i = template(i + 1)
            last = "`"
        elif char == "/" and (last in _REGEX_AFTER_CHARS or last in _REGEX_AFTER_WORDS):
            j, in_class = i + 1, False
            while True:
                if j >= n or source[j] == "\n":
                    raise ValueError("unterminated regular expression")
                if source[j] == "\\":
                    j += 2
                    continue
                if source[j] == "/" and not in_class:
                    break
                if source[j] in "[]":
                    in_class = source[j] == "["
                j += 1
            flags = _WORD.match(source, j + 1)
            end = flags.end() if flags else j + 1
            out.append(source[i:end])
            last = "/"  # a regular expression is an operand
            i = end
        elif char == "{":
            if templates:
                templates[-1] += 1
            out.append(char)
            last = char
            i += 1
        elif char == "}":
            if templates and templates[-1] == 0:
                templates.pop()
                out.append("}")
                i = template(i + 1)
                last = "`"
            else:
                if templates:
                    templates[-1] -= 1
                out.append(char)
                last = char
                i += 1
        else:
            word = _WORD.match(source, i)
            if word:
                out.append(word.group())
                last = word.group()
                i = word.end()
            else:
                out.append(char)
                last = char
                i += 1
    if templates:
        raise ValueError("unterminated template literal")
    return "".join(out).strip() + "\n"


# -- building ---------------------------------------------------------------------------------


def _asset(name: str, source: str, what: str) -> Asset:
    header = f"/*! gamify {__version__} {what} | MIT */\n"
    script = (header + minify_js(source)).encode("utf-8")
    return Asset(
        name=name,
        script=script,
        gzipped=gzip.compress(script, compresslevel=9, mtime=0),
        digest=hashlib.sha256(script).hexdigest()[:DIGEST_LENGTH],
    )


def build_assets(folder: Traversable) -> Assets:
    """The loader and the modules, as served, from the files in ``folder``."""
    modules = {
        name: _asset(name, folder.joinpath(f"{name}.js").read_text(encoding="utf-8"), name)
        for name in MODULES
    }
    loader = folder.joinpath(LOADER).read_text(encoding="utf-8")
    if loader.count(MANIFEST) != 1:
        raise ValueError(f"{LOADER} must have the line {MANIFEST!r} once")
    hashes = json.dumps({name: module.digest for name, module in modules.items()})
    loader = loader.replace(MANIFEST, f"const MODULES = {hashes};")
    return Assets(
        loader=_asset("loader", loader, "widget loader"),
        modules=MappingProxyType(modules),
    )


@lru_cache(maxsize=1)
def assets() -> Assets:
    """The widget of this process, built on first use."""
    return build_assets(widget_dir())


def bundle() -> Asset:
    """The loader of this process: the script at ``/widget.js``."""
    return assets().loader


def module(name: str) -> Asset:
    """The module ``name`` of this process; a 404 problem when there is none."""
    found = assets().modules.get(name)
    if found is None:
        raise NotFound(f"there is no widget module {name!r}: there are {', '.join(MODULES)}")
    return found


# -- serving ----------------------------------------------------------------------------------


def _send(asset: Asset, cache: str) -> Response:
    gzipped = request.accept_encodings["gzip"] > 0
    etag = f"{asset.digest}-gzip" if gzipped else asset.digest
    if request.if_none_match.contains_weak(etag):
        response = Response(status=304)
    else:
        response = Response(asset.gzipped if gzipped else asset.script, mimetype=MIMETYPE)
        if gzipped:
            response.headers["Content-Encoding"] = "gzip"
    response.set_etag(etag)
    response.vary.add("Accept-Encoding")
    response.headers["Cache-Control"] = cache
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def serve(digest: str | None = None) -> Response:
    """The loader for ``/widget.js`` (``digest`` None) or ``/widget.<digest>.js``."""
    current = bundle()
    if digest is not None and digest != current.digest:
        raise NotFound(
            f"there is no widget script {digest!r}: the current one is {current.filename}"
        )
    return _send(current, CACHE_SHORT if digest is None else CACHE_IMMUTABLE)


def serve_module(name: str, digest: str) -> Response:
    """The module ``name`` for ``/widgets/<name>.<digest>.js``.

    The current hash is served for a year; another well-formed one (a loader of an earlier
    or later deploy) is redirected to the current module, uncached; anything else is a 404.
    """
    current = module(name)
    if digest == current.digest:
        return _send(current, CACHE_IMMUTABLE)
    if not DIGEST.fullmatch(digest):
        raise NotFound(
            f"there is no widget module {name}.{digest}.js: the current one is {current.filename}"
        )
    response = Response(status=307)
    del response.headers["Content-Type"]
    # relative to this URL, so it holds under any prefix or mount point
    response.headers["Location"] = f"{name}.{current.digest}.js"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
