"""Raw keystrokes never persist: after a session streams key events (the classes of KeyQ, Digit7,
...: key identities never leave the page, and a batch that names them is refused) and pointer
events through a whole enrollment, every table of the database (reflected, so new tables are
covered too), every Redis key and every model file hold derived feature vectors only: no key
code, no key class, no raw timestamp or coordinate, no event list."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy import MetaData, select

from models.keyclass import key_class
from models.keyreducer import reduce_keys
from realtime.simulation.replay import wire_event
from tests.conftest import REDIS_URL
from tests.realtime.harness import Live
from tests.security.live import StartServer, next_event, payload_of, signed_in

CODES = ("KeyQ", "KeyW", "KeyZ", "KeyX", "KeyJ", "Digit7", "Semicolon", "BracketLeft", "Numpad9")
T0 = 7_654_321.125
X0, Y0 = 1234.5625, 876.4375
WINDOW, WINDOWS = 10, 5


def typing(n: int, t0: float, *, raw: bool = False) -> list[dict[str, Any]]:
    """``n`` keystrokes over the distinctive codes, at distinctive times (ms), as the web SDK
    sends them (key classes), or, ``raw``, naming each key as no client may."""
    events: list[tuple[float, str, str]] = []
    t = t0
    for i in range(n):
        code = CODES[i % len(CODES)]
        events += [(t, "down", code), (t + 91.0625 + i % 7, "up", code)]
        t += 187.3125 + (i % 5) * 11
    if raw:
        return [{"t": t, "type": kind, "code": code} for t, kind, code in events]
    return [wire_event(e, 0.0) for e in reduce_keys(events)]


def clicks(n: int, t0: float) -> list[dict[str, Any]]:
    """``n`` point-and-click actions at distinctive coordinates (px)."""
    events, t = [], t0
    for i in range(n):
        x, y = X0 + 17.25 * i, Y0 + 9.125 * i
        for k in range(4):
            t += 16.5
            events.append({"t": t, "type": "move", "x": x - 40 + 10 * k, "y": y - 20 + 5 * k})
        t += 120.25
        events.append({"t": t, "type": "down", "x": x, "y": y, "button": 0})
        t += 80.75
        events.append({"t": t, "type": "up", "x": x, "y": y, "button": 0})
        t += 300.5
    return events


def raw_markers(events: list[dict[str, Any]]) -> set[str]:
    """Texts that would betray a stored raw event: its code, exact time or coordinate."""
    # Character-key classes (``L_top.5``) name no feature; role classes (``other``) would.
    markers = set(CODES) | {key_class(code) for code in CODES if "." in key_class(code)}
    for e in events:
        for key in ("t", "x", "y"):
            if key in e and not float(e[key]).is_integer():
                markers.add(repr(float(e[key])))
    return markers


def read_files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder``: its name and bytes."""
    return {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def event_like(value: Any) -> bool:
    """Whether a JSON value holds something shaped like a raw event."""
    if isinstance(value, dict):
        if "t" in value and ("type" in value or "code" in value):
            return True
        return any(event_like(v) for v in value.values())
    if isinstance(value, list):
        return any(event_like(v) for v in value)
    return False


async def test_only_feature_vectors_are_stored(
    start_server: StartServer, sockets: list[Live]
) -> None:
    served = await start_server(
        keystroke_window=WINDOW,
        enroll_keystroke_windows=WINDOWS,
        mouse_window=2,
        enroll_mouse_actions=1_000,
    )
    api = served.api
    person = await signed_in(api, await api.create_account())
    live = await served.socket(person.token)
    sockets.append(live)
    await payload_of(live, "status")

    sent: list[dict[str, Any]] = []
    t = T0
    # A client that sends key identities is refused, and nothing of its batch is kept.
    mark = len(live.events)
    raw = typing(WINDOW + 2, t, raw=True)
    await live.emit("input", {"events": raw})
    _, refused = await next_event(live, "error", after=mark)
    assert refused["code"] == "raw_key_identity"
    sent += raw
    t = raw[-1]["t"] + 1000.0
    for _ in range(WINDOWS + 2):
        batch = typing(WINDOW + 2, t)
        t = batch[-1]["t"] + 1000.0
        sent += batch
        await live.emit("input", {"events": batch})
    mouse = clicks(12, T0)
    sent += mouse
    await live.emit("input", {"events": mouse})

    # Enrollment completes: the keystroke model is trained (in a child process) and announced.
    deadline_events = 0
    while True:
        name, progress = await next_event(live, "enrollment", after=deadline_events, within=60)
        deadline_events = live.events.index((name, progress)) + 1
        if progress["progress"]["keystroke"]["trained"]:
            break
    await live.close()
    await next_event(live, "disconnect")

    markers = raw_markers(sent)
    found: list[str] = []

    metadata = MetaData()
    async with api.state.engine.connect() as conn:
        await conn.run_sync(metadata.reflect)
        assert {"users", "login_sessions", "behavior_samples", "audit_log"} <= set(metadata.tables)
        samples = 0
        for table in metadata.sorted_tables:
            for row in (await conn.execute(select(table))).mappings():
                for column, value in row.items():
                    if isinstance(value, str) and value[:1] in "[{":
                        with contextlib.suppress(ValueError):
                            value = json.loads(value)
                    text = json.dumps(value, default=str)
                    found += [f"{table.name}.{column}: {m}" for m in markers if m in text]
                    if event_like(value):
                        found.append(f"{table.name}.{column}: an event-shaped value")
                if table.name == "behavior_samples":
                    samples += 1
                    features = row["features"]
                    features = json.loads(features) if isinstance(features, str) else features
                    assert isinstance(features, list)
                    assert features
                    assert all(isinstance(v, int | float) for v in features), features
    assert samples >= WINDOWS

    # The live store in Redis holds trust figures only.
    if api.backend == "postgres":
        client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
        try:
            prefix = api.state.settings.redis_prefix
            async for key in client.scan_iter(match=f"{prefix}*"):
                kind = await client.type(key)
                if kind == "string":
                    content: Any = await client.get(key)
                elif kind == "hash":
                    content = await client.hgetall(key)
                elif kind == "list":
                    content = await client.lrange(key, 0, -1)
                elif kind == "set":
                    content = sorted(await client.smembers(key))
                else:
                    content = kind
                text = json.dumps(content, default=str)
                found += [f"redis {key}: {m}" for m in markers if m in text]
        finally:
            await client.aclose()

    # Model files hold fitted estimators, never what they were fitted on.
    model_files = await asyncio.to_thread(read_files, Path(api.state.settings.model_dir))
    assert model_files, "no model was stored"
    for name, blob in model_files.items():
        found += [f"{name}: {m}" for m in markers if m.encode() in blob]

    assert found == [], found
