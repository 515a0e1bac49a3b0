"""Recorded people for the evidence tests: real typing (Aalto) and pointer use (SapiMouse) of
people outside the shipped backgrounds, enrolled straight from their recordings and replayed
into live sockets with timestamps that follow the server's (manual) clock."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pytest

from app.behavior import service as behavior_service
from app.behavior import training
from app.settings import get_settings
from models.events import KeyEvent, MouseEvent
from models.live import KEYSTROKE_SCHEMA, MOUSE_SCHEMA
from models.windows import KeystrokeWindower, MouseWindower
from realtime.simulation.recordings import (
    Person,
    load_aalto_people,
    load_sapimouse_people,
)
from realtime.simulation.replay import wire_event
from tests.realtime.harness import Live
from tests.security.live import Served

Event = KeyEvent | MouseEvent


def aalto_people(limit: int) -> list[Person]:
    """Aalto participants outside the shipped background (skips without the archive)."""
    archive = get_settings().datasets_dir / "aalto-136m-keystrokes-participants-first-1000.tar.xz"
    if not archive.exists():
        pytest.skip(f"Aalto archive not found at {archive}")
    return load_aalto_people(archive, limit=limit)


def sapimouse_people(limit: int) -> list[Person]:
    """SapiMouse users outside the shipped background (skips without the archive)."""
    archive = get_settings().datasets_dir / "sapimouse-users-001-080.tar.xz"
    if not archive.exists():
        pytest.skip(f"SapiMouse archive not found at {archive}")
    return load_sapimouse_people(archive, limit=limit)


async def enroll(
    served: Served, user_id: str, events: Sequence[Event], *, train: bool = True
) -> None:
    """Cut ``events`` into the server's windows, store them as the user's enrollment samples
    and train the model (in a child process, as the service does). ``train=False`` stores the
    samples alone: a user who is only another's background (their rows), whose own model no
    test asks of."""
    settings, state = served.api.state.settings, served.api.state
    keys = [e for e in events if isinstance(e, KeyEvent)]
    mouse = [e for e in events if isinstance(e, MouseEvent)]
    for schema, rows in (
        (
            KEYSTROKE_SCHEMA,
            [
                w.features
                for w in KeystrokeWindower(
                    size=settings.keystroke_window, min_size=settings.keystroke_window // 2
                ).feed(keys)
            ],
        ),
        (MOUSE_SCHEMA, [row for w in MouseWindower(size=settings.mouse_window).feed(mouse)
                        for row in w.features]),
    ):  # fmt: skip
        if not rows:
            continue
        async with state.sessions() as db:
            await behavior_service.add_samples(
                db=db, clock=state.clock, user_id=user_id, session_id=None, schema=schema, rows=rows
            )
            await behavior_service.profile(db=db, clock=state.clock, user_id=user_id)
            await db.commit()
        if train:
            assert await training.train(state=state, user_id=user_id, schema=schema) is not None


def wire(event: Event) -> dict[str, Any]:
    """One event as the browser sends it."""
    if isinstance(event, KeyEvent):
        return wire_event(event, 0.0)
    wired: dict[str, Any] = {"t": event.t, "type": event.type, "x": event.x, "y": event.y}
    for name in ("button", "dx", "dy"):
        if getattr(event, name) is not None:
            wired[name] = getattr(event, name)
    return wired


@dataclass
class Replayer:
    """Sends a recording into a socket in batches of ``batch_ms`` of recorded time, moving the
    server's manual clock along with it (so the server's clock bound holds, as in real time)."""

    served: Served
    live: Live
    t: float = 1000.0
    """The tab's clock (ms): where the next recording starts."""
    batch_ms: float = 1000.0

    async def play(self, events: Sequence[Event], *, pause_ms: float = 0.0) -> None:
        """Replay ``events`` (shifted to continue the tab's clock), then ``pause_ms`` of quiet."""
        if events:
            shift = self.t - events[0].t
            batch: list[dict[str, Any]] = []
            start = events[0].t
            for event in events:
                if event.t - start >= self.batch_ms and batch:
                    await self._send(batch, (event.t - start) / 1000.0)
                    batch, start = [], event.t
                batch.append(wire(shifted(event, shift)))
            await self._send(batch, (events[-1].t - start) / 1000.0)
            self.t = events[-1].t + shift
        if pause_ms:
            self.served.api.clock.advance(pause_ms / 1000.0)
            self.t += pause_ms

    async def _send(self, batch: list[dict[str, Any]], seconds: float) -> None:
        self.served.api.clock.advance(seconds)
        if self.live.disconnected:
            return  # the server ended the session (revoked): the typing goes nowhere
        await self.live.emit("input", {"events": batch})
        await asyncio.sleep(0.02)


def shifted(event: Event, by: float) -> Event:
    """``event`` moved ``by`` ms in time."""
    if isinstance(event, KeyEvent):
        return replace(event, t=event.t + by)
    return MouseEvent(
        t=event.t + by, type=event.type, x=event.x, y=event.y, button=event.button,
        dx=event.dx, dy=event.dy,
    )  # fmt: skip


def bursts(events: Sequence[KeyEvent], keys: int) -> list[list[KeyEvent]]:
    """The key events cut into bursts of at most ``keys`` keystrokes (whole keystrokes)."""
    out: list[list[KeyEvent]] = [[]]
    held: set[tuple[str, int]] = set()
    downs = 0
    for event in events:
        if event.type == "down" and downs >= keys and not held:
            out.append([])
            downs = 0
        out[-1].append(event)
        if event.type == "down":
            held.add((event.key, event.slot))
            downs += 1
        else:
            held.discard((event.key, event.slot))
    return [b for b in out if b]
