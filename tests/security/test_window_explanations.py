"""Administrators see why a window moved trust, in words, and never which keys were typed."""

from __future__ import annotations

import re
from typing import Any

from tests.realtime.harness import Live
from tests.realtime.synthetic import KEYS, typing
from tests.security.live import StartServer, trained_and_watched


def held_longer(events: list[dict[str, Any]], factor: float) -> list[dict[str, Any]]:
    """The same keystrokes, each key held ``factor`` times as long (the next press moves on by
    the same amount, so keys still do not overlap)."""
    out, shift, down_at = [], 0.0, 0.0
    for event in events:
        if event["type"] == "down":
            down_at = event["t"]
            out.append({**event, "t": down_at + shift})
        else:
            hold = event["t"] - down_at
            out.append({**event, "t": down_at + shift + hold * factor})
            shift += hold * (factor - 1)
    return out


async def test_a_low_window_is_explained_by_what_changed_in_words_without_keys(
    start_server: StartServer, sockets: list[Live]
) -> None:
    watched = await trained_and_watched(start_server, sockets)
    tab, watcher, owner = watched.tab, watched.watcher, watched.owner

    # Someone who holds every key three times as long sits down.
    await tab.emit("input", {"events": held_longer(typing(12, t0=watched.t, seed=99), 3.0)})
    # The row once that window is scored: its trust and explanation come in one write. (The
    # owner's last window may be scored first, when the model is ready before it: trust stays
    # high then, and its explanation is of the owner.)
    listed = await watcher.wait_for_view(
        lambda v: any(
            s.get("explanation") and s.get("trust") is not None and s["trust"] < 90
            for s in v["sessions"]
            if s["email"] == owner.email
        ),
        within=30,
    )

    [row] = [s for s in listed["sessions"] if s["email"] == owner.email]
    reasons = row["explanation"]["reasons"]
    assert row["explanation"]["modality"] == "keystroke"
    assert 1 <= len(reasons) <= 3
    assert all(r["llr"] < 0 for r in reasons)  # a low window: what points away from the owner
    assert any(r["feature"].startswith("hold.") for r in reasons)
    hold = next(r for r in reasons if r["feature"].startswith("hold."))
    assert hold["change"] > 0.5
    assert re.search(r"hold times.* \d+ % longer than usual|longer than usual", hold["text"])
    words = " ".join(r["text"] for r in reasons)
    assert not any(re.search(rf"\b{re.escape(code)}\b", words) for code in KEYS)
    trusts = [payload for name, payload in tab.events if name == "trust"]
    assert all("explanation" not in payload for payload in trusts)  # never the person's
