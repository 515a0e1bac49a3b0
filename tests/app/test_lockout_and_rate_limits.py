"""Password guessing: rate limits, and waits that hold back guessers but never the owner.

Unknown clients share one count of wrong passwords per account and wait 1 s, 2 s, 4 s … after
the threshold; a browser that signed in to the account before (a known device) counts only its
own. Counts live in Redis when it is configured (the postgres configuration), in process
otherwise, and on the account row (which survives restarts).
"""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from app.auth.limits import device_wait_seconds, unknown_wait_seconds
from app.clock import ManualClock
from app.kv import MemoryStore, RedisStore
from app.settings import load_settings
from db.tables import Role
from tests.app.api import Account, Api, Reply, wrong_code
from tests.conftest import StartApp

WRONG = "not the password"


async def fail(api: Api, account: Account, times: int, **kw: object) -> list[Reply]:
    return [await api.login(account, password=WRONG, **kw) for _ in range(times)]  # type: ignore[arg-type]


def test_unknown_clients_wait_doubles_from_the_threshold_up_to_the_maximum() -> None:
    settings = load_settings(lockout_threshold=5, unknown_client_delay_max_seconds=60)

    assert [unknown_wait_seconds(n, settings) for n in range(1, 13)] == [
        0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60,
    ]  # fmt: skip


def test_a_known_device_waits_after_its_own_failures_doubling_up_to_the_maximum() -> None:
    settings = load_settings(lockout_threshold=5, lockout_base_seconds=30, lockout_max_seconds=600)

    assert [device_wait_seconds(n, settings) for n in range(1, 11)] == [
        0, 0, 0, 0, 30, 60, 120, 240, 480, 600,
    ]  # fmt: skip


async def test_unknown_clients_wait_after_five_failures_even_for_the_right_password(
    api: Api, alice: Account
) -> None:
    replies = await fail(api, alice, 5)
    assert all(r.is_problem(401, "invalid_credentials") for r in replies)

    waiting = await api.login(alice)

    assert waiting.is_problem(429, "too_many_attempts")
    assert int(waiting.headers["Retry-After"]) == 1
    assert api.mailbox.messages == []


async def test_the_wait_ends_after_its_time(api: Api, alice: Account, clock: ManualClock) -> None:
    await fail(api, alice, 5)
    assert (await api.login(alice)).status == 429
    clock.advance(1)

    assert (await api.login(alice)).status == 202


async def test_each_further_failure_doubles_the_wait(
    api: Api, alice: Account, clock: ManualClock
) -> None:
    await fail(api, alice, 5)
    clock.advance(1)
    assert (await api.login(alice, password=WRONG)).status == 401  # the 6th failure

    assert int((await api.login(alice)).headers["Retry-After"]) == 2
    clock.advance(2)
    assert (await api.login(alice, password=WRONG)).status == 401  # the 7th failure
    clock.advance(3)
    assert (await api.login(alice)).status == 429
    clock.advance(1)
    assert (await api.login(alice)).status == 202


async def test_guessers_never_hold_back_the_owners_known_device(
    api: Api, alice: Account, clock: ManualClock
) -> None:
    await api.sign_in(alice)
    device = api.device_tokens[alice.email]
    # Someone who knows only the email guesses once a minute for an hour (as often as the
    # waits let them), and once more, so that unknown clients now wait the longest.
    for _ in range(60):
        await fail(api, alice, 1, ip="203.0.113.9")
        clock.advance(60)
    while (await api.login(alice, password=WRONG, ip="203.0.113.9")).status != 401:
        clock.advance(60)
    unknown = await api.login(alice, ip="198.51.100.50")
    assert unknown.is_problem(429, "too_many_attempts")
    assert int(unknown.headers["Retry-After"]) == 300

    mine = await api.login(alice, device=device)

    assert mine.status == 202


async def test_a_known_device_waits_only_after_its_own_failures(api: Api, alice: Account) -> None:
    await api.sign_in(alice)
    device = api.device_tokens[alice.email]
    replies = await fail(api, alice, 5, device=device)
    assert [r.status for r in replies] == [401] * 5

    held = await api.login(alice, device=device)
    other_browser = await api.login(alice)

    assert held.is_problem(429, "too_many_attempts")
    assert int(held.headers["Retry-After"]) == 30
    assert other_browser.status == 202


async def test_a_device_token_of_another_account_counts_as_unknown(
    api: Api, alice: Account
) -> None:
    bob = await api.create_account()
    await api.sign_in(bob)
    bobs_device = api.device_tokens[bob.email]

    await fail(api, alice, 5, device=bobs_device)

    assert (await api.login(alice, device=bobs_device)).status == 429


async def test_a_success_resets_the_failure_count(
    api: Api, alice: Account, clock: ManualClock
) -> None:
    await fail(api, alice, 4)
    await api.sign_in(alice)

    replies = await fail(api, alice, 4)

    assert all(r.status == 401 for r in replies)
    assert (await api.login(alice)).status == 202


async def test_an_unknown_email_waits_like_a_known_one(api: Api) -> None:
    ghost = Account("", "ghost@example.com", WRONG, Role.USER)
    replies = await fail(api, ghost, 6)

    assert [r.status for r in replies] == [401] * 5 + [429]


async def test_the_wait_is_recorded_on_the_account(api: Api, alice: Account) -> None:
    await fail(api, alice, 5)
    admin = await api.create_account(role=Role.ADMIN)
    token = await api.sign_in(admin)

    users = (await api.get("/api/admin/users", token=token)).body["users"]

    [row] = [u for u in users if u["email"] == alice.email]
    assert row["failed_logins"] == 5
    assert row["locked_until"] is not None


async def test_failure_counts_live_in_redis_when_configured(
    api: Api, alice: Account, redis_client: aioredis.Redis
) -> None:
    await fail(api, alice, 5)

    if api.backend == "postgres":
        assert isinstance(api.state.kv, RedisStore)
        prefix = api.state.settings.redis_prefix
        assert await redis_client.get(f"{prefix}lock:{alice.email}:failures") == "5"
    else:
        assert isinstance(api.state.kv, MemoryStore)
        assert await api.state.kv.get(f"lock:{alice.email}:failures") == "5"


async def test_every_worker_sees_a_wait_when_state_is_in_redis(
    start_app: StartApp, api: Api, alice: Account
) -> None:
    other_worker = await start_app()
    await fail(api, alice, 5)

    reply = await other_worker.login(alice)

    # In process, each worker keeps its own counters; the account row still holds it.
    assert reply.is_problem(429, "too_many_attempts")


async def test_per_ip_rate_limit_refuses_after_the_limit_within_a_minute(
    start_app: StartApp, clock: ManualClock
) -> None:
    api = await start_app(rate_limit_ip_per_minute=3)
    accounts = [await api.create_account() for _ in range(4)]

    replies = [await api.login(a, ip="192.0.2.1") for a in accounts]
    elsewhere = await api.login(accounts[3], ip="192.0.2.2")

    assert [r.status for r in replies] == [202, 202, 202, 429]
    assert replies[3].is_problem(429, "too_many_attempts")
    assert 0 < int(replies[3].headers["Retry-After"]) <= 60
    assert elsewhere.status == 202
    clock.advance(60)
    assert (await api.login(accounts[3], ip="192.0.2.1")).status == 202


async def test_per_account_rate_limit_holds_across_addresses(
    start_app: StartApp, clock: ManualClock
) -> None:
    api = await start_app(rate_limit_account_per_minute=3, lockout_threshold=100)
    alice = await api.create_account()

    replies = [await api.login(alice, ip=f"192.0.2.{n}") for n in range(1, 5)]

    assert [r.status for r in replies] == [202, 202, 202, 429]
    clock.advance(60)
    assert (await api.login(alice, ip="192.0.2.9")).status == 202


async def test_code_guesses_count_against_the_ip_rate_limit(start_app: StartApp) -> None:
    api = await start_app(rate_limit_ip_per_minute=3)
    alice = await api.create_account()
    handle = await api.start_login(alice, ip="192.0.2.1")
    code = await api.mailbox.code_for(alice.email)

    guesses = [await api.verify(handle, wrong_code(code), ip="192.0.2.2") for _ in range(4)]
    elsewhere = await api.verify(handle, code, ip="192.0.2.3")

    assert [r.status for r in guesses] == [401, 401, 401, 429]
    assert elsewhere.status == 200
    trail = [(e["outcome"], e.get("reason")) for e in await api.audit_events("otp_verify")]
    assert trail == [("failure", "wrong_code")] * 3 + [("refused", "rate_limited")]


async def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(
    start_app: StartApp,
) -> None:
    direct = await start_app(rate_limit_ip_per_minute=2)
    alice = await direct.create_account()
    spoofed = [
        await direct.login(alice, headers={"X-Forwarded-For": f"192.0.2.{n}"}) for n in range(3)
    ]
    assert [r.status for r in spoofed] == [202, 202, 429]

    proxied = await start_app(rate_limit_ip_per_minute=2, trust_proxy_headers=True)
    forwarded = [
        await proxied.login(alice, headers={"X-Forwarded-For": f"192.0.2.{n}, 10.0.0.1"})
        for n in range(3)
    ]
    assert [r.status for r in forwarded] == [202, 202, 202]


async def test_refusals_are_audited(start_app: StartApp) -> None:
    api = await start_app(rate_limit_account_per_minute=6)
    alice = await api.create_account()
    await fail(api, alice, 5)
    await api.login(alice)  # waiting
    await api.login(alice)  # rate limited (7th attempt this minute)

    trail = [(e["outcome"], e.get("reason")) for e in await api.audit_events("login_password")]

    assert trail == [("failure", "bad_credentials")] * 5 + [
        ("refused", "waiting"),
        ("refused", "rate_limited"),
    ]


async def test_parallel_failures_all_count_towards_the_wait(api: Api, alice: Account) -> None:
    replies = await asyncio.gather(*(api.login(alice, password=WRONG) for _ in range(8)))
    failures = sum(r.status == 401 for r in replies)
    assert failures + sum(r.status == 429 for r in replies) == 8

    waiting = await api.login(alice)

    # Waiting exactly as long as that many failures in a row make a client wait.
    assert failures >= 5
    assert waiting.is_problem(429, "too_many_attempts")
    seconds = unknown_wait_seconds(failures, api.state.settings)
    assert int(waiting.headers["Retry-After"]) == seconds
