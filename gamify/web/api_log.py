"""The verifiable log over HTTP (CONTRACT §12): the log's key, signed checkpoints, Merkle
inclusion and consistency proofs.

Hashes are hex; the proofs are RFC 9162's PATH and PROOF, bottom-up, so any RFC 9162 verifier
(``gamify.core.merkle.verify_inclusion``, Go's ``transparency-dev/merkle``, the widget's check)
takes them as they are.
"""

from __future__ import annotations

import base64
import re

from flask import Response, request

from gamify.core.errors import InvalidRequest, NotFound
from gamify.web import shapes
from gamify.web.api_campaigns import known_campaign_id
from gamify.web.blueprint import blueprint
from gamify.web.http import json_response
from gamify.web.state import state

MAX_SIZE = 2**63 - 1  # a BIGINT, as checkpoints write sizes
CONFIG_HASH = re.compile(r"[0-9a-f]{64}", re.ASCII)


@blueprint.get("/api/log/key")
def log_key() -> Response:
    """The key the checkpoints are signed with, as a verifier configures it."""
    signer = state().service.signer
    if signer is None:
        raise NotFound("this gamify signs no checkpoints")
    body: shapes.LogKey = {
        "name": signer.name,
        "ed25519": base64.b64encode(signer.public_key).decode("ascii"),
        "vkey": signer.vkey,
    }
    return json_response(body)


@blueprint.get("/api/campaigns/<campaign_id>/checkpoint")
def checkpoint(campaign_id: str) -> Response:
    """The latest signed checkpoint, covering every play there is (signed now if needed)."""
    current = state()
    known = known_campaign_id(current, campaign_id)
    made = current.service.checkpoint(known)
    if made is None:
        raise NotFound("this gamify signs no checkpoints")
    response = Response(made.note, content_type="text/plain; charset=utf-8")
    response.cache_control.no_cache = True
    return response


@blueprint.get("/api/campaigns/<campaign_id>/configs/<config_hash>")
def config_version(campaign_id: str, config_hash: str) -> Response:
    """A config version as the log recorded it, its exact bytes (their SHA-256 is
    ``config_hash``): the prizes and weights a play's receipt names, without the whole bundle.
    It never changes, so it is cached for good."""
    current = state()
    known = known_campaign_id(current, campaign_id)
    if not CONFIG_HASH.fullmatch(config_hash):
        raise NotFound("a config hash is 64 lowercase hex characters")
    text = current.service.config_text(known, config_hash)
    response = Response(text, content_type="application/json")
    response.cache_control.public = True
    response.cache_control.max_age = 31536000
    response.cache_control.immutable = True
    return response


@blueprint.get("/api/campaigns/<campaign_id>/proof/inclusion")
def inclusion_proof(campaign_id: str) -> Response:
    current = state()
    known = known_campaign_id(current, campaign_id)
    seq = _count("seq", required=True)
    assert seq is not None
    proof = current.service.inclusion(known, seq, _count("size", required=False))
    body: shapes.InclusionProof = {
        "seq": proof.seq,
        "size": proof.size,
        "leaf_hash": proof.leaf_hash.hex(),
        "hashes": [h.hex() for h in proof.hashes],
        "root": proof.root.hex(),
    }
    return json_response(body)


@blueprint.get("/api/campaigns/<campaign_id>/proof/consistency")
def consistency_proof(campaign_id: str) -> Response:
    current = state()
    known = known_campaign_id(current, campaign_id)
    old, new = _count("from", required=True), _count("to", required=False)
    assert old is not None
    if new is None:
        new = current.service.tree_size(known)
    hashes = current.service.consistency(known, old, new)
    body: shapes.ConsistencyProof = {"from": old, "to": new, "hashes": [h.hex() for h in hashes]}
    return json_response(body)


def _count(name: str, *, required: bool) -> int | None:
    """A query parameter that counts plays: digits only, at most a BIGINT."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        if required:
            raise InvalidRequest(f"the query parameter {name} is required (a play count or seq)")
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or int(raw) > MAX_SIZE:
        raise InvalidRequest(f"{name} must be a whole number from 0 to {MAX_SIZE} (got {raw!r})")
    return int(raw)
