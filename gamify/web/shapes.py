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
from gamify.core.fairness import ALGORITHMS

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
    """A campaign running now: a game, or a challenge."""

    id: Slug
    game: Game | Literal["challenge"]
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


class GuestsView(TypedDict):
    """How a shopper without an account plays (CONTRACT §13): the widget's guest form."""

    consent: Annotated[
        str, Field(description="the marketing consent text, in `lang`, for its unticked box")
    ]
    min_age: Annotated[int, Field(ge=1, description="who may play (the terms page says it)")]
    ask_age: Annotated[
        bool, Field(description="the form asks to confirm min_age; the play sends age_confirmed")
    ]


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
    terms_url: Annotated[
        str,
        Field(description="the campaign's terms page (HTML, es/en): organiser, odds, units left"),
    ]
    guests: Annotated[
        GuestsView | None,
        Field(description="null: only signed-in customers play (a token is needed)"),
    ]
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
    email: Annotated[
        str,
        Field(
            max_length=320,
            description="a guest's email (no token; a campaign with guests): limits count per "
            "mailbox; ignored with a customer token",
            json_schema_extra={"format": "email"},
        ),
    ]
    marketing_consent: Annotated[
        bool, Field(description="a guest ticked the consent box (default false)")
    ]
    age_confirmed: Annotated[
        bool, Field(description="a guest confirmed min_age (required when ask_age)")
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


Algorithm = Literal["gamify-fairness-v1", "gamify-fairness-v2"]


class EpochView(TypedDict):
    epoch: Count
    commitment: Hash
    server_seed: Annotated[
        Hash | None, Field(description="revealed when the epoch closes, null before")
    ]
    opened_at: Time
    revealed_at: Time | None
    algorithm: Annotated[
        Algorithm,
        Field(description="the fairness algorithm of the epoch's draws (CONTRACT §12)"),
    ]
    closes_at: Annotated[
        Time | None,
        Field(
            description="when the open epoch closes by itself and its seed is revealed "
            "(rotate_every, or the campaign's end); null once closed"
        ),
    ]


class Fairness(TypedDict):
    campaign: Slug
    algorithm: Annotated[
        Algorithm,
        Field(description="the open epoch's algorithm; each epoch names its own"),
    ]
    epochs: list[EpochView]
    audit_url: Annotated[str, Field(json_schema_extra={"format": "uri-reference"})]


class LogKey(TypedDict):
    """The log's signing key: its note name, the raw Ed25519 key, and the verifier key."""

    name: str
    ed25519: Annotated[str, Field(description="base64 of the 32-byte Ed25519 public key")]
    vkey: Annotated[str, Field(description="the signed-note verifier key <name>+<id>+<key>")]


class InclusionProof(TypedDict):
    """RFC 9162 PATH(seq, D[size]), bottom-up, and the tree's root at that size."""

    seq: Count
    size: Count
    leaf_hash: Hash
    hashes: list[Hash]
    root: Hash


ConsistencyProof = TypedDict(
    "ConsistencyProof",
    {"from": Count, "to": Count, "hashes": list[Hash]},
)
ConsistencyProof.__doc__ = "RFC 9162 PROOF(from, D[to]): the smaller tree is a prefix."


class PlayProof(TypedDict):
    """The play's RFC 9162 inclusion proof in the tree of ``size`` plays whose root the signed
    ``checkpoint`` (a C2SP signed note, as ``GET …/checkpoint`` gives) holds."""

    size: Count
    leaf_hash: Hash
    hashes: list[Hash]
    root: Hash
    checkpoint: str


class PlayReceipt(TypedDict):
    """The play's whole chain row (CONTRACT §5), so that its leaf hash can be recomputed from
    the receipt, with its coupon and its proof."""

    seq: Count
    campaign: Slug
    epoch: Count
    nonce: Count
    client_seed: str
    player: Annotated[str, Field(description="the shopper's pseudonym in this campaign's log")]
    drawn: str
    awarded: str
    at: Time
    config_hash: Hash
    prev_hash: Hash
    hash: Hash
    coupon: str | None
    proof: Annotated[
        PlayProof | None,
        Field(description="null until a signed checkpoint covers the play (CONTRACT §12)"),
    ]


class PlayList(TypedDict):
    plays: list[PlayReceipt]


Progress = Annotated[
    float, Field(ge=0, description="a count, or a sum of amounts (up to 4 decimals)")
]


class StepMoved(TypedDict):
    """A challenge step an event moved, as it stands after the event."""

    challenge: Slug
    step: str
    progress: Progress
    target: Progress
    done: bool


class ExtraPlays(TypedDict):
    campaign: Slug
    count: Annotated[int, Field(ge=1)]


class RewardGiven(TypedDict):
    """A challenge window completed; past ``winners_max`` it is not rewarded."""

    challenge: Slug
    window: Annotated[str, Field(description="all, W<monday> or M<year-month>")]
    rewarded: bool
    label: str
    coupon: NotRequired[str | None]
    points: NotRequired[int | None]
    plays: NotRequired[ExtraPlays | None]
    value: NotRequired[float | None]


class EventResult(TypedDict):
    """What became of one event: stored now, or already stored (then nothing changed)."""

    id: str
    status: Literal["accepted", "duplicate"]
    progress: Annotated[list[StepMoved], Field(description="challenge steps the event moved")]
    rewards: Annotated[list[RewardGiven], Field(description="rewards the event granted")]


class EventResults(TypedDict):
    results: Annotated[list[EventResult], Field(description="one per event, in order")]


class QuizQuestion(TypedDict):
    text: str
    options: Annotated[list[str], Field(min_length=2)]


QuizView = TypedDict(
    "QuizView",
    {
        "pass": Annotated[int, Field(ge=1, description="right answers needed")],
        "attempts": Annotated[int, Field(ge=1, description="attempts per customer and window")],
        "questions": list[QuizQuestion],
    },
)
"""A quiz: its questions and options, never which option is right."""


class ChallengeStep(TypedDict):
    id: str
    label: str
    kind: Literal["event", "quiz"]
    event: str | None
    target: Progress
    sum: Annotated[str | None, Field(description="total, quantity or attributes.NAME")]
    quiz: NotRequired[QuizView]


class WindowView(TypedDict):
    starts: Time
    ends: Time


class ChallengeRewardView(TypedDict):
    label: str
    value: float | None
    points: int | None
    plays: ExtraPlays | None
    coupon: Annotated[bool, Field(description="whether the reward gives a coupon code")]


class StepProgress(TypedDict):
    id: str
    label: str
    progress: Progress
    target: Progress
    done: bool
    attempts_left: NotRequired[Annotated[int, Field(ge=0, description="quiz steps only")]]


class MyReward(TypedDict):
    label: str
    points: int | None
    plays: ExtraPlays | None
    rewarded: NotRequired[Annotated[bool, Field(description="once completed")]]
    coupon: NotRequired[Annotated[str, Field(description="once completed, with a coupon")]]


class MyChallenge(TypedDict):
    """A challenge as the customer stands in it, in its current window (the last one once it
    ended)."""

    id: Slug
    title: str
    status: Literal["not_started", "in_progress", "completed", "expired"]
    ends: Annotated[Time, Field(description="when the current window ends")]
    challenge_ends: Time
    window: str
    steps: list[StepProgress]
    reward: MyReward


class ChallengeList(TypedDict):
    challenges: list[MyChallenge]


class ChallengeView(TypedDict):
    """A challenge: texts, steps (quiz questions without their answers), reward."""

    id: Slug
    game: Literal["challenge"]
    lang: str
    title: str
    description: str | None
    timezone: str
    starts: Time
    ends: Time
    active: bool
    complete: Literal["all", "any"]
    repeat: Literal["never", "week", "month"]
    winners_max: Annotated[int, Field(ge=1)] | None
    window: Annotated[WindowView | None, Field(description="the window running now")]
    steps: list[ChallengeStep]
    reward: ChallengeRewardView
    progress: NotRequired[Annotated[MyChallenge, Field(description="with a customer token")]]


class QuizAnswer(TypedDict):
    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    step: Annotated[str, Field(description="the quiz step's id")]
    answers: Annotated[list[Annotated[int, Field(ge=0)]], Field(description="one per question")]


class QuizResult(TypedDict):
    correct: Count
    passed: bool
    attempts_left: Count
    challenge: MyChallenge


class Expiring(TypedDict):
    points: Annotated[int, Field(ge=1)]
    on: Annotated[str, Field(description="the local date (the programme's time zone)")]


class Points(TypedDict):
    """Usable now, waiting out the return window, and what expires next."""

    available: Count
    pending: Count
    expiring: list[Expiring]


class NextLevel(TypedDict):
    id: Slug
    label: str
    min: Count
    points_needed: Annotated[int, Field(ge=0, description="points to earn to reach it")]


class Tier(TypedDict):
    """The customer's level, judged on points earned in the window (never the balance)."""

    id: Slug
    label: str
    since: Time | None
    multiplier: float
    qualifying: Annotated[int, Field(description="points earned in the window, net of refunds")]
    next: NextLevel | None


class LoyaltyReward(TypedDict):
    id: Slug
    label: str
    description: str | None
    cost: Annotated[int, Field(ge=1)]
    affordable: bool


class LoyaltyView(TypedDict):
    """The customer's points, tier (null without tiers) and what points buy."""

    points: Points
    tier: Tier | None
    rewards: list[LoyaltyReward]


class RedeemRequest(TypedDict):
    reward: Slug


class Redeemed(TypedDict):
    """The reward bought: its coupon, the points spent, and what is left."""

    reward: Slug
    coupon: str | None
    points: Annotated[int, Field(ge=1, description="points spent")]
    available: Count


SHAPES: tuple[type, ...] = (
    EventResults,
    ChallengeView,
    ChallengeList,
    QuizAnswer,
    QuizResult,
    CampaignList,
    CampaignView,
    PlayRequest,
    PlayResponse,
    Fairness,
    LogKey,
    InclusionProof,
    ConsistencyProof,
    PlayList,
    LoyaltyView,
    RedeemRequest,
    Redeemed,
)
"""The top-level bodies; the shapes they contain are published with them."""

assert ALGORITHMS == ("gamify-fairness-v1", "gamify-fairness-v2")  # named as literals above


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
