"""``/api/me``: what the customer of the token has, their plays with receipts."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from gamify.web import shapes
from gamify.web.auth import customer_id
from gamify.web.blueprint import blueprint
from gamify.web.http import find_campaign, json_response
from gamify.web.state import GamifyState, state


@blueprint.get("/api/me/plays")
def my_plays() -> Response:
    current = state()
    customer = customer_id(required=True)
    assert customer is not None
    # ?campaign=<id>: one campaign's plays (what the widget's verify panel checks)
    wanted = request.args.get("campaign")
    campaigns = current.registry.all() if wanted is None else [find_campaign(current, wanted)]
    rows = current.service.customer_plays(campaigns, customer)
    proofs = _proofs(current, rows)
    body: shapes.PlayList = {
        "plays": [
            {
                "seq": row["seq"],
                "campaign": row["campaign"],
                "epoch": row["epoch"],
                "nonce": row["nonce"],
                "client_seed": row["client_seed"],
                "player": row["player"],
                "drawn": row["drawn"],
                "awarded": row["awarded"],
                "at": row["at"],
                "config_hash": row["config_hash"],
                "prev_hash": row["prev_hash"],
                "hash": row["hash"],
                "coupon": row["coupon"],
                "proof": proofs.get((row["campaign"], row["seq"])),
            }
            for row in rows
        ]
    }
    return json_response(body)


def _proofs(
    current: GamifyState, rows: list[dict[str, Any]]
) -> dict[tuple[str, int], shapes.PlayProof]:
    """Each play's inclusion proof against its log's latest signed checkpoint (the note
    itself given along, so that the proof and the signature can be checked together)."""
    by_campaign: dict[str, list[int]] = {}
    for row in rows:
        by_campaign.setdefault(row["campaign"], []).append(row["seq"])
    found: dict[tuple[str, int], shapes.PlayProof] = {}
    for campaign_id, seqs in by_campaign.items():
        made, proofs = current.service.receipts(campaign_id, seqs)
        for seq, proof in proofs.items():
            assert made is not None
            found[(campaign_id, seq)] = {
                "size": proof.size,
                "leaf_hash": proof.leaf_hash.hex(),
                "hashes": [h.hex() for h in proof.hashes],
                "root": proof.root.hex(),
                "checkpoint": made.note,
            }
    return found
