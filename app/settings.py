"""One typed settings object, read from ``BBAUTH_*`` environment variables once."""

from __future__ import annotations

import math
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError

REPO_ROOT = Path(__file__).resolve().parent.parent

ForwardAuthMinimum = Literal["session", "low", "medium", "high"]


class SettingsError(RuntimeError):
    """A setting is invalid; the message names the environment variable."""


class Settings(BaseSettings):
    """Everything configurable about bbauth. Each field is ``BBAUTH_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="BBAUTH_", extra="ignore", frozen=True)

    env: Literal["development", "production", "test"] = "development"
    """Deployment flavour: production turns on JSON logs and strict checks."""

    var_dir: Path = REPO_ROOT / "var"
    """Folder for the embedded database, generated secret, outbox and model store."""

    database_url: str = ""
    """SQLAlchemy async URL; empty means an SQLite file under ``var_dir``."""

    redis_url: str = ""
    """Redis URL for shared state and the Socket.IO message queue; empty keeps state in process.
    ``redis+sentinel://host:26379,host2:26379/<db>/<service_name>`` finds the primary through
    Redis Sentinel (and follows it across a failover)."""

    redis_prefix: str = "bbauth:"
    """Prefix of every key bbauth writes to Redis."""

    secret_key: str = ""
    """Key for HMACs of codes and tokens; empty means generate one and keep it under ``var_dir``."""

    host: str = "127.0.0.1"
    """Address ``bbauth serve`` binds to."""

    port: int = Field(default=5001, ge=1, le=65535)
    """Port ``bbauth serve`` binds to."""

    workers: int = Field(default=1, ge=1, le=64)
    """Hypercorn worker processes for ``bbauth serve``."""

    public_url: str = ""
    """URL printed at start-up and used in links; empty means http://host:port."""

    cors_origins: list[str] = Field(default_factory=list)
    """Other origins allowed to call the API and open sockets from a browser (JSON list of
    ``scheme://host[:port]``, no wildcard); the app's own origin is always allowed."""

    smtp_host: str = ""
    """SMTP server for one-time codes; empty writes codes to the console and ``var/outbox``."""

    smtp_port: int = Field(default=25, ge=1, le=65535)
    """SMTP port."""

    smtp_username: str = ""
    """SMTP user name, if the server wants a login."""

    smtp_password: str = ""
    """SMTP password."""

    smtp_starttls: bool = False
    """Upgrade the SMTP connection with STARTTLS."""

    smtp_sender: str = "bbauth <no-reply@bbauth.local>"
    """From address of code messages."""

    mail_to_console: bool = False
    """Without SMTP, print mail (codes included) on the console and keep it in ``var/outbox``.
    Always on outside production; production refuses to start without SMTP unless this is set
    (for a demo: codes in logs are codes for whoever reads the logs)."""

    session_ttl_seconds: int = Field(default=12 * 3600, ge=60)
    """Lifetime of a session token."""

    session_idle_seconds: int = Field(default=30 * 60, ge=60)
    """A session unused this long expires (NIST SP 800-63B AAL2: 30 minutes). Input on its
    socket counts as use; a socket of an idle session is cut."""

    step_up_max_age_seconds: int = Field(default=300, ge=30)
    """How recently a one-time code must have been entered on this session for the operations
    that change the account's protection (factors, password, email, enrollment, other
    sessions); older, they answer 401 ``step_up_required`` with a challenge."""

    code_failure_limit: int = Field(default=10, ge=3, le=100)
    """Consecutive wrong one-time codes of one account (sign-in, re-challenge and step-up
    alike) after which codes are refused until the owner's emailed link or an administrator
    unlocks them. NIST SP 800-63B allows up to 100; at 10, a guesser's odds per lock are at most
    10 × 3 / 10⁶ (three TOTP steps accepted), and people almost never mistype ten in a row."""

    rechallenge_max_failures: int = Field(default=5, ge=1, le=50)
    """Wrong codes a challenged session may enter, across all its re-challenges, before it is
    revoked and its owner told."""

    dpop_required: bool = True
    """Sign-ins must bind their token to a key the browser holds (RFC 9449, DPoP): every later
    use of the token needs a fresh proof signed by that key, so a token copied from a log, a
    proxy or another machine is useless. Operator tools' sessions (``bbauth simulate``) are
    unbound; ``bbauth client`` speaks DPoP for trying the API by hand."""

    dpop_max_skew_seconds: int = Field(default=60, ge=5, le=600)
    """How far a proof's ``iat`` may be from the server's clock; its ``jti`` is remembered (in
    Redis, across workers) for twice as long, so a captured proof cannot be replayed."""

    max_sockets_per_session: int = Field(default=4, ge=1, le=64)
    """Sockets one session may hold open at once (all share one input budget)."""

    otp_ttl_seconds: int = Field(default=300, ge=30)
    """Lifetime of an emailed one-time code."""

    otp_max_attempts: int = Field(default=5, ge=1)
    """Wrong codes allowed per challenge before it is spent."""

    otp_max_resends: int = Field(default=3, ge=0)
    """New codes a challenge may send after the first."""

    login_challenge_ttl_seconds: int = Field(default=600, ge=60)
    """How long a password login may wait for its second factor."""

    webauthn_rp_id: str = "localhost"
    """WebAuthn relying-party id: the registrable domain passkeys are bound to (``localhost``
    for ``make run``; a passkey made for one RP id never answers another)."""

    webauthn_rp_name: str = "bbauth"
    """The name an authenticator shows for this service."""

    webauthn_origins: list[str] = Field(default_factory=list)
    """Origins a passkey ceremony may come from (JSON list); empty means the public URL's
    origin when its host is the RP id (or under it), and ``http://localhost:<port>``."""

    webauthn_challenge_ttl_seconds: int = Field(default=120, ge=10, le=600)
    """How long a passkey ceremony's challenge may be answered (once, on any worker)."""

    passkey_login: bool = False
    """Passkey-only sign-in (discoverable credentials, no password); off by default."""

    require_passkey: bool = False
    """Accounts with a passkey answer re-challenges and step-ups with it only: codes are refused
    for them (accounts without one keep their codes)."""

    lockout_threshold: int = Field(default=5, ge=1)
    """Consecutive wrong passwords from one client before that client waits: a device that
    signed in to the account before counts its own failures, unknown clients share one count
    per account. Nobody else's failures ever hold back a known device."""

    lockout_base_seconds: int = Field(default=30, ge=1)
    """First wait of a known device past the threshold; each further failure doubles it."""

    lockout_max_seconds: int = Field(default=3600, ge=1)
    """Longest wait of a known device."""

    unknown_client_delay_base_seconds: float = Field(default=1.0, gt=0)
    """First delay for unknown clients past the threshold; each further failure doubles it."""

    unknown_client_delay_max_seconds: float = Field(default=300.0, gt=0)
    """Longest delay for unknown clients (it caps a guesser at ~290 passwords a day and
    never locks the owner's known devices)."""

    account_link_ttl_seconds: int = Field(default=7 * 86400, ge=3600)
    """How long the links in security notices ("this wasn't me", "unlock codes") work."""

    rate_limit_ip_per_minute: int = Field(default=30, ge=1)
    """Login and code attempts allowed per client IP per minute."""

    rate_limit_account_per_minute: int = Field(default=10, ge=1)
    """Login attempts allowed per account (email) per minute."""

    sign_ups_per_ip_per_hour: int = Field(default=10, ge=1)
    """Sign-ups allowed per client IP per hour (checked before any password is hashed)."""

    sign_ups_per_minute: int = Field(default=30, ge=1)
    """Sign-ups allowed per minute for the whole deployment: bounds the argon2 work anyone can
    ask of the workers through sign-up."""

    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    """Largest accepted request body."""

    argon2_time_cost: int = Field(default=3, ge=1, le=20)
    """argon2id passes over memory per password hash."""

    argon2_memory_kib: int = Field(default=65536, ge=8, le=4 * 1024 * 1024)
    """argon2id memory per password hash, KiB."""

    keystroke_window: int = Field(default=50, ge=10, le=500)
    """Keystrokes per scored keystroke window."""

    mouse_window: int = Field(default=10, ge=1, le=200)
    """Completed mouse actions per scored mouse window."""

    enroll_keystroke_windows: int = Field(default=20, ge=5)
    """Keystroke windows needed before a keystroke model is trained (calibration uses 5 folds)."""

    enroll_mouse_actions: int = Field(default=200, ge=10)
    """Mouse actions needed before a mouse model is trained."""

    trust_challenge_below: float = Field(default=50.0, ge=0, le=100)
    """Trust under which a session is forced into a one-time-code re-challenge."""

    trust_decay: float = Field(default=0.95, gt=0, le=1)
    """Share of accumulated suspicion kept from one window to the next."""

    trust_revoke_below: float | None = Field(default=None, ge=0, le=100)
    """Trust under which a session is revoked outright and its owner told, instead of being
    re-challenged (off when unset). At or above ``BBAUTH_TRUST_CHALLENGE_BELOW`` it replaces
    every challenge; below it, it revokes when one window takes trust past both thresholds
    (a clearly foreign window), and challenges otherwise."""

    trust_prior: float = Field(default=75.0, ge=0, le=100)
    """Trust a session without evidence drifts down to (never lower): what is known of whoever
    is at the controls when nothing has been seen of them. 75 is still "high"."""

    evidence_max_age_seconds: float = Field(default=120.0, ge=10, le=3600)
    """A session with no scored window for this long is unverified: operations that need fresh
    trust ask for a code. Continuous typing closes a 50-keystroke window every 15–25 s and
    pointer work a 10-action window every 10–20 s, so 120 s is several windows of a person who
    is working, and no more than two minutes of someone else at a session left alone."""

    liveness_guard: bool = True
    """Judge every window's liveness (``models.liveness``): replays and machine-made input are
    impostor evidence, and enrollment refuses them. The test suite turns it off for its
    synthetic (machine-made by construction) streams; the liveness tests turn it on."""

    replay_memory_days: int = Field(default=30, ge=0, le=3650)
    """Days the fingerprints of scored windows are kept to catch a replay of an earlier session
    (enrollment fingerprints are kept while the profile lives)."""

    client_clock_check: bool = True
    """Refuse input whose client timestamps run ahead of the server's clock (more recorded time
    than has passed): replays at machine speed cannot be windowed faster than real time. Test
    and evaluation servers that replay recordings faster than real time turn it off."""

    client_clock_tolerance_ms: float = Field(default=2000.0, ge=0)
    """How far a client's timeline may run ahead of the server's (network jitter, batching)."""

    enrollment_code_max_age_seconds: int = Field(default=300, ge=60)
    """A modality without a model is learned only from a verified session: one with fresh
    evidence of the other modality, or a one-time code entered within this many seconds (the
    step-up age). Learning ~1,000 keystrokes takes about 4–5 minutes of typing: when the code
    ages out first, learning pauses (``enrollment`` says ``paused: verify``) and the web app
    asks for a code to go on."""

    max_batch_events: int = Field(default=2000, ge=10, le=100_000)
    """Largest accepted input batch (events)."""

    max_batches_per_second: float = Field(default=20.0, gt=0)
    """Input batches per second one connection may send (burst of twice that)."""

    max_events_per_second: float = Field(default=2000.0, gt=0)
    """Raw events per second one connection may send."""

    memory_trim_seconds: float = Field(default=60.0, ge=0)
    """How often a worker returns freed heap to the OS (glibc ``malloc_trim``); 0 turns it off."""

    evaluation_scores: bool = False
    """Add each window's calibrated probability (``p_genuine``) to the person's ``trust``
    events, for evaluation runs (``bbauth simulate``, the benchmarks). Never in production: it
    would let whoever holds a session watch the score an impostor needs to reach."""

    max_inflight_batches: int = Field(default=1024, ge=1)
    """Input batches one worker processes at once. Past it, new batches are refused with a
    ``busy`` error: an overloaded worker sheds load instead of queueing it without end (which
    would starve its connections' heartbeats and exhaust its Redis pool)."""

    allow_registration: bool | None = None
    """Whether anyone may register an account; unset means open, except in production."""

    forward_auth_origins: dict[str, ForwardAuthMinimum] = Field(default_factory=dict)
    """Apps bbauth guards behind a reverse proxy's forward-auth (nginx ``auth_request``,
    Traefik ForwardAuth, Caddy ``forward_auth``): a JSON object of origin → what their requests
    need: ``"session"`` (a live, unchallenged session) or ``"low"`` / ``"medium"`` /
    ``"high"`` (behavioral evidence younger than the evidence age at that level or higher, or a
    code entered within it). Only these origins are answered, and only their URLs are ever a
    return URL (no open redirect)."""

    forward_auth_portal_url: str = ""
    """Where people sign in for a guarded app (``?rd=<return URL>`` is added); empty means the
    web app at the public URL."""

    forward_auth_cookie_domain: str = ""
    """``Domain`` of the forward-auth cookie (``example.com`` covers ``app.example.com``);
    empty: the host that set it only."""

    forward_auth_cookie_secure: bool = True
    """Mark the forward-auth cookie ``Secure`` (HTTPS only); off only for http://localhost
    tests, refused off in production."""

    forward_auth_cookie_ttl_seconds: int = Field(default=900, ge=60, le=86400)
    """Lifetime of a forward-auth cookie. Only the session's key (DPoP) gets a new one, so a
    copied cookie opens the guarded app for this long at most, and never past its session."""

    forward_auth_cookie_grace_seconds: int = Field(default=30, ge=0, le=300)
    """How long a rotated-out cookie still works (requests of a page already under way)."""

    forward_auth_channel_ttl_seconds: int = Field(default=300, ge=30, le=900)
    """Lifetime of a channel credential: what a guarded app's page gets for its cookie to open
    the capture channel and answer its re-challenge (``POST /api/forward-auth/channel``)."""

    trust_proxy_headers: bool = False
    """Take the client IP from X-Forwarded-For (only behind a trusted proxy)."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Lowest level written to the console."""

    log_json: bool | None = None
    """JSON log lines; unset means JSON in production, readable lines otherwise."""

    elasticsearch_url: str = ""
    """Elasticsearch for security events (``http://user:password@host:9200``); empty: no sink."""

    elasticsearch_index_prefix: str = "bbauth-events"
    """Security events go to daily indices ``<prefix>-YYYY.MM.DD``."""

    elasticsearch_buffer: int = Field(default=10_000, ge=10, le=1_000_000)
    """Events held in memory while Elasticsearch is slow or down; beyond it they are dropped."""

    elasticsearch_template: Path = REPO_ROOT / "deploy" / "elasticsearch" / "index-template.json"
    """Index template applied when the sink starts (best effort)."""

    integration_requests_per_minute: int = Field(default=600, ge=1)
    """Risk API requests one integration key may make per minute (then 429)."""

    webhook_queue_max: int = Field(default=1000, ge=1, le=1_000_000)
    """Webhook messages kept per integration while its receiver is away; past it the oldest
    are dropped and counted."""

    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    """Tries per webhook message before it is dropped and counted (waits double from
    ``BBAUTH_WEBHOOK_RETRY_SECONDS``, up to ten minutes: 8 tries span about four minutes)."""

    webhook_retry_seconds: float = Field(default=2.0, gt=0, le=600)
    """Wait after a webhook message's first failed try; each further failure doubles it."""

    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    """How long one webhook request may take before it counts as failed."""

    webhook_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    """How often a worker looks for due webhook messages (its own events wake it at once)."""

    scheduler: bool | None = None
    """Run the periodic jobs (retraining) in this process; unset means yes, except in tests."""

    retrain_interval_seconds: int = Field(default=3600, ge=0)
    """How often users with new samples are retrained; 0 turns periodic retraining off."""

    retrain_min_new_samples: int = Field(default=1, ge=1)
    """New samples a modality needs since its last model before it is retrained."""

    model_keep_versions: int = Field(default=3, ge=1)
    """Model versions kept per user and modality; older ones are deleted by retraining."""

    model_cache_size: int = Field(default=1000, ge=1)
    """Loaded models a worker keeps, one per user and modality, least recently used evicted
    first (a mouse model holds ≈ 7 MB, a keystroke model ≈ 0.4 MB); an evicted user's next
    window loads theirs again."""

    sample_retention_days: int = Field(default=365, ge=0, le=3650)
    """Days a behavioral sample (one window's derived features) is kept; older ones are deleted
    by the retention job (models trained on them stay until retrained). 0 keeps them."""

    audit_retention_days: int = Field(default=400, ge=0, le=3650)
    """Days an audit event is kept; older ones are deleted by the retention job. 0 keeps them."""

    retention_interval_seconds: int = Field(default=3600, ge=0)
    """How often the retention job deletes samples, scored-window fingerprints
    (``BBAUTH_REPLAY_MEMORY_DAYS``) and audit events past their age; 0 turns it off."""
    retrain_min_trust: float = Field(default=85.0, ge=0, le=100)
    """Trust (0-100) a session must hold after a scored window, with the window itself more
    likely the owner's than not, for retraining to learn from that window."""

    retrain_after_challenge_seconds: int = Field(default=120, ge=0, le=3600)
    """Windows scored this long after a passed re-challenge or step-up on their session are
    verified by the code (the sign-in code does not count)."""

    retrain_max_new_share: float = Field(default=0.3, ge=0, lt=1)
    """Largest share of a retrained model's genuine windows that may come after enrollment."""

    retrain_holdout_windows: int = Field(default=20, ge=1, le=1000)
    """Newest verified windows held out of a new version's training to judge it (at most
    half of them); they are learned by the next version."""

    retrain_promotion_margin: float = Field(default=0.02, ge=0, le=0.5)
    """How much worse a new version may be and still serve: its EER on the user's verified
    windows against the background may exceed the serving version's by at most this, and its
    mean live score in the shadow period may fall below the serving version's by at most
    this."""

    retrain_max_enrollment_drop: float = Field(default=0.05, ge=0, le=1)
    """Largest fall allowed in a new version's mean score (0-1) of the enrollment windows."""

    retrain_shadow_windows: int = Field(default=20, ge=0, le=100_000)
    """Verified live windows a new version is scored on in the shadow before it is judged; 0
    judges it at once, on the offline comparison alone."""

    datasets_dir: Path = REPO_ROOT.parent / "shared" / "datasets"
    """Folder of the public data sets used by ``bbauth eval`` and ``bbauth simulate``."""

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        from app.cors import normalize_origin

        return [normalize_origin(origin) for origin in value]

    @field_validator("forward_auth_origins")
    @classmethod
    def _guarded_origins(
        cls, value: dict[str, ForwardAuthMinimum]
    ) -> dict[str, ForwardAuthMinimum]:
        from app.cors import normalize_origin

        return {normalize_origin(origin): minimum for origin, minimum in value.items()}

    @field_validator("webauthn_origins")
    @classmethod
    def _webauthn_origins(cls, value: list[str]) -> list[str]:
        from app.cors import normalize_origin

        return [normalize_origin(origin) for origin in value]

    @field_validator("database_url", "redis_url", "elasticsearch_url")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError("must start with postgresql+asyncpg:// or sqlite+aiosqlite://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _known_redis(cls, value: str) -> str:
        from app.redis_clients import check_redis_url

        return check_redis_url(value) if value else value

    @property
    def effective_database_url(self) -> str:
        """The database URL, with the embedded SQLite default filled in."""
        return self.database_url or f"sqlite+aiosqlite:///{self.var_dir / 'bbauth.sqlite3'}"

    @property
    def effective_public_url(self) -> str:
        """Where people reach the service."""
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def effective_webauthn_origins(self) -> list[str]:
        """Origins whose passkey ceremonies are accepted."""
        if self.webauthn_origins:
            return list(self.webauthn_origins)
        from urllib.parse import urlsplit

        origins = [f"http://localhost:{self.port}"]
        public = urlsplit(self.effective_public_url)
        host = public.hostname or ""
        if host == self.webauthn_rp_id or host.endswith("." + self.webauthn_rp_id):
            origin = f"{public.scheme}://{public.netloc}"
            if origin not in origins:
                origins.insert(0, origin)
        return origins

    @property
    def json_logs(self) -> bool:
        """Whether log lines are JSON."""
        return self.log_json if self.log_json is not None else self.env == "production"

    @property
    def scheduler_enabled(self) -> bool:
        """Whether this process runs the periodic jobs."""
        return self.scheduler if self.scheduler is not None else self.env != "test"

    @property
    def registration_open(self) -> bool:
        """Whether ``/api/auth/register`` accepts new accounts."""
        if self.allow_registration is not None:
            return self.allow_registration
        return self.env != "production"

    @property
    def outbox_dir(self) -> Path:
        """Where code messages go when no SMTP server is configured."""
        return self.var_dir / "outbox"

    @property
    def model_dir(self) -> Path:
        """Versioned store of per-user behavioral models."""
        return self.var_dir / "models"

    def resolved_secret_key(self) -> bytes:
        """The HMAC key: the configured one, or one generated once and kept under ``var_dir``."""
        if self.secret_key:
            return self.secret_key.encode()
        path = self.var_dir / "secret_key"
        if not path.exists():
            private_dir(self.var_dir)
            tmp = path.with_suffix(".tmp")
            tmp.touch(mode=0o600)
            tmp.write_text(secrets.token_urlsafe(48))
            tmp.replace(path)
        return path.read_text().strip().encode()


def private_dir(path: Path) -> Path:
    """``path`` created if missing, readable by this user only (0700)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


EXAMPLE_SECRETS = ("change-me", "changeme", "change_me", "secret", "example", "password", "xxx")
"""Words of placeholder keys (``.env.example``, tutorials); a key containing one is refused."""

MIN_SECRET_CHARS = 32
MIN_SECRET_BITS = 120.0
"""Estimated entropy a production key must reach: 32 random hex digits (128 bits) do."""


def secret_key_weakness(key: str) -> str | None:
    """Why ``key`` is too weak to protect tokens, codes, models and TOTP seeds; None if fine.

    The estimate is the key's length times the Shannon entropy of its own characters: generous
    to random keys (``openssl rand -hex 32``, ``secrets.token_urlsafe(32)``), harsh to words
    and repetitions.
    """
    if len(key) < MIN_SECRET_CHARS:
        return f"must be at least {MIN_SECRET_CHARS} characters (e.g. `openssl rand -hex 32`)"
    lowered = key.lower()
    if any(word in lowered for word in EXAMPLE_SECRETS):
        return "is an example value; generate one with `openssl rand -hex 32`"
    counts = [key.count(c) for c in set(key)]
    bits_per_char = -sum(n / len(key) * math.log2(n / len(key)) for n in counts)
    if bits_per_char * len(key) < MIN_SECRET_BITS:
        return "is too predictable; generate one with `openssl rand -hex 32`"
    return None


def production_problems(settings: Settings) -> list[str]:
    """What a production deployment must not start with, each naming its variable."""
    if settings.env != "production":
        return []
    problems = []
    if settings.secret_key:
        weakness = secret_key_weakness(settings.secret_key)
        if weakness:
            problems.append(f"BBAUTH_SECRET_KEY: {weakness}")
    if settings.evaluation_scores:
        problems.append("BBAUTH_EVALUATION_SCORES: exposes per-window scores; evaluation only")
    if not settings.dpop_required:
        problems.append("BBAUTH_DPOP_REQUIRED: tokens would work without their key; tests only")
    if not settings.forward_auth_cookie_secure:
        problems.append("BBAUTH_FORWARD_AUTH_COOKIE_SECURE: cookies over plain HTTP; tests only")
    if not settings.client_clock_check:
        problems.append("BBAUTH_CLIENT_CLOCK_CHECK: replays faster than real time; tests only")
    if not settings.smtp_host and not settings.mail_to_console:
        problems.append(
            "BBAUTH_SMTP_HOST: production needs an SMTP server for one-time codes "
            "(BBAUTH_MAIL_TO_CONSOLE=true prints them on the console, for a demo only)"
        )
    return problems


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; raise ``SettingsError`` naming the bad variable."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = "BBAUTH_" + "_".join(str(part) for part in error["loc"]).upper()
            lines.append(f"{name}: {error['msg']}")
        raise SettingsError("invalid settings:\n  " + "\n  ".join(lines)) from None
    except PydanticSettingsError as exc:
        # Raised before validation when a list or dict variable is not JSON.
        field = re.search(r'field "(\w+)"', str(exc))
        name = "BBAUTH_" + field.group(1).upper() if field else "a BBAUTH_ variable"
        raise SettingsError(f"invalid settings:\n  {name}: not valid JSON") from None
    problems = production_problems(settings)
    if problems:
        raise SettingsError("refusing to start in production:\n  " + "\n  ".join(problems))
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
