"""Every JSON body the API sends or takes, declared once.

The views build these ``TypedDict`` s (mypy checks their keys and types), and
:mod:`gamify.web.openapi` publishes their JSON Schemas, made from the same declarations by
pydantic, as the OpenAPI document's components. The docstrings become the schemas'
descriptions. Nothing is validated at run time on the way out: the tests check every response
they see against the published document.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import ConfigDict, Field, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema
from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12

from gamify.core.campaign import Game
from gamify.core.rules import ALGORITHM

CAMPAIGN_ID_PATTERN = "^[a-z0-9-]{1,64}$"
CLIENT_SEED_PATTERN = "^[A-Za-z0-9_-]{1,64}$"
IDEMPOTENCY_KEY_PATTERN = "^[\\x21-\\x7e]{1,128}$"
HASH_PATTERN = "^[0-9a-f]{64}$"

Time = Annotated[
    str,
    Field(
        pattern="Z$",
        description="UTC, ISO 8601, ending in Z",
        json_schema_extra={"format": "date-time"},
    ),
]
Hash = Annotated[str, Field(pattern=HASH_PATTERN)]
Slug = Annotated[str, Field(pattern=CAMPAIGN_ID_PATTERN)]
Count = Annotated[int, Field(ge=0)]


class CampaignSummary(TypedDict):
    """A campaign running now."""

    id: Slug
    game: Game
    title: str
    starts: Time
    ends: Time
    active: bool


class CampaignList(TypedDict):
    lang: Annotated[str, Field(description="language of the texts")]
    campaigns: list[CampaignSummary]


class PrizeView(TypedDict):
    id: str
    label: str
    color: str | None
    probability: Annotated[
        float, Field(ge=0, le=1, description="chance of being drawn (weight / sum of weights)")
    ]
    win: bool
    segment: Annotated[int, Field(ge=0, description="position in the file: wheel segment index")]


class LimitView(TypedDict):
    plays: Annotated[int, Field(ge=1)]
    per: Literal["day", "week", "campaign"]


class CampaignView(TypedDict):
    """A campaign: texts, prizes and odds, schedule, the open epoch's commitment."""

    id: Slug
    game: Game
    lang: str
    title: str
    description: str | None
    timezone: Annotated[str, Field(description="IANA time zone of limits and days")]
    starts: Time
    ends: Time
    active: Annotated[bool, Field(description="running now")]
    prizes: Annotated[list[PrizeView], Field(min_length=1)]
    epoch: Count | None
    commitment: Annotated[
        Hash | None, Field(description="SHA-256 of the current epoch's server seed")
    ]
    fallback: str
    limits: list[LimitView]
    plays_left: NotRequired[
        Annotated[
            Count | None,
            Field(description="with a customer token only; null when there is no limit"),
        ]
    ]
    next_play_at: NotRequired[
        Annotated[
            Time | None,
            Field(
                description="with a customer token only: when plays_left is 0, when the next "
                "play frees up (null: not before the campaign ends, or plays are left)"
            ),
        ]
    ]


class PlayRequest(TypedDict, total=False):
    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    client_seed: Annotated[
        str,
        Field(
            pattern=CLIENT_SEED_PATTERN,
            description="the player's seed; the server makes one when absent",
        ),
    ]


class AwardedPrize(TypedDict):
    """The awarded prize."""

    id: str
    label: str
    win: bool
    color: str | None


class PlayView(TypedDict):
    seq: Count
    epoch: Count
    nonce: Count
    client_seed: Annotated[str, Field(pattern=CLIENT_SEED_PATTERN)]
    commitment: Hash | None
    prize: AwardedPrize
    drawn: Annotated[str, Field(description="the drawn prize (see fallback rules)")]
    segment: Annotated[int, Field(ge=0, description="segment index of the awarded prize")]
    coupon: str | None
    at: Time
    hash: Hash
    config_hash: Hash


class Allowance(TypedDict):
    plays_left: Count | None
    next_play_at: Time | None


class PlayResponse(Allowance):
    play: PlayView


class EpochView(TypedDict):
    epoch: Count
    commitment: Hash
    server_seed: Annotated[
        Hash | None, Field(description="revealed when the epoch closes, null before")
    ]
    opened_at: Time
    revealed_at: Time | None


class Fairness(TypedDict):
    campaign: Slug
    algorithm: Literal["gamify-fairness-v1"]
    epochs: list[EpochView]
    audit_url: Annotated[str, Field(json_schema_extra={"format": "uri-reference"})]


class PlayReceipt(TypedDict):
    seq: Count
    campaign: Slug
    epoch: Count
    nonce: Count
    client_seed: str
    drawn: str
    awarded: str
    at: Time
    hash: Hash
    coupon: str | None


class PlayList(TypedDict):
    plays: list[PlayReceipt]


class EventResult(TypedDict):
    """What became of one event: stored now, or already stored (then nothing changed)."""

    id: str
    status: Literal["accepted", "duplicate"]
    progress: Annotated[list[Any], Field(description="challenge steps the event moved")]
    rewards: Annotated[list[Any], Field(description="rewards the event granted")]


class EventResults(TypedDict):
    results: Annotated[list[EventResult], Field(description="one per event, in order")]


SHAPES: tuple[type, ...] = (
    EventResults,
    CampaignList,
    CampaignView,
    PlayRequest,
    PlayResponse,
    Fairness,
    PlayList,
)
"""The top-level bodies; the shapes they contain are published with them."""

assert ALGORITHM == "gamify-fairness-v1"  # Fairness.algorithm names it as a literal


class _OpenAPISchemas(GenerateJsonSchema):
    """pydantic's JSON Schema without the titles it makes up from field names, and with
    ``a | None`` written as OpenAPI 3.1 readers expect (``oneOf`` with ``null``)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        inner = self.generate_inner(schema["schema"])
        return {"oneOf": [inner, {"type": "null"}]}


def component_schemas(ref_prefix: str = "#/components/schemas/") -> dict[str, Any]:
    """The JSON Schema of every shape, named by its class, referring to each other by
    ``ref_prefix`` + name."""
    adapters: list[tuple[type, Literal["serialization"], TypeAdapter[Any]]] = [
        (shape, "serialization", TypeAdapter(shape)) for shape in SHAPES
    ]
    _, definitions = TypeAdapter.json_schemas(
        adapters,
        ref_template=ref_prefix + "{model}",
        schema_generator=_OpenAPISchemas,
    )
    schemas: dict[str, Any] = definitions.get("$defs", {})
    for schema in schemas.values():
        schema.pop("title", None)
    return schemas
