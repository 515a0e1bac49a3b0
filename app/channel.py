"""Every Socket.IO message of bbauth, as pydantic models: the schemas of the AsyncAPI document.

The namespaces still emit plain dicts (built in ``realtime.person_namespace``,
``realtime.admin_namespace``, ``realtime.pipeline``, ``realtime.enrollment``,
``realtime.server``, ``realtime.recovery``); these models describe them,
and the real-time tests check every payload a live server sends against their schemas. What the
server sends forbids unknown members, so a field added on one side only fails a test.

Problems are the REST API's ``Problem`` (``app.openapi.PROBLEM_SCHEMA``), shared, not copied.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, RootModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import CoreSchema

from app.openapi import PROBLEM_SCHEMA
from models.events import MAX_COORD_PX, MAX_TIME_MS
from models.keyclass import KEY_CLASSES, MAX_SLOT

SCHEMA_REF = "#/components/schemas/{model}"
"""Where the schemas live, in the AsyncAPI document and in the OpenAPI wrapper the web app's
types are generated from (the same path in both)."""

TrustLevel = Literal["high", "medium", "low", "critical"]
SessionState = Literal["active", "challenged"]
Modality = Literal["keystroke", "mouse"]
Rule = Literal["challenge_below", "revoke_below"]
Seconds = Annotated[float, Field(ge=0)]
MAX_PAGE_SIZE = 200
"""Most rows an administrator's page holds."""
DEFAULT_PAGE_SIZE = 25
MAX_USER_LENGTH = 320


class Message(BaseModel):
    """A payload: every member is documented, none other is sent."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


# --- the shared problem ----------------------------------------------------------------------


class Problem(BaseModel):
    """RFC 9457 problem details with a stable ``code``: the REST API's error body."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return dict(PROBLEM_SCHEMA)


class ChannelProblem(BaseModel):
    """An ``error`` event: a ``Problem`` with what the channel dropped."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "description": "A problem with a message of this socket (the batch was refused, cut "
            "or not processed); the socket stays open.",
            "allOf": [
                {"$ref": SCHEMA_REF.format(model="Problem")},
                {
                    "type": "object",
                    "properties": {
                        "dropped": {
                            "type": "object",
                            "description": "events_dropped: events dropped, by reason",
                            "additionalProperties": {"type": "integer", "minimum": 0},
                        },
                        "dropped_batches": {
                            "type": "integer",
                            "minimum": 1,
                            "description": "rate_limited, busy, unavailable, consent_required: "
                            "batches dropped "
                            "since the last notice (one notice every few seconds at most)",
                        },
                        "modality": {
                            "type": "string",
                            "enum": ["keystroke", "mouse"],
                            "description": "enrollment_refused: the modality whose window "
                            "was not learned from (machine-like, a replay or a near-duplicate)",
                        },
                        "quality": {
                            "type": "number",
                            "minimum": 0,
                            "maximum": 1,
                            "description": "enrollment_refused: the enrollment's quality score",
                        },
                    },
                },
            ],
        }


class AckFailure(Message):
    """A refused command: the problem, as REST would answer it."""

    ok: Literal[False]
    error: Problem


# --- handshake -------------------------------------------------------------------------------


class SocketAuth(Message):
    """The handshake's ``auth`` payload, asked afresh at every (re)connect."""

    token: Annotated[str, Field(min_length=1)]
    """The session token (as REST's ``Authorization: Bearer``)."""
    dpop: str | None = None
    """A DPoP proof (RFC 9449) of the key the token is bound to: ``htm`` GET, ``htu`` the
    Socket.IO endpoint (``<origin>/socket.io/``); required for a bound token."""


class ConnectRefusal(Message):
    """A refused connect, as the CONNECT_ERROR packet carries it (socket.io-client raises
    ``connect_error`` with an ``Error(message)`` whose ``data`` is the problem)."""

    message: str
    """The problem's ``detail``."""
    data: Problem


# --- the person's channel, "/" ---------------------------------------------------------------


KeyClass = Literal[KEY_CLASSES]  # type: ignore[valid-type]  # built from the one table


class KeyWireEvent(Message):
    """A key going down or up, as its class: never the character or which key it was. The
    capture code reduces ``KeyboardEvent.code`` to the class before anything is sent (the table:
    ``keyclasses.json`` beside this document); an event with ``code`` refuses its batch
    (``raw_key_identity``)."""

    t: Annotated[float, Field(ge=0, le=MAX_TIME_MS)]
    """ms, ``performance.now()``; never decreasing within the key stream."""
    type: Literal["down", "up"]
    key: KeyClass
    """The key's class: ``<hand>_<row>.<finger>`` for a character key (``L_top.3``: left hand,
    top row, middle finger; fingers 2 index to 5 little), else ``space``, ``backspace``,
    ``enter``, ``shift_left``, ``shift_right``, ``modifier`` or ``other``."""
    slot: Annotated[int, Field(ge=1, le=MAX_SLOT)] | None = None
    """Which of the keys of this class held at once this is (the lowest free one; absent: 0):
    the down and the up of one press carry the same slot."""
    same: Literal[True] | None = None
    """down: the same key as the press before it (a doubled letter); absent: another key."""


class MouseWireEvent(Message):
    """A pointer event."""

    t: Annotated[float, Field(ge=0, le=MAX_TIME_MS)]
    """ms, ``performance.now()``; never decreasing within the pointer stream."""
    type: Literal["move", "down", "up", "wheel"]
    x: Annotated[float, Field(ge=-MAX_COORD_PX, le=MAX_COORD_PX)]
    """CSS px (``clientX``)."""
    y: Annotated[float, Field(ge=-MAX_COORD_PX, le=MAX_COORD_PX)]
    """CSS px (``clientY``)."""
    button: Annotated[int, Field(ge=0, le=4)] | None = None
    """As in the DOM: 0 left, 1 middle, 2 right."""
    dx: Annotated[float, Field(ge=-MAX_COORD_PX, le=MAX_COORD_PX)] | None = None
    """wheel: px."""
    dy: Annotated[float, Field(ge=-MAX_COORD_PX, le=MAX_COORD_PX)] | None = None
    """wheel: px."""


class InputBatch(Message):
    """Captured input, about once a second. Unusable events are dropped and counted (an
    ``error`` ``events_dropped``); a batch longer than the server's limit is cut to it; a batch
    with a raw key identity (``code``) is refused whole (an ``error`` ``raw_key_identity``)."""

    events: list[KeyWireEvent | MouseWireEvent]


class TrustView(Message):
    """What the person sees of their trust: never the evidence of the last window."""

    score: Annotated[float, Field(ge=0, le=100)]
    """0–100, as of when the server sent it."""
    level: TrustLevel
    windows: Annotated[int, Field(ge=0)]
    """Windows scored since the session's last code."""
    verified: bool
    """Evidence (a scored window, or a code) younger than ``evidence_max_age_s``."""
    evidence_age_s: Seconds | None
    """Seconds since the last evidence, as of when the server sent this; null: none yet."""


class TrustThresholds(Message):
    """The server's trust settings: the levels' lines (0–100) and the evidence's maximum age."""

    challenge_below: float
    """A session whose trust falls below this is re-challenged."""
    high_at: float
    """Trust at or above this is ``high``."""
    low_at: float
    """Trust below this is ``critical``; from here to the challenge line, ``low``."""
    evidence_max_age_s: Seconds
    """A session with no evidence for longer than this (s) is unverified."""


class ModelVersions(Message):
    """The model version scoring each modality; null: still enrolling."""

    keystroke: int | None
    mouse: int | None


class StatusMessage(Message):
    """Sent once a socket is connected: the session's state, trust and settings."""

    session_id: str
    state: SessionState
    trust: TrustView
    history: list[float]
    """Recent trust scores (0–100), oldest first."""
    model_versions: ModelVersions
    thresholds: TrustThresholds


class ModalityProgress(Message):
    """How far the learning of one modality is."""

    samples: Annotated[int, Field(ge=0)]
    """Windows stored (committed: a window counted here is never lost)."""
    pending: Annotated[int, Field(ge=0)]
    """Windows waiting for the database (it was away)."""
    needed: Annotated[int, Field(ge=0)]
    ratio: Annotated[float, Field(ge=0, le=1)]
    trained: bool


class EnrollmentProgress(Message):
    keystroke: ModalityProgress
    mouse: ModalityProgress


class EnrollmentMessage(Message):
    """Learning progress of the user's modalities that have no model yet (to every socket of
    the user, also when a model becomes ready)."""

    mode: Literal["enrollment"]
    progress: EnrollmentProgress
    paused: Literal["verify"] | None = None
    """``verify``: the modality being learned waits for a verified session (a fresh code)."""


class TrustMessage(TrustView):
    """A window was scored: the session's new trust (to every socket of the session)."""

    modality: Modality
    window_size: Annotated[int, Field(ge=1)]
    """Keystrokes or pointer actions in the window."""
    latency_ms: Seconds
    """From the batch's receipt to this message, on the server (ms)."""
    p_genuine: Annotated[float, Field(ge=0, le=1)] | None = None
    """Evaluation servers only (``BBAUTH_EVALUATION_SCORES``); refused in production."""


class ReauthRequiredMessage(Message):
    """The session is challenged: nothing is scored and REST refuses it until a fresh one-time
    code (``POST /api/auth/reauth/verify``). Also sent on ``/admin`` to an administrator whose
    own session was challenged, before the socket is closed."""

    session_id: str
    cause: Literal["trust", "admin", "policy"] | None = None
    """Who asked: the trust rule, the security team, or a policy."""
    reason: str | None = None


class ReauthOkMessage(Message):
    """The re-challenge was answered: trust starts over."""

    session_id: str
    trust: TrustView


class RevokedMessage(Message):
    """The session ended (revoked or expired); the server closes the socket next."""

    session_id: str
    reason: str | None = None
    """``session_expired``, ``session_revoked`` or the revocation's reason."""
    ended_by: Literal["owner", "admin", "system"] | None = None


class PingTrustOk(Message):
    ok: Literal[True]
    state: SessionState
    trust: TrustView


class PingTrustAck(RootModel[PingTrustOk | AckFailure]):
    """The acknowledgement of ``ping_trust``: the trust as of now, or why there is none."""


# --- the security team's channel, "/admin" ---------------------------------------------------


class ExplanationReason(Message):
    """One feature's part in a window's score (``models.explain``): derived features only."""

    feature: str
    """The feature's name in the model's schema (e.g. ``hold.R_top.tmean``), or
    ``liveness.replay`` / ``liveness.machine``."""
    llr: float
    """Log-likelihood ratio owner : population of this feature's value (negative: away from
    the owner), treating features as independent: what stood out, not parts of the score."""
    change: float | None
    """Relative difference from the owner's median (0.38: 38 % higher), where it means one."""
    text: str
    """In words, e.g. "hold times of right-hand top-row keys 38 % longer than usual"."""


class WindowExplanation(Message):
    """The few features that moved a scored window most, toward its verdict."""

    modality: Modality
    reasons: list[ExplanationReason]


class AdminSessionRow(Message):
    """One live session (a socket watches it), as the dashboard lists it. Times, not ages: a
    row changes when the session does, not as the seconds pass."""

    session_id: str
    user_id: str | None
    email: str | None
    state: SessionState
    connected_since: float | None
    """Epoch seconds."""
    sockets: Annotated[int, Field(ge=0)]
    events_per_second: Annotated[float, Field(ge=0)]
    model_versions: ModelVersions | None
    trust: Annotated[float, Field(ge=0, le=100)] | None
    """As of the message's ``at``."""
    level: TrustLevel | None
    verified: bool
    """Evidence younger than the maximum age (see TrustView)."""
    evidence_at: float | None
    """Epoch seconds of the last evidence (a scored window, or a code); null: none yet."""
    last_evidence: float | None
    """The last window's evidence (log-likelihood ratio, nats); for the security team only."""
    rule: Rule | None
    """The rule that fired on this session, if one did."""
    liveness: Literal["replay", "machine"] | None = None
    """The session's input was found not live: replayed, or machine-made (its first flag)."""
    history: list[float]
    explanation: WindowExplanation | None = None
    """Why the last scored window moved trust as it did; for the security team only."""


class UnmonitoredSession(Message):
    """A live session that holds no socket: it uses the API only, so no behaviour is seen."""

    session_id: str
    state: SessionState
    email: str
    last_seen_at: Annotated[str, Field(json_schema_extra={"format": "date-time"})]
    created_at: Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class SessionQuery(Message):
    """The page of live sessions a socket watches (``watch``); every member is optional."""

    page: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    """From 0."""
    page_size: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE
    sort: Literal["trust", "connected_since"] = "trust"
    """``trust``: by the trust of the last window (ascending: lowest first); ``connected_since``:
    by when the session's first socket connected."""
    descending: bool = False
    state: SessionState | None = None
    liveness: Literal["flagged", "replay", "machine"] | None = None
    """``flagged``: input found not live, either way."""
    user: Annotated[str, Field(max_length=MAX_USER_LENGTH)] | None = None
    """A user's email (any case) or id: that user's sessions only (also of ``unmonitored``)."""


class SessionCounts(Message):
    """How many live sessions there are, on every worker."""

    connected: Annotated[int, Field(ge=0)]
    """Holding a socket (listed)."""
    active: Annotated[int, Field(ge=0)]
    challenged: Annotated[int, Field(ge=0)]
    flagged: Annotated[int, Field(ge=0)]
    """Input found not live (``replay`` + ``machine``)."""
    replay: Annotated[int, Field(ge=0)]
    machine: Annotated[int, Field(ge=0)]
    unmonitored: Annotated[int, Field(ge=0)]
    """Live in the database but holding no socket."""


class SessionsMessage(Message):
    """The page a socket watches, whole: after ``watch`` (or connecting: the default query)
    and whenever the sessions on the page or their order change."""

    query: SessionQuery
    sessions: list[AdminSessionRow]
    """The page's rows, in order."""
    total: Annotated[int, Field(ge=0)]
    """Sessions matching the query, on every page."""
    counts: SessionCounts
    unmonitored: list[UnmonitoredSession]
    """The most recently used unmonitored sessions (of the query's user, if it names one)."""
    at: float
    """Server time, epoch seconds."""


class SessionsDelta(Message):
    """What changed on the watched page since the last message (same sessions, same order):
    the rows that changed, whole, and the counts; nothing is sent when nothing changed."""

    changed: list[AdminSessionRow]
    total: Annotated[int, Field(ge=0)]
    counts: SessionCounts
    unmonitored: list[UnmonitoredSession] | None = None
    """Present when the unmonitored list changed."""
    at: float
    """Server time, epoch seconds."""


class SessionCommand(Message):
    """The session an administrator's command is about."""

    session_id: Annotated[str, Field(json_schema_extra={"format": "uuid"})]


class CommandOk(Message):
    ok: Literal[True]


class CommandAck(RootModel[CommandOk | AckFailure]):
    """The acknowledgement of ``challenge`` and ``revoke``."""


# --- the schemas -----------------------------------------------------------------------------

MODELS: tuple[type[BaseModel], ...] = (
    Problem,
    ChannelProblem,
    SocketAuth,
    ConnectRefusal,
    InputBatch,
    StatusMessage,
    EnrollmentMessage,
    TrustMessage,
    ReauthRequiredMessage,
    ReauthOkMessage,
    RevokedMessage,
    PingTrustAck,
    SessionsMessage,
    SessionsDelta,
    SessionQuery,
    SessionCommand,
    CommandAck,
)
"""Every payload (the models they use come along)."""


class _ContractSchema(GenerateJsonSchema):
    """pydantic's JSON Schema without a title on every property (generated types read better)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def _markdown(schema: dict[str, Any]) -> None:
    """Docstrings' reStructuredText literals as the Markdown AsyncAPI descriptions are."""
    if isinstance(schema.get("description"), str):
        schema["description"] = schema["description"].replace("``", "`")
    for member in schema.get("properties", {}).values():
        _markdown(member)


def schemas() -> dict[str, Any]:
    """The JSON Schema of every payload and of what they use, by name; references point to
    ``#/components/schemas/<name>``."""
    _, defs = models_json_schema(
        [(model, "validation") for model in MODELS],
        ref_template=SCHEMA_REF,
        schema_generator=_ContractSchema,
    )
    found: dict[str, Any] = defs.get("$defs", {})
    for schema in found.values():
        _markdown(schema)
        for member in schema.get("properties", {}).values():
            # A member left out is absent, not null-by-default: generated types keep it optional.
            if member.get("default", ...) is None:
                del member["default"]
    return dict(sorted(found.items()))
