"""The widget as the server ships it: the loader at ``{prefix}/widget.js`` (and under its content
hash), the modules at ``{prefix}/widgets/<name>.<hash>.js``, gzip, ETags and caching, their
weight, their syntax, how each module registers itself, and their place in the wheel.

What the widget does in a browser (wheel, scratch card, dialog, errors, CSP) is for the browser
tests; these need no browser, some need node. Responses through the ``client`` fixture are also
checked against /openapi.json (tests/api_support.py).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
from api_support import PREFIX
from flask import Flask, render_template_string
from flask.testing import FlaskClient

from gamify.web import widget_assets
from gamify.web.widget_assets import LOADER, MANIFEST, MODULES, assets, bundle, minify_js, module

ROOT = Path(__file__).resolve().parents[2]
WIDGETS = ROOT / "widgets"
URL = f"{PREFIX}/widget.js"
GAMES = ("wheel", "scratch")
CHALLENGE = "challenge"  # a challenge's card: steps, progress, quiz, reward (no draw to verify)
LOYALTY = "loyalty"  # the loyalty card: points, tier, rewards (data-campaign="loyalty")
FRAME = "frame"
GUEST = "guest"  # the form of a guest's first play, loaded then
QUIZ = "quiz"  # the form of a challenge's quiz, loaded when the shopper first opens one
LOADER_BUDGET = 4 * 1024  # bytes of gzip -9 for the loader, as served
PAGE_BUDGET = 12 * 1024  # for every page: with one game, loader, frame, the game (styles are in
# them; with a display trigger, trigger.js too); with one challenge's card, loader, frame,
# challenge (its quiz's form is on demand); with the loyalty card, loader, frame, loyalty
TRIGGER = "trigger"  # a floating dialog that opens by itself: loaded for data-trigger tags only
PANEL_BUDGET = 6 * 1024  # the verify panel, loaded when a shopper opens it: its Web Crypto checks
GUEST_BUDGET = 3 * 1024  # the guest form, loaded when a shopper without an account first plays
QUIZ_BUDGET = 3 * 1024  # the quiz's form, loaded when a shopper first presses "Take the quiz"
ON_CI = os.environ.get("CI", "").lower() == "true"


def skip_or_fail(reason: str) -> None:
    """Skip with the reason on a developer's machine; never skip silently under CI."""
    if ON_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["code"] == code and body["status"] == status
    return body


def etag(response: Any) -> str:
    return str(response.headers["ETag"])


def module_url(name: str) -> str:
    return f"{PREFIX}/{module(name).filename}"


# -- serving the loader -----------------------------------------------------------------------


def test_widget_js_is_the_loader_cached_for_five_minutes(client: FlaskClient) -> None:
    response = client.get(URL)
    assert response.status_code == 200
    assert response.mimetype == "application/javascript"
    assert response.mimetype_params.get("charset") == "utf-8"
    assert "Content-Encoding" not in response.headers
    assert response.data == bundle().script
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert etag(response) == f'"{bundle().digest}"'
    assert "Accept-Encoding" in response.vary
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # the tag that gamify_widget renders points here
    with client.application.test_request_context("/"):
        tag = render_template_string("{{ gamify_widget('any') }}")
    assert f'src="{URL}"' in tag
    # the loader alone: the games and the panels are modules of their own
    text = response.get_data(as_text=True)
    assert "gamify.register" not in text and "getContext" not in text


def test_gzip_only_when_the_client_accepts_it(client: FlaskClient) -> None:
    for url, asset in ((URL, bundle()), *((module_url(n), module(n)) for n in MODULES)):
        identity = client.get(url).data
        assert identity == asset.script
        for accept in ("gzip", "gzip, deflate, br", "br;q=1.0, gzip;q=0.8", "*"):
            response = client.get(url, headers={"Accept-Encoding": accept})
            assert response.headers["Content-Encoding"] == "gzip", (url, accept)
            assert response.data == asset.gzipped
            assert gzip.decompress(response.data) == identity
            assert etag(response) == f'"{asset.digest}-gzip"'
            assert int(response.headers["Content-Length"]) == len(response.data)
        for accept in ("identity", "deflate, br", "gzip;q=0", ""):
            response = client.get(url, headers={"Accept-Encoding": accept})
            assert "Content-Encoding" not in response.headers, (url, accept)
            assert response.data == identity


def test_a_matching_if_none_match_is_a_304(client: FlaskClient) -> None:
    for url, cache in (
        (URL, "public, max-age=300"),
        (module_url("wheel"), "public, max-age=31536000, immutable"),
    ):
        plain = client.get(url)
        zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
        for headers, tag in (
            ({"If-None-Match": etag(plain)}, etag(plain)),
            ({"If-None-Match": f'"other", {etag(plain)}'}, etag(plain)),
            ({"If-None-Match": f"W/{etag(plain)}"}, etag(plain)),
            ({"If-None-Match": "*"}, etag(plain)),
            ({"If-None-Match": etag(zipped), "Accept-Encoding": "gzip"}, etag(zipped)),
        ):
            response = client.get(url, headers=headers)
            assert response.status_code == 304, (url, headers)
            assert response.data == b""
            assert etag(response) == tag
            assert response.headers["Cache-Control"] == cache
        # a stale tag, or the tag of the other encoding, gets the whole script
        for headers in (
            {"If-None-Match": '"0123456789abcdef"'},
            {"If-None-Match": etag(zipped)},
            {"If-None-Match": etag(plain), "Accept-Encoding": "gzip"},
        ):
            assert client.get(url, headers=headers).status_code == 200, (url, headers)


def test_the_hashed_loader_is_immutable_and_only_the_current_hash_exists(
    client: FlaskClient,
) -> None:
    digest = bundle().digest
    assert re.fullmatch(r"[0-9a-f]{16}", digest)
    assert digest == hashlib.sha256(bundle().script).hexdigest()[:16]
    assert bundle().filename == f"widget.{digest}.js"
    pinned = client.get(f"{PREFIX}/{bundle().filename}")
    assert pinned.status_code == 200 and pinned.mimetype == "application/javascript"
    assert pinned.data == client.get(URL).data
    assert pinned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert etag(pinned) == f'"{digest}"'
    zipped = client.get(f"{PREFIX}/{bundle().filename}", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    again = client.get(f"{PREFIX}/{bundle().filename}", headers={"If-None-Match": etag(pinned)})
    assert again.status_code == 304
    assert again.headers["Cache-Control"] == "public, max-age=31536000, immutable"

    for wrong in ("0" * 16, digest[:-1], digest.upper(), f"{digest}.min", "x"):
        body = problem(client.get(f"{PREFIX}/widget.{wrong}.js"), 404, "not_found")
        assert bundle().filename in body["detail"]
    assert client.head(URL).status_code == 200


# -- serving the modules ----------------------------------------------------------------------


def test_each_module_is_served_under_its_hash_for_a_year(client: FlaskClient) -> None:
    assert (
        set(assets().modules)
        == set(MODULES)
        == {FRAME, *GAMES, CHALLENGE, LOYALTY, "verify", GUEST, QUIZ, TRIGGER}
    )
    for name in MODULES:
        asset = module(name)
        assert re.fullmatch(r"[0-9a-f]{16}", asset.digest)
        assert asset.digest == hashlib.sha256(asset.script).hexdigest()[:16]
        assert asset.filename == f"widgets/{name}.{asset.digest}.js"
        response = client.get(module_url(name))
        assert response.status_code == 200, name
        assert response.mimetype == "application/javascript"
        assert response.data == asset.script
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert etag(response) == f'"{asset.digest}"'
        assert f'"{name}"' in response.get_data(as_text=True)  # gamify.register("<name>", …)
        assert client.head(module_url(name)).status_code == 200
    assert len({module(name).digest for name in MODULES}) == len(MODULES)


def test_another_hash_of_a_module_is_redirected_to_the_current_one(client: FlaskClient) -> None:
    """A loader of another deploy (cached for 5 minutes) still gets a module that exists."""
    for name in MODULES:
        current = module(name)
        for stale in ("0" * 16, bundle().digest, "abcdef0123456789"):
            response = client.get(f"{PREFIX}/widgets/{name}.{stale}.js")
            assert response.status_code == 307, (name, stale)
            assert response.headers["Location"] == f"{name}.{current.digest}.js"
            assert response.headers["Cache-Control"] == "no-store"
            assert response.data == b""
            # relative to the URL asked, it is the current module's
            followed = client.get(f"{PREFIX}/widgets/{response.headers['Location']}")
            assert followed.status_code == 200 and followed.data == current.script
        for wrong in (current.digest.upper(), current.digest[:-1], f"{current.digest}0", "x"):
            body = problem(client.get(f"{PREFIX}/widgets/{name}.{wrong}.js"), 404, "not_found")
            assert current.filename in body["detail"]
    # a module that does not exist is not a route at all
    problem(client.get(f"{PREFIX}/widgets/nope.{'0' * 16}.js"), 404, "not_found")
    problem(client.get(f"{PREFIX}/widgets/{LOADER}"), 404, "not_found")


def test_another_prefix_serves_the_widget_there(tmp_path: Path, campaigns_dir: Path) -> None:
    from api_support import checked_client, make_app

    from gamify.web.state import state

    app: Flask = make_app(tmp_path / "promo", campaigns_dir, GAMIFY_URL_PREFIX="/promo")
    client, _ = checked_client(app)
    assert client.get("/promo/widget.js").data == bundle().script
    assert client.get(f"/promo/{module('wheel').filename}").data == module("wheel").script
    assert client.get(URL).status_code == 404
    state(app).engine.dispose()


# -- building ---------------------------------------------------------------------------------


def test_the_widget_is_built_once_per_process_and_alike_on_every_server() -> None:
    assert assets() is assets() and bundle() is assets().loader
    for asset in (bundle(), *assets().modules.values()):
        text = asset.script.decode("utf-8")
        assert text.startswith("/*! gamify ") and text.rstrip().endswith("})();"), asset.name
    # built again from the same files, it is the same bytes (so the same hashes everywhere)
    assert widget_assets.build_assets(widget_assets.widget_dir()) == assets()


def test_the_loader_names_each_module_by_its_current_hash(tmp_path: Path) -> None:
    loader = bundle().script.decode("utf-8")
    assert MANIFEST in (WIDGETS / LOADER).read_text(encoding="utf-8")
    assert MANIFEST not in loader
    [written] = re.findall(r"const MODULES = (\{.*?\});", loader)
    assert json.loads(written) == {name: module(name).digest for name in MODULES}

    # a module changes: its hash, and so the loader's, change; the other modules' do not
    folder = tmp_path / "widgets"
    shutil.copytree(WIDGETS, folder)
    wheel = folder / "wheel.js"
    wheel.write_text(wheel.read_text(encoding="utf-8").replace("turns: 5", "turns: 6"), "utf-8")
    changed = widget_assets.build_assets(folder)
    assert changed.modules["wheel"].digest != module("wheel").digest
    assert changed.loader.digest != bundle().digest
    assert changed.modules["scratch"] == module("scratch")
    assert changed.modules["wheel"].digest in changed.loader.script.decode("utf-8")

    # a loader.js without its manifest line is refused, not served with no modules
    (folder / LOADER).write_text("(() => {})();\n", encoding="utf-8")
    with pytest.raises(ValueError, match="MODULES"):
        widget_assets.build_assets(folder)


def test_the_minifier_keeps_code_and_drops_comments_and_layout() -> None:
    cases = {
        "a = 1; // one\n\n    b = 2;\n": "a = 1;\nb = 2;\n",
        "x = '// no comment'; /* gone */ y = \"/* kept */\";": (
            "x = '// no comment'; y = \"/* kept */\";\n"
        ),
        "r = /\\/\\/[/*]+/g.test(s); // after": "r = /\\/\\/[/*]+/g.test(s);\n",
        "d = a / b / (c) / 2;": "d = a / b / (c) / 2;\n",
        "return /\\{(\\w+)\\}/g;": "return /\\{(\\w+)\\}/g;\n",
        "t = `a  // ${`b ${ {c: '}'}.c } /* x */`}\n  z`;": (
            "t = `a  // ${`b ${ {c: '}'}.c } /* x */`}\n  z`;\n"
        ),
        "/*! licence */\n(() => {\n  /* a\n   * b */\n  f();\n})();": (
            "/*! licence */\n(() => {\nf();\n})();\n"
        ),
        "a = b\n/* ASI */\n(c)": "a = b\n(c)\n",
        "if (x) y = 'it\\'s'": "if (x) y = 'it\\'s'\n",
    }
    for source, minified in cases.items():
        assert minify_js(source) == minified, source
    for broken in ("'open", "`open ${", "/* open", "x = /open\n"):
        with pytest.raises(ValueError):
            minify_js(broken)


def test_loader_and_page_weights_stay_within_budget(capsys: pytest.CaptureFixture[str]) -> None:
    """Measured on the served gzip bytes: the loader alone, a page with one game, a page with
    one challenge's card, and a page with the loyalty card."""
    loader = len(bundle().gzipped)
    sizes = {name: len(module(name).gzipped) for name in MODULES}
    pages = {game: loader + sizes[FRAME] + sizes[game] for game in (*GAMES, CHALLENGE, LOYALTY)}
    lines = [
        f"widget weight, served gzip -9 (budgets: loader {LOADER_BUDGET}, page {PAGE_BUDGET}, "
        f"verify panel {PANEL_BUDGET}, guest form {GUEST_BUDGET}, quiz form {QUIZ_BUDGET}):",
        f"  {'loader (/widget.js)':<28} {loader:6} bytes",
        *(f"  {'module ' + name:<28} {size:6} bytes" for name, size in sizes.items()),
        *(
            f"  {'page with the ' + game:<28} {pages[game]:6} bytes (loader + {FRAME} + {game}); "
            f"{pages[game] + sizes[TRIGGER]} with a display trigger; on demand: "
            f"+{sizes['verify']} the verify panel, +{sizes[GUEST]} a guest's form"
            for game in GAMES
        ),
        f"  {'page with a challenge card':<28} {pages[CHALLENGE]:6} bytes "
        f"(loader + {FRAME} + {CHALLENGE}); on demand: +{sizes[QUIZ]} the quiz's form",
        f"  {'page with the loyalty card':<28} {pages[LOYALTY]:6} bytes "
        f"(loader + {FRAME} + {LOYALTY})",
    ]
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert loader <= LOADER_BUDGET
    for game in GAMES:
        assert pages[game] + sizes[TRIGGER] <= PAGE_BUDGET, game  # a popup wheel, all included
    assert sizes["verify"] <= PANEL_BUDGET  # on demand: not part of any page's download
    assert sizes[GUEST] <= GUEST_BUDGET  # on demand too: a guest's first play only
    assert sizes[QUIZ] <= QUIZ_BUDGET  # on demand too: when a shopper first opens a quiz
    assert pages[CHALLENGE] <= PAGE_BUDGET  # a challenge has no draw: no verify panel
    assert pages[LOYALTY] <= PAGE_BUDGET  # nor has the loyalty card


# -- the files --------------------------------------------------------------------------------


def sources() -> dict[str, str]:
    """Each file of widgets/ by name (loader, frame, wheel, …)."""
    names = {"loader": LOADER, **{name: f"{name}.js" for name in MODULES}}
    return {name: (WIDGETS / file).read_text(encoding="utf-8") for name, file in names.items()}


def served() -> dict[str, str]:
    return {
        "loader": bundle().script.decode(),
        **{name: module(name).script.decode() for name in MODULES},
    }


def test_the_widget_folder_holds_the_loader_and_the_modules_only() -> None:
    files = {p.name for p in WIDGETS.iterdir() if p.is_file()}
    assert files == {LOADER, *(f"{name}.js" for name in MODULES)}


def test_no_markup_is_parsed_from_strings_and_nothing_inline_needs_unsafe_inline() -> None:
    for name, text in {**sources(), **{f"{k} (served)": v for k, v in served().items()}}.items():
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in text, f"{name} uses {sink}"
        assert not re.search(r"new\s+Function\b|setTimeout\(\s*[\"'`]", text), name
    # styles: constructable stylesheets only, never a <style> or a style attribute (the code
    # as served: the comments are out)
    for name, text in served().items():
        for inline in ('"style"', "'style'", "<style", ".cssText", 'setAttribute("on'):
            assert inline not in text, f"{name} has {inline}"
    loader = sources()["loader"]
    assert "new CSSStyleSheet()" in loader and "adoptedStyleSheets" in loader
    assert "replaceSync" in loader


def node() -> str:
    found = shutil.which("node")
    if found is None:
        skip_or_fail("node is not installed (apt-get install nodejs)")
    assert found is not None
    return found


def run_node(tmp_path: Path, script: str, *args: str) -> Any:
    probe = tmp_path / "probe.cjs"
    probe.write_text(script, encoding="utf-8")
    run = subprocess.run(
        [node(), str(probe), *args], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def write_served(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name, text in served().items():
        paths[name] = tmp_path / f"{name}.served.js"
        paths[name].write_text(text, encoding="utf-8")
    return paths


def test_node_check_passes_on_each_file_and_each_served_script(tmp_path: Path) -> None:
    runtime = node()
    files = [WIDGETS / LOADER, *(WIDGETS / f"{n}.js" for n in MODULES)]
    for path in (*files, *write_served(tmp_path).values()):
        checked = subprocess.run(
            [runtime, "--check", str(path)], capture_output=True, text=True, timeout=60
        )
        assert checked.returncode == 0, f"{path.name}: {checked.stderr}"


TOKENS = """
const fs = require("fs");
let espree;
try {
  espree = require(require("path").resolve("node_modules/espree"));
} catch {
  console.log(JSON.stringify(null));
  process.exit(0);
}
// each token, and whether a line break comes before it (what automatic semicolons read)
const tokens = (file) => {
  let line = 0;
  return espree
    .tokenize(fs.readFileSync(file, "utf8"), { ecmaVersion: "latest", loc: true })
    .map((t) => {
      const broken = t.loc.start.line > line;
      line = t.loc.end.line;
      return [t.type, t.value, broken];
    });
};
const out = {};
for (let i = 2; i < process.argv.length; i += 2) {
  out[process.argv[i]] = [tokens(process.argv[i]), tokens(process.argv[i + 1])];
}
console.log(JSON.stringify(out));
"""


def test_the_served_scripts_have_the_tokens_of_the_files(tmp_path: Path) -> None:
    """The light minifier drops comments and layout only: the same tokens, and a line break
    between the same ones (espree, ESLint's parser, from node_modules)."""
    args = []
    for name, path in write_served(tmp_path).items():
        source = WIDGETS / (LOADER if name == "loader" else f"{name}.js")
        if name == "loader":  # compared with its manifest written in, as the server does
            manifest = re.search(r"const MODULES = \{.*?\};", path.read_text("utf-8"))
            assert manifest is not None
            text = source.read_text("utf-8").replace(MANIFEST, manifest.group())
            source = tmp_path / "loader.source.js"
            source.write_text(text, "utf-8")
        args += [str(source), str(path)]
    compared = run_node(tmp_path, TOKENS, *args)
    if compared is None:
        skip_or_fail("no node_modules/espree: run `npm ci` (make lint does)")
    for file, (original, minified) in compared.items():
        assert len(original) > 100 and original == minified, file


REGISTER = """
const fs = require("fs");
const vm = require("vm");
const out = {};
for (const file of process.argv.slice(2)) {
  const registered = [];
  const window = { gamify: { register: (name, module) => registered.push([name, module]) } };
  // no document: a module touches the page only when create() is called
  const context = vm.createContext({ window });
  vm.runInContext(fs.readFileSync(file, "utf8"), context, { filename: file });
  const leaked = vm.runInContext(
    "['STRINGS', 'CSS', 'DEFAULTS', 'h', 'create', 'english', 'MESSAGES', 'i18n']" +
      ".filter((n) => { try { eval(n); return true; } catch { return false; } })",
    context,
  );
  out[file] = {
    globals: Object.keys(context).filter((k) => k !== "window").concat(leaked),
    modules: registered.map(([name, m]) => ({
      name,
      keys: Object.keys(m).sort(),
      frozen: Object.isFrozen(m),
      defaults: Object.isFrozen(m.DEFAULTS),
      create: typeof m.create,
      css: m.CSS,
      strings: m.STRINGS,
    })),
  };
}
console.log(JSON.stringify(out));
"""


def registrations(tmp_path: Path) -> dict[str, dict[str, Any]]:
    """What each served module registers when it runs, by module name."""
    paths = {n: p for n, p in write_served(tmp_path).items() if n != "loader"}
    found = run_node(tmp_path, REGISTER, *map(str, paths.values()))
    return {name: found[str(path)] for name, path in paths.items()}


def test_each_module_registers_itself_and_defines_no_global(tmp_path: Path) -> None:
    for name, found in registrations(tmp_path).items():
        assert found["globals"] == [], name
        [registered] = found["modules"]
        assert registered["name"] == name
        # the frame's helpers, for the card too; the verify panel's checks, for an auditor
        shared = {"frame": ["copyCode", "h"], "verify": ["check"]}.get(name, [])
        assert registered["keys"] == sorted(["CSS", "DEFAULTS", "STRINGS", "create", *shared]), name
        assert registered["frozen"] and registered["defaults"], name
        assert registered["create"] == "function"
        if name == TRIGGER:  # it shows nothing: it opens the frame's dialog
            assert registered["css"] == "" and registered["strings"] == {"en": {}, "es": {}}
        else:
            assert registered["css"].strip(), name


LOADER_RUN = """
const fs = require("fs");
const vm = require("vm");
const [loader, ...modules] = process.argv.slice(2);
const created = [];
const src = "https://shop.example/store/gamify/widget.js";
const document = {
  currentScript: { src, nonce: "n0nce", dataset: {} },
  readyState: "complete",
  documentElement: { lang: "es" },
  querySelectorAll: () => [],
  addEventListener() {},
  // a module's <script>: appending it runs the module's file, then fires "load"
  createElement: (tag) => {
    const el = { tag, on: {}, addEventListener(type, f) { this.on[type] = f; }, remove() {} };
    created.push(el);
    return el;
  },
  head: {
    append(el) {
      const name = el.src.match(/\\/widgets\\/(\\w+)\\./)[1];
      const file = modules.find((f) => f.endsWith(`/${name}.served.js`));
      vm.runInContext(fs.readFileSync(file, "utf8"), context);
      el.on.load();
    },
  },
};
const window = {};
const context = vm.createContext({ window, document, navigator: { language: "en" } });
vm.runInContext(fs.readFileSync(loader, "utf8"), context, { filename: loader });
const api = window.gamify;
const before = Object.keys(api).sort();
Promise.all([api.load("wheel"), api.load("verify"), api.load("wheel")]).then(([wheel]) => {
  console.log(JSON.stringify({
    globals: Object.keys(context).filter((k) => !["window", "document", "navigator"].includes(k)),
    api: before,
    after: Object.keys(api).sort(),
    same: api.wheel === wheel,
    scripts: created.filter((el) => el.tag === "script").map((el) => [el.src, el.nonce]),
  }));
});
"""


def test_the_loader_loads_a_module_once_next_to_itself_with_its_nonce(tmp_path: Path) -> None:
    paths = write_served(tmp_path)
    others = [str(p) for n, p in paths.items() if n != "loader"]
    run = run_node(tmp_path, LOADER_RUN, str(paths["loader"]), *others)
    assert run["globals"] == []
    assert run["api"] == ["load", "mount", "register"]
    assert run["after"] == ["load", "mount", "register", "verify", "wheel"]
    assert run["same"]
    base = "https://shop.example/store/gamify/widgets"
    assert run["scripts"] == [
        [f"{base}/wheel.{module('wheel').digest}.js", "n0nce"],
        [f"{base}/verify.{module('verify').digest}.js", "n0nce"],
    ]


def test_every_module_speaks_every_language_and_every_text_used_exists(
    tmp_path: Path,
) -> None:
    loader = sources()["loader"]
    match = re.search(r"const LANGUAGES = (\[.*?\]);", loader)
    assert match is not None
    languages = set(json.loads(match.group(1)))
    assert languages == {"en", "es"}
    found = registrations(tmp_path)
    strings = {name: found[name]["modules"][0]["strings"] for name in MODULES}
    for name, texts in strings.items():
        assert set(texts) == languages, name
        for lang in languages:
            assert set(texts[lang]) == set(texts["en"]), (name, lang)
            assert all(text.strip() for text in texts[lang].values()), (name, lang)
    for name in MODULES:
        code = sources()[name]
        used = set(re.findall(r"\bt\(\s*\"(\w+)\"", code))  # t("key", …)
        for pair in re.findall(r"\?\s*\"(\w+)\"\s*:\s*\"(\w+)\"", code):  # t(x ? "a" : "b")
            used |= set(pair)
        used |= set(re.findall(r"\[\"(\w+)\", source\.", code))  # the verify panel's rows
        messages = re.search(r"const MESSAGES = \{.*?\};", code, re.DOTALL)
        if messages:  # problem code -> key
            used |= set(re.findall(r":\s*\"(\w+)\"", messages.group(0)))
        # a game's texts are its own and the frame's (the frame's t covers both); the quiz's
        # t falls back on the card's, so the quiz's are its own, the card's and the frame's
        known = set(strings[name]["en"]) | set(strings[FRAME]["en"])
        if name == QUIZ:
            known |= set(strings[CHALLENGE]["en"])
        assert used or name == TRIGGER, name  # the trigger shows nothing
        assert used <= known, (name, used - known)


def test_the_widget_speaks_the_api_contract() -> None:
    """Names the server, the store and the browser tests rely on, spelled as they expect."""
    files = sources()
    needles = {
        "loader": (
            "document.currentScript",
            ".nonce",
            '"gamify.client_seed"',
            '"Idempotency-Key"',
            "crypto.randomUUID",
            "crypto.getRandomValues",
            "Authorization",
            "/widgets/",
            "adoptedStyleSheets",
            "signedIn: !!token",
            '"loyalty"',  # the reserved id: no campaign request, the card inline
            "floating: !target && !loyalty",
            "trigger, show",  # data-trigger and data-show, handed to the frame
            "...(token ? {} : guest)",  # a guest's email, consent and age: without a token only
        ),
        FRAME: (
            '"gamify:result"',
            "composed: true",
            'role: "status"',
            '"aria-live": "polite"',
            'role: "dialog"',
            '"aria-modal": "true"',
            "Intl.DateTimeFormat",
            "navigator.clipboard",
            "limit_reached",
            "campaign_inactive",
            "invalid_token",
            'load("verify"',
            "call: o.call",
            "signedIn: o.signedIn",
            "call: o.signedIn ? o.call : null",  # the verify panel checks a shopper's plays
            'load("guest"',  # the guest form, at a guest's first play only
            "!o.signedIn && campaign.guests",
            "terms_url",
            "probability",
            'describedBy: "odds"',
            'load("trigger"',  # data-trigger: its module, on such pages only
        ),
        TRIGGER: (
            "dialog:modal",  # never over another open modal dialog
            '"(pointer: fine)"',  # exit intent on desktops only
            "localStorage",
            "gamify.shown.",
            "console.warn",
        ),
        GUEST: (
            "Object.freeze",
            'type: "email"',
            'autocomplete: "email"',
            'inputmode: "email"',
            'type: "checkbox"',
            '"fieldset"',
            '"legend"',
            '"aria-invalid"',
            '"aria-describedby"',
            "novalidate: true",
            "invalid_email",
            "age_not_confirmed",
            "marketing_consent",
            "age_confirmed",
            'target: "_blank"',
        ),
        "verify": (
            "/fairness",
            "/audit.jsonl",
            "/configs/${hash}",
            "me/plays?campaign=",
            '"log/key"',
            "closes_at",
            '{ name: "Ed25519" }',
            '{ name: "HMAC", hash: "SHA-256" }',
            "getBigUint64",
            "aria-busy",
            'role: "status"',
        ),
        "wheel": (
            "devicePixelRatio",
            "ResizeObserver",
            "prefers-reduced-motion",
            '"aria-describedby"',  # the frame's list of the odds
            "Object.freeze",
            "dataset.angle",
            "dataset.segment",
            "0.2 + 0.6 * Math.random()",  # the middle 60% of the awarded segment
            "…",  # the ellipsis of a label too long for two lines
        ),
        "scratch": (
            "onpointerdown",
            "setPointerCapture",
            "ResizeObserver",
            "Object.freeze",
            "touch-action: none",
            "overflow-wrap: anywhere",
        ),
        CHALLENGE: (
            "Object.freeze",
            'role: "progressbar"',
            '"aria-valuenow"',
            '"aria-valuemin"',
            '"aria-valuemax"',
            '"aria-valuetext"',
            '"aria-labelledby"',
            'role: "status"',
            '"aria-live": "polite"',
            '"aria-expanded"',
            '"aria-controls"',
            'load("quiz"',  # the quiz's form, when the shopper first opens it
            '"aria-disabled"',  # the quiz's button while its module is on its way
            "prefers-reduced-motion",
            '"me/challenges"',
            '"gamify:challenge"',
            "composed: true",
            "gamify.frame.copyCode",
            "attempts_left",
        ),
        QUIZ: (
            "Object.freeze",
            '"fieldset"',
            '"legend"',
            'type: "radio"',
            "novalidate: true",
            "/quiz`",
            '"Content-Type": "application/json"',
            "attempts_left",
            "limit_reached",
            "campaign_inactive",
            "invalid_token",
        ),
        LOYALTY: (
            "Object.freeze",
            '"me/loyalty"',
            '"me/loyalty/redeem"',
            '"Idempotency-Key"',
            "crypto.randomUUID",
            'role: "progressbar"',
            '"aria-valuenow"',
            '"aria-valuemin"',
            '"aria-valuemax"',
            '"aria-label"',
            '"aria-describedby"',
            '"aria-disabled"',
            'role: "status"',
            '"aria-live": "polite"',
            "prefers-reduced-motion",
            "visibilitychange",
            '"gamify:loyalty"',
            '"gamify:redeemed"',
            "composed: true",
            "gamify.frame.copyCode",
            "insufficient_points",
            "out_of_stock",
            "not_found",
            "points_needed",
        ),
    }
    for name, wanted in needles.items():
        for needle in wanted:
            assert needle in files[name], (name, needle)
    for name in MODULES:
        assert f'window.gamify.register("{name}", Object.freeze(' in files[name], name


def test_eslint_passes_with_no_warning() -> None:
    eslint = ROOT / "node_modules" / ".bin" / "eslint"
    if not eslint.is_file():
        skip_or_fail("ESLint is not installed: run `npm ci` (make lint does)")
    node()
    run = subprocess.run(
        [str(eslint), "--max-warnings", "0", "."],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout + run.stderr


# -- the wheel --------------------------------------------------------------------------------


def test_every_package_is_listed_and_the_widgets_are_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    listed = set(config["setuptools"]["packages"])
    found = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "gamify").rglob("__init__.py")
    }
    assert found | {"gamify_widgets"} == listed
    assert config["setuptools"]["package-dir"] == {"gamify_widgets": "widgets"}
    assert "*.js" in config["setuptools"]["package-data"]["gamify_widgets"]


def test_the_wheel_ships_the_widget_and_serves_it_from_there(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("gamify", "widgets"):
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if built.returncode != 0:
        skip_or_fail(f"could not build the wheel: {built.stderr[-2000:]}")
    [wheel] = tmp_path.glob("gamify-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "installed")
    for name in (LOADER, *(f"{m}.js" for m in MODULES)):
        assert f"gamify_widgets/{name}" in names
    python_files = {p.relative_to(ROOT).as_posix() for p in (ROOT / "gamify").rglob("*.py")}
    assert python_files <= names, python_files - names

    # installed from the wheel, the server finds the files in the package and serves them alike
    probe = (
        "import gamify.web.widget_assets as w; "
        "print(w.__file__); print(w.widget_dir()); print(w.bundle().digest)"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "installed")}
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    module_file, folder, digest = run.stdout.split()[-3:]
    assert module_file.startswith(str(tmp_path / "installed"))
    assert "gamify_widgets" in folder
    assert digest == bundle().digest  # the loader's hash covers every module's
