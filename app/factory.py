"""The application factory."""

from __future__ import annotations

import structlog
from quart import Quart
from quart_schema import Info, QuartSchema

from app.clock import Clock, SystemClock
from app.cors import install_cors
from app.crypto import SecretBox
from app.detection.export import install_detection_export
from app.docs import install_docs
from app.errors import register_error_handlers
from app.factors.totp import seal_plain_secrets
from app.integrations import cookies as forward_auth_cookies
from app.integrations.cookie_records import create_cookie_records
from app.integrations.delivery import install_webhooks
from app.integrations.forward_auth_asgi import install_forward_auth_pass
from app.kv import create_store
from app.logging import configure_logging
from app.logsink import install_log_sink
from app.loop_lag import install_loop_lag
from app.mail import MailDelivery, Mailer, OutboxMailer, SmtpMailer
from app.memory import install_memory_trim
from app.metrics import install_metrics, set_loop_lag
from app.openapi import ProblemOpenAPIProvider
from app.scheduler import install_scheduler
from app.security import Passwords
from app.sessions.policy import check_coverage
from app.settings import Settings, get_settings, private_dir
from app.state import AppState, app_state
from app.web import install_request_plumbing
from db.engine import create_engine, session_factory

log = structlog.get_logger(__name__)


def _mailer(settings: Settings, clock: Clock) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_sender,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        )
    # Outside production this is the default; production refuses it unless asked for
    # (BBAUTH_MAIL_TO_CONSOLE), see ``app.settings.production_problems``.
    return OutboxMailer(settings.outbox_dir, settings.smtp_sender, clock)


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, mailer: Mailer | None = None
) -> Quart:
    """Build the Quart app. Pools and clients are opened in ``before_serving``."""
    settings = settings or get_settings()
    configure_logging(level=settings.log_level, json_lines=settings.json_logs)
    app = Quart("bbauth")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["JSON_SORT_KEYS"] = False
    app.config["BBAUTH_SETTINGS"] = settings
    QuartSchema(
        app,
        openapi_path="/api/openapi.json",
        # The docs page is ours (``app.docs``): pinned local assets, never a CDN.
        swagger_ui_path=None,
        redoc_ui_path=None,
        scalar_ui_path=None,
        info=Info(
            title="bbauth",
            version="0.1.0",
            description=(
                "Continuous authentication from keystroke and mouse dynamics. Sign in with a "
                "password and a one-time code; send the token as `Authorization: Bearer <token>`. "
                "Every error is an RFC 9457 problem-details body with a stable `code`."
            ),
        ),
        security_schemes={
            "bearer": {"type": "http", "scheme": "bearer"},
            "integrationKey": {
                "type": "http",
                "scheme": "bearer",
                "bearer_format": "bbk_ API key of an integration",
            },
        },
        openapi_provider_class=ProblemOpenAPIProvider,
    )
    register_error_handlers(app)
    install_request_plumbing(app)
    install_cors(app, settings.cors_origins)

    from app.admin.routes import blueprint as admin_bp
    from app.auth.routes import blueprint as auth_bp
    from app.behavior.routes import blueprint as behavior_bp
    from app.demo.routes import blueprint as demo_bp
    from app.detection.routes import blueprint as detection_bp
    from app.factors.routes import blueprint as factors_bp
    from app.feedback.routes import blueprint as feedback_bp
    from app.frontend import blueprint as frontend_bp
    from app.frontend import install_spa_fallback
    from app.health import blueprint as health_bp
    from app.integrations.admin_routes import blueprint as integration_keys_bp
    from app.integrations.forward_auth_routes import blueprint as forward_auth_bp
    from app.integrations.risk_routes import blueprint as integrations_bp
    from app.passkeys.routes import blueprint as passkeys_bp
    from app.privacy.routes import blueprint as privacy_bp
    from app.sessions.routes import blueprint as sessions_bp
    from app.users.routes import blueprint as account_bp

    for bp in (
        auth_bp, factors_bp, passkeys_bp, account_bp, admin_bp, sessions_bp, behavior_bp,
        feedback_bp, demo_bp, health_bp, forward_auth_bp, integration_keys_bp, integrations_bp,
        privacy_bp, detection_bp, frontend_bp,
    ):  # fmt: skip
        app.register_blueprint(bp)
    install_spa_fallback(app)
    install_forward_auth_pass(app)
    install_docs(app)
    # Started after the state exists and stopped before it closes (``while_serving``).
    install_metrics(app)
    install_log_sink(app)
    install_scheduler(app)
    install_memory_trim(app)
    install_loop_lag(app, lambda: app_state(app).loop_lag, set_loop_lag)
    install_webhooks(app)
    install_detection_export(app)

    @app.before_serving
    async def _open() -> None:
        try:
            private_dir(settings.var_dir)
        except OSError as exc:  # /readyz names what is wrong; the process still answers
            log.warning("var_dir_unusable", var_dir=str(settings.var_dir), error=repr(exc))
        engine = create_engine(settings.effective_database_url)
        the_clock = clock or SystemClock()
        secret_key = settings.resolved_secret_key()
        state = AppState(
            settings=settings,
            clock=the_clock,
            engine=engine,
            sessions=session_factory(engine),
            kv=create_store(settings.redis_url, settings.redis_prefix, the_clock),
            mail=MailDelivery(mailer or _mailer(settings, the_clock)),
            passwords=Passwords(
                time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib
            ),
            secret_key=secret_key,
            box=SecretBox(secret_key),
        )
        state.cookie_records = create_cookie_records(settings, state.kv, the_clock)
        forward_auth_cookies.install(state)
        app.extensions["bbauth"] = state
        await seal_plain_secrets(state)

    @app.after_serving
    async def _close() -> None:
        state: AppState = app.extensions.pop("bbauth")
        await state.mail.drain()
        await state.kv.close()
        await state.engine.dispose()

    check_coverage(app)

    return app
