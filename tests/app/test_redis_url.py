"""BBAUTH_REDIS_URL: one server, or a primary found through Redis Sentinel, read as python-socketio
reads it (its message queue gets the same URL); a malformed one stops the start, saying why."""

from __future__ import annotations

import pytest
from socketio.redis_manager import parse_redis_sentinel_url

from app.redis_clients import (
    BlockingSentinelConnectionPool,
    SentinelRedis,
    SentinelUrl,
    parse_sentinel_url,
    redis_client,
)
from app.settings import SettingsError, load_settings

THREE = "redis+sentinel://s1:26379,s2:26379,10.0.0.3:26380/2/bbauth-primary"


def test_a_sentinel_url_names_every_sentinel_the_service_and_the_database() -> None:
    assert parse_sentinel_url(THREE) == SentinelUrl(
        sentinels=(("s1", 26379), ("s2", 26379), ("10.0.0.3", 26380)),
        service_name="bbauth-primary",
        db=2,
    )


def test_the_password_of_a_sentinel_url_is_the_primarys() -> None:
    found = parse_sentinel_url("redis+sentinel://:p%40ss@s1:26379/0/main")
    assert (found.username, found.password) == (None, "p@ss")
    assert found.connection_options() == {"db": 0, "password": "p@ss"}
    named = parse_sentinel_url("redis+sentinel://app:secret@s1:26379/0/main")
    assert named.connection_options() == {"db": 0, "username": "app", "password": "secret"}


def test_python_socketio_reads_a_sentinel_url_as_bbauth_does() -> None:
    url = "redis+sentinel://:secret@s1:26379,s2:26379/3/main"
    sentinels, service, options = parse_redis_sentinel_url(url)
    ours = parse_sentinel_url(url)
    assert (tuple(sentinels), service) == (ours.sentinels, ours.service_name)
    assert options == ours.connection_options()


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("redis+sentinel://s1,s2:26379/0/main", "'s1' is not host:port"),
        ("redis+sentinel://s1:port/0/main", "'s1:port' is not host:port"),
        ("redis+sentinel://s1:70000/0/main", "'s1:70000' is not host:port"),
        ("redis+sentinel://s1:26379", "must be /<db>/<service_name>"),
        ("redis+sentinel://s1:26379/main", "must be /<db>/<service_name>"),
        ("redis+sentinel://s1:26379/0/", "must be /<db>/<service_name>"),
        ("redis+sentinel://s1:26379/main/0", "must be /<db>/<service_name>"),
        ("redis+sentinel://s1:26379/0/main?ssl=1", "no query"),
    ],
)
def test_a_malformed_sentinel_url_is_refused_saying_why(url: str, said: str) -> None:
    with pytest.raises(ValueError, match="expected redis\\+sentinel://") as raised:
        parse_sentinel_url(url)
    assert said in str(raised.value)


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "rediss://:pw@cache.example:6380/1",
        "unix:///run/redis.sock",
        THREE,
    ],
)
def test_settings_take_plain_and_sentinel_urls(url: str) -> None:
    assert load_settings(redis_url=url).redis_url == url


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://127.0.0.1:6379", "must start with redis://, rediss://, unix:// or redis+sentinel"),
        ("redis+sentinel://s1:26379/mymaster", "must be /<db>/<service_name>"),
    ],
)
def test_settings_refuse_a_bad_redis_url_naming_the_variable(url: str, said: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(redis_url=url)
    assert "BBAUTH_REDIS_URL" in str(raised.value)
    assert said in str(raised.value)


async def test_a_sentinel_url_gives_a_client_of_the_primary_that_waits_when_busy() -> None:
    client = redis_client(THREE, decode_responses=True)
    try:
        assert isinstance(client, SentinelRedis)
        pool = client.connection_pool
        assert isinstance(pool, BlockingSentinelConnectionPool)
        assert pool.service_name == "bbauth-primary"
        assert pool.is_master
        assert pool.connection_kwargs["db"] == 2
        assert pool.connection_kwargs["decode_responses"] is True
        sentinels = pool.sentinel_manager.sentinels
        assert [s.connection_pool.connection_kwargs["port"] for s in sentinels] == [
            26379,
            26379,
            26380,
        ]
    finally:
        await client.aclose()
