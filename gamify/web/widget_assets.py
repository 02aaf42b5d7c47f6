"""The shopper's widget, served as one script: ``{prefix}/widget.js`` and ``/widget.<hash>.js``.

The widget is plain JavaScript in the top-level ``widgets/`` folder (see docs/widgets.md). A
storefront's first paint needs one script request and one API request, so the files are
bundled into one script, in a fixed order: ``widget.css`` as the string constant ``CSS``, then
``loader.js``, ``wheel.js`` and ``scratch.js``, all in one strict-mode function scope (the
games use the loader's helpers and register in its ``GAMES``).

The bundle is built once per process (restart the app after editing ``widgets/``), hashed
(its ``ETag``, and the name of its immutable URL) and gzipped once, at level 9:

- ``/widget.js`` is cached for 5 minutes, so a deploy reaches every shopper soon;
- ``/widget.<hash>.js`` is cached for a year (``immutable``): a new bundle has a new name, and
  any other hash is a 404 problem.

Both answer ``If-None-Match`` with 304, and send the gzip bytes to clients that accept them.
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
from dataclasses import dataclass
from functools import lru_cache
from importlib.abc import Traversable
from pathlib import Path

from flask import Response, request

from gamify import __version__
from gamify.errors import NotFound

#: The scripts in bundle order: the loader first (its helpers are used by the games).
SCRIPTS = ("loader.js", "wheel.js", "scratch.js")
STYLES = "widget.css"
PACKAGE = "gamify_widgets"
SOURCE_DIR = Path(__file__).resolve().parents[2] / "widgets"
MIMETYPE = "application/javascript"
CACHE_SHORT = "public, max-age=300"
CACHE_IMMUTABLE = "public, max-age=31536000, immutable"
DIGEST_LENGTH = 16

_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_CSS_SPACE = re.compile(r"\s+")
_CSS_PUNCTUATION = re.compile(r"\s*([{};])\s*")


@dataclass(frozen=True)
class Bundle:
    script: bytes
    gzipped: bytes
    digest: str  # hex, DIGEST_LENGTH characters of the script's SHA-256

    @property
    def filename(self) -> str:
        return f"widget.{self.digest}.js"


def widget_dir() -> Traversable:
    """The folder of the widget files: the installed ``gamify_widgets`` package, else the
    ``widgets/`` folder of this source checkout.

    The package's search locations are read rather than ``importlib.resources.files``: an
    editable install maps ``widgets/`` as a namespace package, which ``files`` cannot open.
    """
    spec = importlib.util.find_spec(PACKAGE)
    locations = [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    for folder in (*locations, SOURCE_DIR):
        if (folder / SCRIPTS[0]).is_file():
            return folder
    return SOURCE_DIR


def minify_css(css: str) -> str:
    """Comments and layout whitespace out (the stylesheet has no strings or `content:`)."""
    css = _CSS_SPACE.sub(" ", _CSS_COMMENT.sub("", css))
    return _CSS_PUNCTUATION.sub(r"\1", css).strip()


def build_bundle(folder: Traversable) -> Bundle:
    css = minify_css(folder.joinpath(STYLES).read_text(encoding="utf-8"))
    parts = [
        f"/*! gamify {__version__} widget | MIT | loader, wheel, scratch, styles */",
        "(() => {",
        '"use strict";',
        f"const CSS = {json.dumps(css)};",
    ]
    for name in SCRIPTS:
        parts += [f"// ---- {name}", folder.joinpath(name).read_text(encoding="utf-8").strip()]
    parts.append("})();\n")
    script = "\n".join(parts).encode("utf-8")
    return Bundle(
        script=script,
        gzipped=gzip.compress(script, compresslevel=9, mtime=0),
        digest=hashlib.sha256(script).hexdigest()[:DIGEST_LENGTH],
    )


@lru_cache(maxsize=1)
def bundle() -> Bundle:
    """The bundle of this process, built on first use."""
    return build_bundle(widget_dir())


def serve(digest: str | None = None) -> Response:
    """The bundle for ``/widget.js`` (``digest`` None) or ``/widget.<digest>.js``."""
    current = bundle()
    if digest is not None and digest != current.digest:
        raise NotFound(
            f"there is no widget script {digest!r}: the current one is {current.filename}"
        )
    gzipped = request.accept_encodings["gzip"] > 0
    etag = f"{current.digest}-gzip" if gzipped else current.digest
    if request.if_none_match.contains_weak(etag):
        response = Response(status=304)
    else:
        response = Response(current.gzipped if gzipped else current.script, mimetype=MIMETYPE)
        if gzipped:
            response.headers["Content-Encoding"] = "gzip"
    response.set_etag(etag)
    response.vary.add("Accept-Encoding")
    response.headers["Cache-Control"] = CACHE_SHORT if digest is None else CACHE_IMMUTABLE
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
