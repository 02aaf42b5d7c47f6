"""The widget as the server ships it: one bundled script at ``{prefix}/widget.js`` (and under its
content hash), gzip, ETags and caching, its weight, its syntax, and its place in the wheel.

What the widget does in a browser (wheel, scratch card, dialog, errors) is for the browser
tests; these need no browser. Responses through the ``client`` fixture are also checked
against /openapi.json (tests/api_support.py).
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
from gamify.web.widget_assets import SCRIPTS, STYLES, bundle

ROOT = Path(__file__).resolve().parent.parent
WIDGETS = ROOT / "widgets"
URL = f"{PREFIX}/widget.js"
BUDGET = 12 * 1024  # bytes of gzip -9 for loader + wheel + scratch + styles, together
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


# -- serving ----------------------------------------------------------------------------------


def test_widget_js_is_one_javascript_bundle_cached_for_five_minutes(client: FlaskClient) -> None:
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


def test_gzip_only_when_the_client_accepts_it(client: FlaskClient) -> None:
    identity = client.get(URL).data
    for accept in ("gzip", "gzip, deflate, br", "br;q=1.0, gzip;q=0.8", "*"):
        response = client.get(URL, headers={"Accept-Encoding": accept})
        assert response.headers["Content-Encoding"] == "gzip", accept
        assert response.data == bundle().gzipped
        assert gzip.decompress(response.data) == identity
        assert etag(response) == f'"{bundle().digest}-gzip"'
        assert int(response.headers["Content-Length"]) == len(response.data)
    for accept in ("identity", "deflate, br", "gzip;q=0", ""):
        response = client.get(URL, headers={"Accept-Encoding": accept})
        assert "Content-Encoding" not in response.headers, accept
        assert response.data == identity


def test_a_matching_if_none_match_is_a_304(client: FlaskClient) -> None:
    plain = client.get(URL)
    zipped = client.get(URL, headers={"Accept-Encoding": "gzip"})
    for headers, tag in (
        ({"If-None-Match": etag(plain)}, etag(plain)),
        ({"If-None-Match": f'"other", {etag(plain)}'}, etag(plain)),
        ({"If-None-Match": f"W/{etag(plain)}"}, etag(plain)),
        ({"If-None-Match": "*"}, etag(plain)),
        ({"If-None-Match": etag(zipped), "Accept-Encoding": "gzip"}, etag(zipped)),
    ):
        response = client.get(URL, headers=headers)
        assert response.status_code == 304, headers
        assert response.data == b""
        assert etag(response) == tag
        assert response.headers["Cache-Control"] == "public, max-age=300"
    # a stale tag, or the tag of the other encoding, gets the whole script
    for headers in (
        {"If-None-Match": '"0123456789abcdef"'},
        {"If-None-Match": etag(zipped)},
        {"If-None-Match": etag(plain), "Accept-Encoding": "gzip"},
    ):
        assert client.get(URL, headers=headers).status_code == 200, headers


def test_the_hashed_url_is_immutable_and_only_the_current_hash_exists(
    client: FlaskClient,
) -> None:
    digest = bundle().digest
    assert re.fullmatch(r"[0-9a-f]{16}", digest)
    assert digest == hashlib.sha256(bundle().script).hexdigest()[:16]
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


def test_the_bundle_is_built_once_per_process_in_a_fixed_order() -> None:
    assert bundle() is bundle()
    text = bundle().script.decode("utf-8")
    positions = [text.index(marker) for marker in ("const CSS = ", *SCRIPTS)]
    assert positions == sorted(positions)
    assert text.startswith("/*! gamify ") and text.rstrip().endswith("})();")
    # built again from the same files, it is the same bytes (so the same hash on every server)
    rebuilt = widget_assets.build_bundle(widget_assets.widget_dir())
    assert rebuilt == bundle()
    css = (WIDGETS / STYLES).read_text(encoding="utf-8")
    for custom_property in ("--gamify-accent", "--gamify-bg", "--gamify-fg", "--gamify-radius"):
        assert custom_property in css and custom_property in text


def test_another_prefix_serves_the_widget_there(tmp_path: Path, campaigns_dir: Path) -> None:
    from api_support import checked_client, make_app

    from gamify.extension import state

    app: Flask = make_app(tmp_path / "promo", campaigns_dir, GAMIFY_URL_PREFIX="/promo")
    client, _ = checked_client(app)
    assert client.get("/promo/widget.js").data == bundle().script
    assert client.get(URL).status_code == 404
    state(app).engine.dispose()


# -- the files --------------------------------------------------------------------------------


def widget_sources() -> dict[str, str]:
    return {name: (WIDGETS / name).read_text(encoding="utf-8") for name in (*SCRIPTS, STYLES)}


def test_loader_wheel_scratch_and_styles_weigh_at_most_12_kb_gzipped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    together = "".join(widget_sources().values()).encode("utf-8")
    weight = len(gzip.compress(together, compresslevel=9, mtime=0))
    served = len(bundle().gzipped)
    with capsys.disabled():
        print(
            f"\nwidget weight, gzip -9: {weight} bytes for the four files together, "
            f"{served} bytes served; budget {BUDGET}"
        )
    assert weight <= BUDGET
    assert served <= BUDGET


def test_no_markup_is_ever_parsed_from_strings() -> None:
    for name, text in {**widget_sources(), "bundle": bundle().script.decode()}.items():
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in text, f"{name} uses {sink}"
        assert not re.search(r"new\s+Function\b", text), name


def node() -> str:
    found = shutil.which("node")
    if found is None:
        skip_or_fail("node is not installed (apt-get install nodejs)")
    assert found is not None
    return found


def test_node_check_passes_on_the_bundle_and_each_file(tmp_path: Path) -> None:
    runtime = node()
    script = tmp_path / "widget.js"
    script.write_bytes(bundle().script)
    for path in (script, *(WIDGETS / name for name in SCRIPTS)):
        checked = subprocess.run(
            [runtime, "--check", str(path)], capture_output=True, text=True, timeout=60
        )
        assert checked.returncode == 0, f"{path.name}: {checked.stderr}"


def test_spanish_and_english_have_the_same_texts_and_every_text_used_exists(
    tmp_path: Path,
) -> None:
    loader = (WIDGETS / "loader.js").read_text(encoding="utf-8")
    table = re.search(r"^const STRINGS = \{.*?^\};$", loader, re.DOTALL | re.MULTILINE)
    assert table is not None
    probe = tmp_path / "strings.js"
    probe.write_text(f"{table.group(0)}\nconsole.log(JSON.stringify(STRINGS));\n", "utf-8")
    run = subprocess.run([node(), str(probe)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    strings: dict[str, dict[str, str]] = json.loads(run.stdout)
    assert set(strings) == {"en", "es"}
    assert set(strings["es"]) == set(strings["en"])
    assert all(text.strip() for texts in strings.values() for text in texts.values())
    code = "".join(widget_sources()[name] for name in SCRIPTS)
    used = set(re.findall(r"\bt\(\s*\"(\w+)\"", code))  # t("key", …)
    for pair in re.findall(r"\?\s*\"(\w+)\"\s*:\s*\"(\w+)\"", code):  # t(x ? "a" : "b")
        used |= set(pair)
    messages = re.search(r"^const MESSAGES = \{.*?^\};$", loader, re.DOTALL | re.MULTILINE)
    assert messages is not None
    used |= set(re.findall(r":\s*\"(\w+)\"", messages.group(0)))  # problem code -> key
    used |= set(re.findall(r"\[\"(\w+)\", source\.", loader))  # the fairness panel's rows
    assert used and used <= set(strings["en"]), used - set(strings["en"])


def test_the_widget_speaks_the_api_contract() -> None:
    """Names the server, the store and the browser tests rely on, spelled as they expect."""
    loader, wheel, scratch = (widget_sources()[name] for name in SCRIPTS)
    for needle in (
        "document.currentScript",
        '"gamify.client_seed"',
        '"Idempotency-Key"',
        "crypto.randomUUID",
        "crypto.getRandomValues",
        "Authorization",
        '"gamify:result"',
        "composed: true",
        'role: "status"',
        '"aria-live": "polite"',
        'role: "dialog"',
        '"aria-modal": "true"',
        "Intl.DateTimeFormat",
        "navigator.clipboard",
        "/fairness",
        "limit_reached",
        "campaign_inactive",
        "invalid_token",
    ):
        assert needle in loader, needle
    for needle in ("devicePixelRatio", "ResizeObserver", "prefers-reduced-motion", "Object.freeze"):
        assert needle in wheel, needle
    assert "dataset.angle" in wheel and "dataset.segment" in wheel
    assert "0.2 + 0.6 * Math.random()" in wheel  # the middle 60% of the awarded segment
    for needle in ("onpointerdown", "setPointerCapture", "ResizeObserver", "Object.freeze"):
        assert needle in scratch, needle
    assert "touch-action: none" in widget_sources()[STYLES]


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
    assert set(config["setuptools"]["package-data"]["gamify_widgets"]) == {"*.js", "*.css"}


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
    for name in (*SCRIPTS, STYLES):
        assert f"gamify_widgets/{name}" in names
    python_files = {p.relative_to(ROOT).as_posix() for p in (ROOT / "gamify").rglob("*.py")}
    assert python_files <= names, python_files - names

    # installed from the wheel, the server finds the files in the package and bundles them alike
    probe = (
        "import gamify.web.widget_assets as w; "
        "print(w.__file__); print(w.widget_dir()); print(w.bundle().digest)"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "installed")}
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    module, folder, digest = run.stdout.split()[-3:]
    assert module.startswith(str(tmp_path / "installed"))
    assert "gamify_widgets" in folder
    assert digest == bundle().digest
