"""The Elasticsearch sink: bulk batches, retries with backoff, counted drops, and a caller that
never waits, whatever Elasticsearch does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from prometheus_client import REGISTRY

from app.logsink import ElasticsearchSink
from app.settings import REPO_ROOT
from tests.app.api import Account
from tests.conftest import StartApp
from tests.ops.elastic import FakeElasticsearch, closed_port_url

TEMPLATE = REPO_ROOT / "deploy" / "elasticsearch" / "index-template.json"
MakeSink = Callable[..., ElasticsearchSink]


def event(n: int) -> dict[str, Any]:
    return {
        "@timestamp": "2031-03-04T09:00:05+00:00",
        "event": "trust_window",
        "session_id": f"s{n}",
        "score": 80.0,
        "n": n,
    }


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Wait until ``condition()`` holds (polling), failing after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


def dropped_metric(reason: str) -> float:
    return REGISTRY.get_sample_value("bbauth_log_sink_dropped_total", {"reason": reason}) or 0.0


@pytest.fixture
async def make_sink() -> AsyncIterator[MakeSink]:
    """Sinks with quick test timings (started; closed after the test)."""
    sinks: list[ElasticsearchSink] = []

    def make(url: str, **overrides: Any) -> ElasticsearchSink:
        options: dict[str, Any] = {
            "batch_size": 100,
            "flush_seconds": 0.01,
            "request_timeout": 0.5,
            "backoff_base": 0.05,
            "max_attempts": 4,
            "template": None,
        }
        options.update(overrides)
        sink = ElasticsearchSink(url, **options)
        sinks.append(sink)
        return sink

    yield make
    for sink in sinks:
        await sink.close(within=1.0)


async def test_events_go_out_in_bulk_requests_of_at_most_batch_size(
    elastic: FakeElasticsearch, make_sink: MakeSink
) -> None:
    sink = make_sink(elastic.url, batch_size=100)
    await sink.start()

    for n in range(250):
        assert sink.enqueue(event(n))
    assert await sink.flush(within=10)

    assert [len(r.documents) for r in elastic.requests] == [100, 100, 50]
    assert sorted(d["n"] for d in elastic.stored) == list(range(250))
    actions = [a for r in elastic.requests for a in r.actions]
    assert {a["create"]["_index"] for a in actions} == {"bbauth-events-2031.03.04"}
    assert len({a["create"]["_id"] for a in actions}) == 250
    assert sink.sent == 250
    assert sink.dropped_total == 0


async def test_the_index_template_is_applied_at_start_up(
    elastic: FakeElasticsearch, make_sink: MakeSink
) -> None:
    sink = make_sink(elastic.url, template=TEMPLATE, index_prefix="bbauth-events")
    await sink.start()

    await until(lambda: "bbauth-events" in elastic.templates)

    template = elastic.templates["bbauth-events"]
    assert template["index_patterns"] == ["bbauth-events-*"]
    assert template["template"]["mappings"]["properties"]["score"]["type"] == "float"
    assert elastic.requests == []


async def test_a_template_refused_at_start_up_is_applied_before_the_first_batch(
    elastic: FakeElasticsearch, make_sink: MakeSink
) -> None:
    elastic.fail_next = 1  # Elasticsearch is still starting: 503
    sink = make_sink(elastic.url, template=TEMPLATE, index_prefix="audit")
    await sink.start()
    await until(lambda: sink.requests == 1)
    assert elastic.templates == {}

    sink.enqueue(event(1))
    assert await sink.flush(within=10)

    assert elastic.templates["bbauth-events"]["index_patterns"] == ["audit-*"]
    assert [a["create"]["_index"] for a in elastic.requests[0].actions] == ["audit-2031.03.04"]
    assert sink.sent == 1


async def test_failed_requests_are_retried_with_growing_backoff(
    elastic: FakeElasticsearch, make_sink: MakeSink
) -> None:
    elastic.fail_next = 2
    sink = make_sink(elastic.url, backoff_base=0.1, max_attempts=5)
    await sink.start()

    for n in range(10):
        sink.enqueue(event(n))
    assert await sink.flush(within=10)

    assert len(elastic.requests) == 3
    first, second, third = (r.at for r in elastic.requests)
    # Waits are base * 2**(k-1) times a factor in [0.5, 1]: at least 0.05 s, then 0.1 s.
    assert second - first >= 0.05
    assert third - second >= 0.1
    assert sink.retries == 2
    assert sorted(d["n"] for d in elastic.stored) == list(range(10))
    assert sink.dropped_total == 0


async def test_only_failed_items_are_resent_and_refused_items_are_dropped_and_counted(
    elastic: FakeElasticsearch, make_sink: MakeSink
) -> None:
    elastic.item_statuses = [201, 429, 400, 503, 201]
    rejected_before = dropped_metric("rejected")
    sink = make_sink(elastic.url)
    await sink.start()

    for n in range(5):
        sink.enqueue(event(n))
    assert await sink.flush(within=10)

    assert [len(r.documents) for r in elastic.requests] == [5, 2]
    assert sorted(d["n"] for d in elastic.stored) == [0, 1, 3, 4]
    assert sink.sent == 4
    assert sink.dropped == {"rejected": 1}
    assert dropped_metric("rejected") == rejected_before + 1


async def test_an_unreachable_elasticsearch_costs_the_batch_after_the_last_attempt(
    make_sink: MakeSink,
) -> None:
    undeliverable_before = dropped_metric("undeliverable")
    sink = make_sink(closed_port_url(), max_attempts=3, backoff_base=0.01)
    await sink.start()

    for n in range(10):
        assert sink.enqueue(event(n))  # accepted: the outage is the sender's problem
    assert await sink.flush(within=10)

    assert sink.requests == 3
    assert sink.retries == 2
    assert sink.dropped == {"undeliverable": 10}
    assert dropped_metric("undeliverable") == undeliverable_before + 10


async def test_enqueue_never_waits_for_a_hung_elasticsearch_and_counts_what_it_drops(
    elastic: FakeElasticsearch, make_sink: MakeSink
) -> None:
    elastic.hang = True  # every request waits 30 s unanswered
    full_before = dropped_metric("buffer_full")
    sink = make_sink(elastic.url, max_buffer=1000, request_timeout=0.2, max_attempts=3)
    await sink.start()
    sink.enqueue(event(-1))
    await until(lambda: len(elastic.requests) == 1)  # the sender is stuck in a request

    started = time.perf_counter()
    accepted = sum(sink.enqueue(event(n)) for n in range(20_000))
    burst = time.perf_counter() - started

    assert burst < 1.0  # bounded: 20 000 non-blocking puts, while the request hangs for 30 s
    assert accepted == 1000
    assert sink.dropped["buffer_full"] == 19_000
    assert dropped_metric("buffer_full") == full_before + 19_000
    # The hung request times out on the client side and is tried again.
    await until(lambda: len(elastic.requests) >= 2, within=5)
    assert sink.retries >= 1

    closing = time.perf_counter()
    await sink.close(within=0.3)
    assert time.perf_counter() - closing < 5.0
    assert sink.dropped["shutdown"] >= 1000


async def test_signing_in_sends_audit_events_with_request_ids_to_elasticsearch(
    start_app: StartApp, elastic: FakeElasticsearch
) -> None:
    api = await start_app(elasticsearch_url=elastic.url)
    alice = await api.create_account(email="alice@example.com")

    await api.sign_in(alice, headers={"X-Request-ID": "req-0001"})
    await until(lambda: {"login_password", "login"} <= {d["event"] for d in elastic.stored})

    by_event = {d["event"]: d for d in elastic.stored}
    assert by_event["login_password"]["outcome"] == "success"
    assert by_event["login_password"]["request_id"] == "req-0001"
    assert by_event["login"]["user_id"] == alice.id
    assert by_event["login"]["session_id"]
    assert "bbauth-events" in elastic.templates


async def test_a_hung_elasticsearch_does_not_slow_signing_in(
    start_app: StartApp, elastic: FakeElasticsearch
) -> None:
    elastic.hang = True
    api = await start_app(elasticsearch_url=elastic.url)
    accounts: list[Account] = [
        await api.create_account(email=f"user{n}@example.com") for n in range(3)
    ]

    started = time.perf_counter()
    for account in accounts:
        await api.sign_in(account)
    elapsed = time.perf_counter() - started

    assert elapsed < 10.0  # three sign-ins, while each Elasticsearch request hangs 30 s
    assert api.state.log_sink is not None
    assert api.state.log_sink.sent == 0  # the events wait, not the sign-ins
    assert elastic.stored == []


async def test_closing_is_bounded_even_if_the_sender_loses_its_cancellation(
    elastic: FakeElasticsearch, make_sink: MakeSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Python 3.11's wait_for, inside the client, can swallow a cancellation (app.background).
    sink = make_sink(elastic.url)
    finishing = asyncio.Event()

    async def deaf_deliver(batch: list[dict[str, Any]]) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            await finishing.wait()  # ... the call finishes, and the cancellation is lost

    monkeypatch.setattr(sink, "_deliver", deaf_deliver)
    await sink.start()
    sink.enqueue(event(1))
    await until(lambda: sink._in_flight == 1)

    closing = asyncio.create_task(sink.close(within=0.1, grace=0.5))
    await asyncio.sleep(0.2)
    finishing.set()  # the sender goes on as if never cancelled: it must see it is stopping
    await asyncio.wait_for(closing, 5.0)
    assert sink.dropped["shutdown"] == 1
