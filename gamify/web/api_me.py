"""``/api/me``: what the customer of the token has, their plays with receipts."""

from __future__ import annotations

from flask import Response

from gamify.web import shapes
from gamify.web.auth import customer_id
from gamify.web.blueprint import blueprint
from gamify.web.http import json_response
from gamify.web.state import state


@blueprint.get("/api/me/plays")
def my_plays() -> Response:
    current = state()
    customer = customer_id(required=True)
    assert customer is not None
    rows = current.service.customer_plays(current.registry.all(), customer)
    body: shapes.PlayList = {
        "plays": [
            {
                "seq": row["seq"],
                "campaign": row["campaign"],
                "epoch": row["epoch"],
                "nonce": row["nonce"],
                "client_seed": row["client_seed"],
                "drawn": row["drawn"],
                "awarded": row["awarded"],
                "at": row["at"],
                "hash": row["hash"],
                "coupon": row["coupon"],
            }
            for row in rows
        ]
    }
    return json_response(body)
