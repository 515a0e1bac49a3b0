"""The forward-auth check answers a pass from the cookie's record, without SQL, and a change of
the session (revoke, challenge, step-up, a new cookie, a new email) is heard at the very next
request on every worker: a record written before the change is never used after it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from typing import Any

import pytest
from sqlalchemy import event

from app.clock import ManualClock
from app.integrations import cookies
from app.integrations.cookie_records import (
    LIVE_TRUST_KEY,
    CookieRecord,
    CookieRecords,
    Holder,
    MemoryCookieRecords,
    RedisCookieRecords,
    create_cookie_records,
)
from app.kv import MemoryStore, RedisStore, create_store
from app.settings import Settings
from app.state import AppState, app_state
from db.tables import Role, SessionState
from tests.app.api import Reply
from tests.security.live import Served, SignedIn, StartServer, signed_in

APP = "http://app.example.test"
PROXY = {"X-Forwarded-Proto": "http", "X-Forwarded-Host": "app.example.test"}


async def mint(served: Served, token: str) -> str:
    """A forward-auth cookie of the session of ``token`` (asked with a proof of its key)."""
    reply = await served.http.post("/api/forward-auth/cookie", json={}, token=token)
    assert reply.status == 200, reply.body
    cookie = SimpleCookie(reply.headers["Set-Cookie"])
    return cookie[cookies.COOKIE_NAME].value


async def check(served: Served, cookie: str) -> Reply:
    """The proxy's question, asked of ``served`` over HTTP."""
    return await served.http.get(
        "/api/forward-auth", headers={**PROXY, "Cookie": f"{cookies.COOKIE_NAME}={cookie}"}
    )


async def admin_and_person(served: Served) -> tuple[SignedIn, SignedIn, str]:
    """An administrator, and a person signed in with a forward-auth cookie."""
    admin = await signed_in(served.api, await served.api.create_account(role=Role.ADMIN))
    person = await signed_in(served.api, await served.api.create_account())
    return admin, person, await mint(served, person.token)


@contextmanager
def statements(state: AppState) -> Iterator[list[str]]:
    """The SQL statements ``state``'s engine runs meanwhile, whoever runs them."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(state.engine.sync_engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(state.engine.sync_engine, "before_cursor_execute", note)


@pytest.fixture
async def workers(start_server: StartServer) -> tuple[Served, Served]:
    """Two workers of one deployment guarding ``APP``: PostgreSQL and Redis, or SQLite as
    several workers without Redis would run (they keep no records)."""
    settings = {
        "forward_auth_origins": {APP: "session"}, "forward_auth_cookie_secure": False,
        "workers": 2,
    }  # fmt: skip
    return await start_server(**settings), await start_server(**settings)


async def test_a_pass_is_answered_from_the_record_without_sql(served_guarding: Served) -> None:
    api = served_guarding.api
    person = await signed_in(api, await api.create_account())
    cookie = await mint(served_guarding, person.token)
    first = await check(served_guarding, cookie)

    with statements(app_state(served_guarding.app)) as sql:
        again = [await check(served_guarding, cookie) for _ in range(5)]

    assert first.status == 200
    assert [r.status for r in again] == [200] * 5
    assert again[-1].headers["X-BBAuth-Session"] == person.session_id
    # (The worker's own jobs, the webhook sender's poll say, may run meanwhile.)
    assert [q for q in sql if "login_sessions" in q or "forward_auth_cookies" in q] == []


async def test_using_the_app_keeps_the_session_from_idling_out_and_idle_it_ends(
    start_server: StartServer,
) -> None:
    served = await start_server(
        forward_auth_origins={APP: "session"}, forward_auth_cookie_secure=False,
        forward_auth_cookie_ttl_seconds=7200, session_idle_seconds=1800,
    )  # fmt: skip
    _, person, cookie = await admin_and_person(served)

    used = []
    for _ in range(3):  # an hour in all, never 30 minutes without a request of the app
        served.api.clock.advance(20 * 60)
        used.append((await check(served, cookie)).status)
    served.api.clock.advance(31 * 60)
    idle = await check(served, cookie)

    assert used == [200, 200, 200]
    assert idle.is_problem(401, "session_expired")
    assert (await served.api.get("/api/auth/me", token=person.token)).status == 401


async def test_a_revoked_session_gets_401_at_the_very_next_request_on_every_worker(
    workers: tuple[Served, Served],
) -> None:
    one, two = workers
    admin, person, cookie = await admin_and_person(one)
    assert [(await check(w, cookie)).status for w in (one, two, one, two)] == [200] * 4

    done = await one.api.post(
        f"/api/admin/sessions/{person.session_id}/revoke", json={}, token=admin.token
    )
    after = [await check(w, cookie) for w in (two, one)]

    assert done.status == 200, done.body
    assert [r.status for r in after] == [401, 401]
    assert {r.code for r in after} == {"session_revoked"}


async def test_a_challenge_and_its_answer_are_heard_at_the_very_next_request(
    workers: tuple[Served, Served],
) -> None:
    one, two = workers
    admin, person, cookie = await admin_and_person(one)
    assert (await check(two, cookie)).status == 200

    mails = len(one.api.mailbox.messages_to(person.account.email))
    await one.api.post(
        f"/api/admin/sessions/{person.session_id}/challenge", json={}, token=admin.token
    )
    challenged = await check(two, cookie)
    await one.api.mailbox.wait_for(person.account.email, mails + 1)
    code = await one.api.mailbox.code_for(person.account.email)
    answered = await one.api.post(
        "/api/auth/reauth/verify", json={"code": code}, token=person.token
    )
    restored = await check(two, cookie)

    assert challenged.is_problem(403, "step_up_required")
    assert answered.status == 200, answered.body
    assert restored.status == 200


async def test_a_new_cookie_rotates_the_old_one_out_on_every_worker(
    workers: tuple[Served, Served],
) -> None:
    one, two = workers
    _, person, first = await admin_and_person(one)
    assert (await check(two, first)).status == 200

    second = await mint(one, person.token)
    one.api.clock.advance(31)

    assert (await check(two, first)).status == 401
    assert (await check(two, second)).status == 200


async def test_a_new_email_is_what_the_app_hears_at_the_very_next_request(
    workers: tuple[Served, Served],
) -> None:
    one, two = workers
    _, person, cookie = await admin_and_person(one)
    before = await check(two, cookie)

    api, token = one.api, person.token
    await api.post("/api/account/email", json={"email": "moved@example.org"}, token=token)
    code = await api.mailbox.code_for("moved@example.org")
    moved = await api.post("/api/account/email/confirm", json={"code": code}, token=token)
    after = await check(two, cookie)

    assert before.headers["X-BBAuth-User"] == person.account.email
    assert moved.status == 200, moved.body
    assert after.headers["X-BBAuth-User"] == "moved@example.org"


NOW = datetime(2026, 12, 6, 1, 0, 0, 250_000, tzinfo=UTC)


def holder(session_id: str = "s-1") -> Holder:
    return Holder(session_id, "u-1", "a@example.test", SessionState.ACTIVE, NOW, NOW, None)


def record(generation: str, session_id: str = "s-1") -> CookieRecord:
    return CookieRecord(holder(session_id), NOW + timedelta(minutes=5), None, generation)


@pytest.fixture
async def records(make_settings: Any, clock: ManualClock) -> AsyncIterator[CookieRecords]:
    """The records of the backend under test: Redis with PostgreSQL, memory with SQLite."""
    settings: Settings = make_settings()
    kv = create_store(settings.redis_url, settings.redis_prefix, clock)
    found = create_cookie_records(settings, kv, clock)
    assert found is not None
    yield found
    await kv.close()


async def test_a_record_read_before_a_change_is_never_used_after_it(
    records: CookieRecords,
) -> None:
    generation = await records.generation("s-1")
    await records.invalidate("s-1")  # committed while the database was being read
    await records.write("k-1", record(generation), 60)

    assert await records.read("k-1") is None
    current = await records.generation("s-1")
    await records.write("k-1", record(current), 60)
    found = await records.read("k-1")
    assert found is not None
    assert found.record.holder == holder()
    await records.invalidate("s-1")
    assert await records.read("k-1") is None


async def test_records_are_kept_only_where_every_worker_hears_an_invalidation(
    make_settings: Any,
) -> None:
    settings: Settings = make_settings()
    store = MemoryStore()

    if settings.redis_url:
        kv = RedisStore.from_url(settings.redis_url, settings.redis_prefix)
        assert isinstance(create_cookie_records(settings, kv), RedisCookieRecords)
        await kv.close()
    assert isinstance(create_cookie_records(settings, store), MemoryCookieRecords)
    assert create_cookie_records(make_settings(workers=2), store) is None
    assert cookies.COOKIE_NAME == "bbauth_fwd"


def test_the_trust_record_is_read_where_the_realtime_side_writes_it() -> None:
    from realtime.store_redis import RedisLiveStore

    live = RedisLiveStore.__new__(RedisLiveStore)
    live.prefix = "p:rt:"
    assert live._k("trust", "s-1") == "p:" + LIVE_TRUST_KEY + "s-1"


@pytest.fixture
async def served_guarding(start_server: StartServer) -> Served:
    """One worker guarding ``APP`` (a session is enough)."""
    return await start_server(
        forward_auth_origins={APP: "session"}, forward_auth_cookie_secure=False
    )
