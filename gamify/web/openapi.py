"""The OpenAPI 3.1 description of the HTTP API, served at ``{prefix}/openapi.json``.

The bodies' schemas come from :mod:`gamify.web.shapes`, the same declarations the views build
their answers from; this module adds the operations, parameters, headers and problems.

Built as a plain dict so it lives next to the code it describes; paths are relative to the one
server, whose url is the mount prefix. The tests validate every response the suite sees
against this document, and fuzz every operation with schemathesis, so it cannot drift.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from typing import Any

from gamify.core.version import __version__ as _version
from gamify.web.problems import CODES, PROBLEM_MIMETYPE
from gamify.web.shapes import (
    CAMPAIGN_ID_PATTERN,
    IDEMPOTENCY_KEY_PATTERN,
    component_schemas,
)
from gamify.web.widget_assets import MODULES as WIDGET_MODULES

WIDGET_DIGEST_PATTERN = "^[0-9a-f]{16}$"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _problem(description: str, schema: str = "Problem") -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_MIMETYPE: {"schema": _ref(schema)}}}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [schema, {"type": "null"}]}


_TIME = {
    "type": "string",
    "format": "date-time",
    "pattern": "Z$",
    "description": "UTC, ISO 8601, ending in Z",
}
_SLUG = {"type": "string", "pattern": CAMPAIGN_ID_PATTERN}

_SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "description": "An error, as RFC 9457 problem details.",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {
                "type": "string",
                "format": "uri-reference",
                "description": "`about:blank` (with the HTTP status phrase as title) for "
                "plain HTTP errors such as an unknown path or a body too large; else "
                "`https://gamify.dev/problems/<code>` with `_` written `-`",
            },
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string", "description": "what went wrong, for people"},
            "code": {
                "type": "string",
                "enum": list(CODES),
                "description": "what went wrong, for programs:\n\n"
                + "\n".join(f"- `{c}` ({s}): {what}" for c, (s, what) in CODES.items()),
            },
            "errors": {
                "type": "array",
                "description": "`invalid_request` of events only: every mistake of the batch",
                "items": {
                    "type": "object",
                    "required": ["index", "field", "message"],
                    "properties": {
                        "index": {"type": "integer", "minimum": 0},
                        "field": {"type": "string"},
                        "message": {"type": "string"},
                    },
                },
            },
            "retry_after": {
                "type": "integer",
                "minimum": 1,
                "description": "`limit_reached` only: seconds until the next play is possible",
            },
            "retry_at": {
                **_nullable(_TIME),
                "description": "`limit_reached` only: when the next play becomes possible; "
                "null when the campaign allows no more plays to this customer",
            },
        },
    },
    "LimitReached": {
        "allOf": [
            _ref("Problem"),
            {
                "type": "object",
                "required": ["retry_at"],
                "properties": {"code": {"const": "limit_reached"}, "status": {"const": 429}},
            },
        ]
    },
}

_PARAMETERS: dict[str, Any] = {
    "Digest": {
        "name": "digest",
        "in": "path",
        "required": True,
        "description": "a content hash, as the current loader or ETag names it",
        "schema": {"type": "string", "pattern": WIDGET_DIGEST_PATTERN},
    },
    "CampaignId": {
        "name": "campaign_id",
        "in": "path",
        "required": True,
        "schema": _SLUG,
    },
    "Lang": {
        "name": "lang",
        "in": "query",
        "required": False,
        "description": "language of the texts (`es`, `en`); else Accept-Language, else English",
        "schema": {"type": "string"},
    },
    "AcceptLanguage": {
        "name": "Accept-Language",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
    },
    "IfNoneMatch": {
        "name": "If-None-Match",
        "in": "header",
        "required": False,
        "description": "the ETag of a cached copy: 304 when it is still the current script",
        "schema": {"type": "string"},
    },
    "IdempotencyKey": {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "a retry with the same key returns the same play and consumes nothing",
        "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN},
    },
}

_RESPONSES: dict[str, Any] = {
    "InvalidRequest": _problem("`invalid_request`: malformed body, parameter or header"),
    "InvalidToken": _problem("`invalid_token`: missing, forged or expired token"),
    "NotFound": _problem("`campaign_not_found` (or `not_found`)"),
    "TooLarge": _problem("`payload_too_large`: the body is larger than GAMIFY_MAX_BODY"),
    "UnsupportedMediaType": _problem("`unsupported_media_type`: a body that is not JSON"),
    "Unavailable": {
        **_problem("`unavailable`: the database is down, restarting or busy; retry"),
        "headers": {
            "Retry-After": {
                "description": "seconds to wait before retrying",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    },
}


def _widget_responses(cache: str, what: str = "the widget's loader") -> dict[str, Any]:
    headers = {
        "ETag": {
            "description": "the script's content hash, quoted; with `-gzip` appended for the "
            "gzip representation",
            "required": True,
            "schema": {"type": "string"},
        },
        "Cache-Control": {"description": cache, "schema": {"type": "string"}},
    }
    return {
        "200": {
            "description": f"{what}; gzip (`Content-Encoding: gzip`) when the client accepts it",
            "headers": {
                **headers,
                "Content-Encoding": {
                    "description": "`gzip` when the request's Accept-Encoding allows it",
                    "schema": {"type": "string", "enum": ["gzip"]},
                },
            },
            "content": {"application/javascript": {}},
        },
        "304": {"description": "`If-None-Match` names the current script", "headers": headers},
    }


# What each module of the widget is (widgets/<name>.js, docs/widgets.md).
_WIDGET_MODULE_SUMMARIES = {
    "frame": "the frame around every game: the inline panel, or the floating button and its "
    "dialog; messages, results and coupons",
    "wheel": "the spin wheel",
    "scratch": "the scratch card",
    "challenge": "the challenge card: steps with progress bars, the quiz form, the reward",
    "loyalty": "the loyalty card: points, tier progress, the rewards and their coupons",
    "verify": "the “Verify this draw” panel",
}


def _widget_module_paths() -> dict[str, Any]:
    """``/widgets/<name>.{digest}.js`` for each module the loader may load."""
    paths: dict[str, Any] = {}
    for name in WIDGET_MODULES:
        what = _WIDGET_MODULE_SUMMARIES.get(name, f"the widget's `{name}` module")
        paths[f"/widgets/{name}.{{digest}}.js"] = {
            "get": {
                "operationId": f"getWidgetModule{name.title().replace('-', '')}",
                "summary": f"A module of the widget: {what}",
                "description": "The loader (`/widget.js`) adds this script to the page when the "
                "page needs it; its URL has the module's content hash, written into the loader, "
                "and is cached for a year. Another well-formed hash (a loader of another deploy) "
                "is redirected to the current module; anything else is a 404 `not_found`.",
                "security": [{}],
                "parameters": _params("Digest", "IfNoneMatch"),
                "responses": {
                    **_widget_responses("`public, max-age=31536000, immutable`", what),
                    "307": {
                        "description": "not the current hash: the current module's URL",
                        "headers": {
                            "Location": {
                                "description": "`<name>.<current hash>.js`, relative to this URL",
                                "required": True,
                                "schema": {"type": "string"},
                            },
                            "Cache-Control": {
                                "description": "`no-store`",
                                "schema": {"type": "string"},
                            },
                        },
                    },
                    "404": _problem("`not_found`: not a module's hash"),
                },
            }
        }
    return paths


_BUNDLE_HEADERS: dict[str, Any] = {
    "ETag": {
        "description": "a digest of this version of the log, quoted",
        "required": True,
        "schema": {"type": "string"},
    },
    "Cache-Control": {
        "description": "`no-cache`: revalidate with the ETag",
        "schema": {"type": "string"},
    },
    "Accept-Ranges": {"description": "`bytes`", "schema": {"type": "string"}},
}


def _responses(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def _count_param(name: str, description: str, *, required: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
    }


def _params(*names: str) -> list[dict[str, str]]:
    return [{"$ref": f"#/components/parameters/{n}"} for n in names]


_HOLDOUT = _problem(
    "`holdout`: the customer is in the campaign's holdout group (kept from it to measure it); "
    "the widget hides the game"
)


def _paths() -> dict[str, Any]:
    customer: list[dict[str, list[str]]] = [{"customerToken": []}]
    optional_customer: list[dict[str, list[str]]] = [{}, {"customerToken": []}]
    return {
        "/api/campaigns": {
            "get": {
                "operationId": "listCampaigns",
                "summary": "The campaigns running now",
                "security": [{}],
                "parameters": _params("Lang", "AcceptLanguage"),
                "responses": {"200": _json(_ref("CampaignList"), "running campaigns")},
            }
        },
        "/api/campaigns/{campaign_id}": {
            "get": {
                "operationId": "getCampaign",
                "summary": "A campaign: texts, prizes and odds, schedule, current commitment; "
                "or a challenge: steps, quiz questions (never their answers), reward",
                "description": "With a customer token, also `plays_left` and `next_play_at` "
                "(a game), or `progress` (a challenge).",
                "security": optional_customer,
                "parameters": _params("CampaignId", "Lang", "AcceptLanguage"),
                "responses": {
                    "200": _json(
                        {"oneOf": [_ref("CampaignView"), _ref("ChallengeView")]},
                        "the campaign (`game` tells which)",
                    ),
                    "401": _responses("InvalidToken"),
                    "403": _problem(
                        "`holdout`: the customer is in the campaign's holdout group; hide the game"
                    ),
                    "404": _responses("NotFound"),
                },
            }
        },
        "/api/campaigns/{campaign_id}/plays": {
            "post": {
                "operationId": "play",
                "summary": "Play once",
                "description": "An empty body is allowed. With an `Idempotency-Key` already "
                "used by this customer in this campaign, the same play is returned with 200 "
                "and nothing is consumed. Without a token, a guest plays a campaign whose "
                "`guests` is set, with `email` (and `marketing_consent`, `age_confirmed`) in "
                "the body: limits count per mailbox, `guests.per_ip` per client address.",
                "security": optional_customer,
                "parameters": _params("CampaignId", "IdempotencyKey", "Lang", "AcceptLanguage"),
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": _ref("PlayRequest")}},
                },
                "responses": {
                    "201": _json(_ref("PlayResponse"), "the new play"),
                    "200": _json(_ref("PlayResponse"), "a replay of an idempotent request"),
                    "400": _problem(
                        "`invalid_request`; for a guest also `invalid_email` (not an address, "
                        "or a disposable one) and `age_not_confirmed`"
                    ),
                    "401": _problem(
                        "`invalid_token`: a bad or expired token, or no token for a campaign "
                        "that takes no guests"
                    ),
                    "403": _problem(
                        "`holdout`: the customer is in the campaign's holdout group; hide the game"
                    ),
                    "404": _responses("NotFound"),
                    "409": _problem("`campaign_inactive`: not started yet, or ended"),
                    "413": _responses("TooLarge"),
                    "415": _responses("UnsupportedMediaType"),
                    "429": {
                        **_problem("`limit_reached`: see `retry_at`", "LimitReached"),
                        "headers": {
                            "Retry-After": {
                                "description": "seconds until the next play (absent when "
                                "no more plays are possible)",
                                "schema": {"type": "integer", "minimum": 1},
                            }
                        },
                    },
                },
            }
        },
        "/campaigns/{campaign_id}/terms": {
            "get": {
                "operationId": "getCampaignTerms",
                "summary": "A game's terms for shoppers, as an HTML page (Spanish or English)",
                "description": "Organiser, dates and time zone, who may play, limits, every "
                "prize with its odds, value, units configured and units left, the fallback "
                "rule, how draws are made and verified, data protection. Cached for a minute.",
                "security": [{}],
                "parameters": _params("CampaignId", "Lang", "AcceptLanguage"),
                "responses": {
                    "200": {"description": "the page", "content": {"text/html": {}}},
                    "404": _responses("NotFound"),
                    "503": _responses("Unavailable"),
                },
            }
        },
        "/api/campaigns/{campaign_id}/fairness": {
            "get": {
                "operationId": "getFairness",
                "summary": "Epochs with their commitments and revealed seeds",
                "security": [{}],
                "parameters": _params("CampaignId"),
                "responses": {
                    "200": _json(_ref("Fairness"), "the epochs"),
                    "404": _responses("NotFound"),
                },
            }
        },
        "/api/log/key": {
            "get": {
                "operationId": "getLogKey",
                "summary": "The key the log's checkpoints are signed with",
                "security": [{}],
                "responses": {
                    "200": _json(_ref("LogKey"), "the key"),
                    "404": _responses("NotFound"),
                },
            }
        },
        "/api/campaigns/{campaign_id}/checkpoint": {
            "get": {
                "operationId": "getCheckpoint",
                "summary": "The latest signed checkpoint of the campaign's Merkle log",
                "description": "A C2SP tlog-checkpoint signed note (origin "
                "`<host>/gamify/<campaign>`, tree size, base64 root, Ed25519 signature), "
                "covering every play there is: signed at once if the latest does not.",
                "security": [{}],
                "parameters": _params("CampaignId"),
                "responses": {
                    "200": {
                        "description": "the signed note",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    "404": _responses("NotFound"),
                },
            }
        },
        "/api/campaigns/{campaign_id}/configs/{config_hash}": {
            "get": {
                "operationId": "getConfigVersion",
                "summary": "One config version of the campaign's log, as its hash was taken",
                "description": "The canonical JSON (CONTRACT §5) whose SHA-256 is `config_hash`, "
                "byte for byte: the prizes and weights a play's `config_hash` names, for "
                "checking one draw without the whole bundle. Cached for good (`immutable`).",
                "security": [{}],
                "parameters": [
                    *_params("CampaignId"),
                    {
                        "name": "config_hash",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                    },
                ],
                "responses": {
                    "200": _json(
                        {"type": "object", "additionalProperties": True},
                        "the config version (`prizes`, `fallback`, `budget`, `algorithm`, …)",
                    ),
                    "404": _responses("NotFound"),
                },
            }
        },
        "/api/campaigns/{campaign_id}/proof/inclusion": {
            "get": {
                "operationId": "getInclusionProof",
                "summary": "RFC 9162 inclusion proof of a play in the campaign's Merkle log",
                "description": "PATH(seq, D[size]) bottom-up, hashes in hex, with the tree's "
                "root at `size` (by default the tree's size now). Check it against a signed "
                "checkpoint of that size.",
                "security": [{}],
                "parameters": [
                    *_params("CampaignId"),
                    _count_param("seq", "the play's seq", required=True),
                    _count_param("size", "the tree's size (default: all plays now)"),
                ],
                "responses": {
                    "200": _json(_ref("InclusionProof"), "the proof"),
                    "400": _responses("InvalidRequest"),
                    "404": _responses("NotFound"),
                },
            }
        },
        "/api/campaigns/{campaign_id}/proof/consistency": {
            "get": {
                "operationId": "getConsistencyProof",
                "summary": "RFC 9162 consistency proof between two sizes of the Merkle log",
                "description": "PROOF(from, D[to]), hashes in hex: the tree of `from` plays "
                "is a prefix of the tree of `to` (by default the tree's size now).",
                "security": [{}],
                "parameters": [
                    *_params("CampaignId"),
                    _count_param("from", "the older tree's size (at least 1)", required=True),
                    _count_param("to", "the newer tree's size (default: all plays now)"),
                ],
                "responses": {
                    "200": _json(_ref("ConsistencyProof"), "the proof"),
                    "400": _responses("InvalidRequest"),
                    "404": _responses("NotFound"),
                },
            }
        },
        "/api/campaigns/{campaign_id}/audit.jsonl": {
            "get": {
                "operationId": "getAuditBundle",
                "summary": "The audit bundle (JSON Lines), for `gamify verify`",
                "description": "The log as it was when the request came, served from a file: "
                "its `ETag` is a digest of that version, so a client revalidates with "
                "`If-None-Match` (304 while no play, epoch or config version was added) and "
                "resumes a download with `Range` (206).",
                "security": [{}],
                "parameters": [
                    *_params("CampaignId"),
                    {
                        "name": "If-None-Match",
                        "in": "header",
                        "required": False,
                        "description": "the ETag of a copy: 304 when it is still the log's",
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "Range",
                        "in": "header",
                        "required": False,
                        "description": "one byte range (`bytes=1000-`): 206 with that part",
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "campaign, epoch and play records, one per line",
                        "headers": _BUNDLE_HEADERS,
                        "content": {
                            "application/x-ndjson": {
                                "schema": {"type": "string", "contentMediaType": "text/plain"}
                            }
                        },
                    },
                    "206": {
                        "description": "the byte range asked for, of the version the ETag names",
                        "headers": {
                            **_BUNDLE_HEADERS,
                            "Content-Range": {
                                "description": "`bytes FIRST-LAST/SIZE`",
                                "required": True,
                                "schema": {"type": "string"},
                            },
                        },
                        "content": {
                            "application/x-ndjson": {
                                "schema": {"type": "string", "contentMediaType": "text/plain"}
                            }
                        },
                    },
                    "304": {
                        "description": "`If-None-Match` names the log's current version",
                        "headers": {"ETag": _BUNDLE_HEADERS["ETag"]},
                    },
                    "404": _responses("NotFound"),
                    "416": _problem(
                        "`invalid_request`: a `Range` outside the bundle, or more than one range"
                    ),
                },
            }
        },
        "/api/me/plays": {
            "get": {
                "operationId": "myPlays",
                "summary": "The customer's own plays, each with seq and hash as a receipt",
                "security": customer,
                "parameters": [
                    {
                        "name": "campaign",
                        "in": "query",
                        "required": False,
                        "description": "only this game's plays (404 for an unknown one)",
                        "schema": _SLUG,
                    }
                ],
                "responses": {
                    "200": _json(_ref("PlayList"), "the plays"),
                    "401": _responses("InvalidToken"),
                    "404": _responses("NotFound"),
                },
            }
        },
        "/api/me/loyalty": {
            "get": {
                "operationId": "myLoyalty",
                "summary": "The customer's points (usable, pending, expiring), tier and rewards",
                "description": "404 `not_found` while the store has no loyalty.yaml.",
                "security": customer,
                "parameters": _params("Lang", "AcceptLanguage"),
                "responses": {
                    "200": _json(_ref("LoyaltyView"), "the customer's loyalty standing"),
                    "401": _responses("InvalidToken"),
                    "404": _responses("NotFound"),
                },
            }
        },
        "/api/me/loyalty/redeem": {
            "post": {
                "operationId": "redeemReward",
                "summary": "Buy a reward with points: its coupon",
                "description": "The `Idempotency-Key` header is required: the same key and "
                "reward again answers the first redemption with 200 and spends nothing; the "
                "same key with another reward is `409 idempotency_conflict`.",
                "security": customer,
                "parameters": _params("IdempotencyKey"),
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("RedeemRequest")}},
                },
                "responses": {
                    "201": _json(_ref("Redeemed"), "the reward bought"),
                    "200": _json(_ref("Redeemed"), "a replay of an idempotent request"),
                    "400": _responses("InvalidRequest"),
                    "401": _responses("InvalidToken"),
                    "404": _problem("`reward_not_found`, or `not_found`: no loyalty programme"),
                    "409": _problem(
                        "`insufficient_points`, `out_of_stock` or `idempotency_conflict`"
                    ),
                    "413": _responses("TooLarge"),
                    "415": _responses("UnsupportedMediaType"),
                },
            }
        },
        "/api/campaigns/{campaign_id}/quiz": {
            "post": {
                "operationId": "answerQuiz",
                "summary": "Answer a challenge's quiz step: graded on the server",
                "description": "One attempt, in the window running now. A step passed already "
                "answers `passed` without using an attempt. After the last attempt, `429 "
                "limit_reached` (with `retry_at` when a new window brings new attempts).",
                "security": customer,
                "parameters": _params("CampaignId", "Lang", "AcceptLanguage"),
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("QuizAnswer")}},
                },
                "responses": {
                    "200": _json(_ref("QuizResult"), "how many answers were right"),
                    "400": _responses("InvalidRequest"),
                    "401": _responses("InvalidToken"),
                    "403": _problem(
                        "`holdout`: the customer is in the campaign's holdout group; hide the game"
                    ),
                    "404": _responses("NotFound"),
                    "409": _problem("`campaign_inactive`: the challenge is not running"),
                    "413": _responses("TooLarge"),
                    "415": _responses("UnsupportedMediaType"),
                    "429": _problem("`limit_reached`: no attempt left", "LimitReached"),
                },
            }
        },
        "/api/me/challenges": {
            "get": {
                "operationId": "myChallenges",
                "summary": "The customer's challenges: status, each step's progress, reward",
                "security": customer,
                "parameters": _params("Lang", "AcceptLanguage"),
                "responses": {
                    "200": _json(_ref("ChallengeList"), "the challenges that have started"),
                    "401": _responses("InvalidToken"),
                },
            }
        },
        "/api/events": {
            "post": {
                "operationId": "postEvents",
                "summary": "Server to server: what the store's customers did (one event, or a "
                "batch of up to 100)",
                "description": "404 while GAMIFY_EVENTS_KEY is unset. A batch is all or "
                "nothing: one invalid event refuses it with `400 invalid_request` and `errors` "
                "naming each mistake by index and field. An id already stored is answered "
                "`duplicate` and changes nothing. Bodies up to 1 MiB.",
                "security": [{"eventsKey": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "oneOf": [
                                    {"type": "object", "required": ["id", "type"]},
                                    {
                                        "type": "object",
                                        "required": ["events"],
                                        "properties": {
                                            "events": {
                                                "type": "array",
                                                "minItems": 1,
                                                "maxItems": 100,
                                                "items": {"type": "object"},
                                            }
                                        },
                                    },
                                ]
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(_ref("EventResults"), "a result per event"),
                    "400": _responses("InvalidRequest"),
                    "401": _responses("InvalidToken"),
                    "404": _problem("`not_found`: events are closed"),
                    "413": _responses("TooLarge"),
                    "415": _responses("UnsupportedMediaType"),
                },
            }
        },
        "/widget.js": {
            "get": {
                "operationId": "getWidget",
                "summary": "The widget's loader, the script that the storefront's `<script>` tag "
                "loads",
                "description": "It reads its tag's `data-campaign`, `data-customer`, "
                "`data-lang` and `data-target` (docs/widgets.md), and loads the modules the page "
                "needs from `/widgets/<name>.<hash>.js`. Cached for 5 minutes.",
                "security": [{}],
                "parameters": _params("IfNoneMatch"),
                "responses": _widget_responses("`public, max-age=300`"),
            }
        },
        "/widget.{digest}.js": {
            "get": {
                "operationId": "getWidgetPinned",
                "summary": "The same script under its content hash, cached for a year",
                "description": "Only the current hash (the ETag of `/widget.js`) exists; any "
                "other is a 404 `not_found`.",
                "security": [{}],
                "parameters": _params("Digest", "IfNoneMatch"),
                "responses": {
                    **_widget_responses("`public, max-age=31536000, immutable`"),
                    "404": _problem("`not_found`: not the current script's hash"),
                },
            }
        },
        **_widget_module_paths(),
        "/schema/campaign.json": {
            "get": {
                "operationId": "getCampaignSchema",
                "summary": "JSON Schema of campaign files",
                "security": [{}],
                "responses": {"200": _json({"type": "object"}, "a JSON Schema (2020-12)")},
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "getOpenAPI",
                "summary": "This document",
                "security": [{}],
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")},
            }
        },
    }


def _with_unavailable(paths: dict[str, Any]) -> dict[str, Any]:
    """Every API route may meet the database down (even listing campaigns: a changed campaign
    file is recorded in the database when it reloads)."""
    for path, item in paths.items():
        if path.startswith("/api/"):
            for operation in item.values():
                operation["responses"]["503"] = _responses("Unavailable")
    return paths


def build_document(server_url: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "gamify",
            "version": _version,
            "description": "Spin wheels and scratch cards with provably fair draws. Every "
            "error is `application/problem+json` with a machine-readable `code`.",
        },
        "servers": [{"url": server_url}],
        "paths": _with_unavailable(_paths()),
        "components": {
            "schemas": {**copy.deepcopy(_SCHEMAS), **component_schemas()},
            "parameters": copy.deepcopy(_PARAMETERS),
            "responses": copy.deepcopy(_RESPONSES),
            "securitySchemes": {
                "customerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the token the storefront signs for the logged-in customer",
                },
                "eventsKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "GAMIFY_EVENTS_KEY",
                },
            },
        },
    }


@lru_cache(maxsize=16)
def openapi_document(server_url: str) -> str:
    """The document as JSON text, built once per server url."""
    return json.dumps(build_document(server_url), ensure_ascii=False, indent=1)
