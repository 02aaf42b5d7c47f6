"""What a browser or an editor fetches: the widget's loader and modules, the campaign JSON
Schema, the OpenAPI document."""

from __future__ import annotations

from flask import Response, request

from gamify.campaigns.schema import campaign_schema
from gamify.web import widget_assets
from gamify.web.blueprint import blueprint
from gamify.web.http import json_response
from gamify.web.openapi import openapi_document
from gamify.web.state import state


@blueprint.get("/widget.js")
def widget_script() -> Response:
    return widget_assets.serve()


@blueprint.get("/widget.<digest>.js")
def widget_script_pinned(digest: str) -> Response:
    return widget_assets.serve(digest)


def widget_module(name: str, digest: str) -> Response:
    return widget_assets.serve_module(name, digest)


# One route per module (``/widgets/wheel.<digest>.js``, …), each documented in /openapi.json.
for _module in widget_assets.MODULES:
    blueprint.add_url_rule(
        f"/widgets/{_module}.<digest>.js",
        "widget_module",
        widget_module,
        defaults={"name": _module},
        methods=["GET"],
    )


@blueprint.get("/schema/campaign.json")
def campaign_json_schema() -> Response:
    return json_response(campaign_schema())


@blueprint.get("/openapi.json")
def openapi() -> Response:
    server = request.script_root + state().settings.url_prefix
    return Response(openapi_document(server or "/"), mimetype="application/json")
