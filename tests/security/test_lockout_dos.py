"""Someone who knows only an email cannot keep its owner out, and sign-up tells nobody which
addresses have accounts nor lets anyone spend the workers' CPU on hashing.

Through a live server over HTTP (client addresses by ``X-Forwarded-For`` behind a trusted proxy),
on both back ends.
"""

from __future__ import annotations

import asyncio

from werkzeug.datastructures import Headers

from tests.security.live import StartServer

WRONG = "not the owner's password"


def header_names(headers: Headers) -> set[str]:
    return {name.lower() for name in list(headers.keys())}


async def test_a_day_of_guessing_never_locks_the_owners_known_browser(
    start_server: StartServer,
) -> None:
    served = await start_server(trust_proxy_headers=True)
    http = served.http
    owner = await served.api.create_account()
    await http.sign_in(owner, ip="198.51.100.10")  # the owner's browser, once
    device = http.device_tokens[owner.email]
    refused = 0
    # The attack that kept accounts locked before: ~34 wrong passwords a day, spread out.
    for hour in range(24):
        for ip in (f"203.0.113.{hour}", f"203.0.113.{hour + 100}"):
            reply = await http.login(owner, password=WRONG, ip=ip)
            assert reply.status in (401, 429), reply.body
            refused += reply.status == 429
        mine = await http.login(owner, device=device, ip="198.51.100.10")
        assert mine.status == 202, (hour, mine.body)  # the owner gets in, every hour
        http.clock.advance(3600)
    assert refused > 0  # the guesser was held back meanwhile


async def test_fast_guessers_wait_longer_and_longer_but_the_owner_does_not(
    start_server: StartServer,
) -> None:
    served = await start_server(trust_proxy_headers=True)
    http = served.http
    owner = await served.api.create_account()
    await http.sign_in(owner, ip="198.51.100.10")
    device = http.device_tokens[owner.email]
    waits = []
    for n in range(12):
        reply = await http.login(owner, password=WRONG, ip=f"203.0.113.{n}")
        if reply.status == 429:
            waits.append(int(reply.headers["Retry-After"]))
            http.clock.advance(waits[-1])
            reply = await http.login(owner, password=WRONG, ip=f"203.0.113.{n}")
        assert reply.status == 401

    assert waits == sorted(waits)
    assert waits[-1] >= 32
    assert (await http.login(owner, device=device, ip="198.51.100.10")).status == 202


async def test_sign_up_answers_taken_and_free_addresses_alike(start_server: StartServer) -> None:
    served = await start_server(trust_proxy_headers=True)
    http = served.http
    owner = await served.api.create_account()
    body = {"password": "a perfectly good passphrase"}

    taken = await http.post("/api/auth/register", json={"email": owner.email, **body})
    free = await http.post("/api/auth/register", json={"email": "free@example.com", **body})

    assert taken.status == free.status == 202
    assert taken.body.keys() == free.body.keys()
    for key in ("channel", "purpose", "resends_left", "attempts_left"):
        assert taken.body[key] == free.body[key]
    varying = {"date", "x-request-id", "content-length"}
    assert header_names(taken.headers) - varying == header_names(free.headers) - varying


async def test_a_sign_up_flood_is_refused_before_any_hashing(start_server: StartServer) -> None:
    served = await start_server(trust_proxy_headers=True, sign_ups_per_minute=20)
    http = served.http

    replies = await asyncio.gather(
        *(
            http.post(
                "/api/auth/register",
                json={"email": f"flood{n}@example.com", "password": "a perfectly good passphrase"},
                ip=f"203.0.113.{n}",
            )
            for n in range(40)
        )
    )

    statuses = sorted(r.status for r in replies)
    assert statuses.count(202) == 20
    assert statuses.count(429) == 20
    registered = [e for e in await served.api.audit_events("register") if e["outcome"] == "success"]
    assert len(registered) == 20  # only the admitted ones were hashed and stored
