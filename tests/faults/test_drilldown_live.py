"""The drill-down of a session scored on another worker: its windows live in Redis beside its
trust, so any worker answers with them, each with the words that explain it."""

from __future__ import annotations

import asyncio

import pytest

from tests.faults.clients import Tab
from tests.faults.conftest import Cluster
from tests.faults.flows import Streamer
from tests.realtime.harness import Person

pytestmark = pytest.mark.timeout(240)


async def test_windows_scored_on_one_worker_are_drilled_into_on_the_other(
    cluster: Cluster, typist: Person
) -> None:
    await typist.sign_in(cluster.a)
    tab = await Tab(cluster.via_b.url, typist.token).open()  # served by worker b
    try:
        await tab.wait_for("status")
        typing = Streamer(tab, kind="typing", interval=0.3, seed=18)
        for kind in ("typing", "odd", "odd"):  # the last two of someone else's rhythm
            typing.kind = kind
            await tab.emit("input", {"events": typing.batch()})
            await asyncio.sleep(0.3)
        await tab.wait_for("trust", lambda p: p["windows"] >= 3, within=30)
        challenged = await cluster.admin.post(
            f"/api/admin/sessions/{typist.session_id}/challenge", server=cluster.a
        )
        assert challenged.status_code == 200, challenged.text

        reply = await cluster.admin.get(f"/api/admin/sessions/{typist.session_id}", cluster.a)

        assert reply.status_code == 200, reply.text
        detail = reply.json()
        windows = detail["windows"]
        scored = tab.named("trust")[-1]["windows"]
        assert len(windows) == scored >= 3, "the windows scored on worker b reach worker a's"
        assert {w["modality"] for w in windows} == {"keystroke"}
        assert all(w["model_version"] is not None for w in windows)
        assert windows[-1]["score"] < 100
        assert windows[-1]["reasons"], "a window of someone else's rhythm says why"
        assert detail["actions"] == sum(w["window_size"] for w in windows)
        assert detail["connected"] is True
        assert detail["model_versions"]["keystroke"] == windows[-1]["model_version"]
        [challenge] = detail["challenges"]
        assert (challenge["cause"], challenge["outcome"], challenge["actions"]) == (
            "admin", "open", None,
        )  # fmt: skip
    finally:
        await tab.close()
        await cluster.admin.post(f"/api/admin/sessions/{typist.session_id}/revoke", json={})
