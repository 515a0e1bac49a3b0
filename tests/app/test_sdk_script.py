"""The capture SDK's script at its stable path, for a reverse proxy to inject into any page."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from app import frontend
from tests.app.api import Api

SCRIPT = "/sdk/capture.js"

ONE_BACKEND = pytest.mark.parametrize("database", ["postgres"], indirect=True)
"""Serving a file touches no database: one configuration is enough."""


@pytest.fixture
def built_script() -> bytes:
    """The single-file build the web app's build copies in (``make frontend`` makes it)."""
    assert frontend.SDK_SCRIPT.is_file(), "the capture SDK is not built: run `make frontend`"
    return frontend.SDK_SCRIPT.read_bytes()


@ONE_BACKEND
async def test_the_sdk_is_one_classic_script_served_to_anyone_as_javascript(
    api: Api, built_script: bytes
) -> None:
    reply = await api.get(SCRIPT)

    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert reply.raw == built_script
    assert reply.raw.startswith(b"var BBAuth=")  # the global a page calls: BBAuth.start(...)
    assert reply.headers["X-Content-Type-Options"] == "nosniff"


@ONE_BACKEND
async def test_caches_keep_it_briefly_and_revalidate_it_by_its_etag(
    api: Api, built_script: bytes
) -> None:
    first = await api.get(SCRIPT)
    assert first.headers["Cache-Control"] == "public, max-age=300, must-revalidate"
    assert first.headers["ETag"]
    assert first.headers["Last-Modified"]

    again = await api.get(SCRIPT, headers={"If-None-Match": first.headers["ETag"]})

    assert again.status == 304
    assert again.raw == b""


@ONE_BACKEND
async def test_pages_of_other_origins_may_load_it(api: Api, built_script: bytes) -> None:
    reply = await api.get(SCRIPT, headers={"Origin": "https://shop.example", "Accept": "*/*"})

    assert reply.status == 200
    assert reply.headers["Cross-Origin-Resource-Policy"] == "cross-origin"


@ONE_BACKEND
async def test_a_missing_build_is_a_404_problem_that_says_how_to_build_it(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(frontend, "SDK_SCRIPT", tmp_path / "capture.js")

    reply = await api.get(SCRIPT)

    assert reply.is_problem(404, "not_built")
    assert "make frontend" in reply.body["detail"]


@ONE_BACKEND
async def test_only_that_one_file_is_served_under_sdk(api: Api, built_script: bytes) -> None:
    for path in ("/sdk/", "/sdk/../api/openapi.json", "/sdk/capture.mjs", "/sdk/capture.js/x"):
        reply = await api.get(path)
        assert reply.is_problem(404), (path, reply.status)


@ONE_BACKEND
@pytest.mark.parametrize("encoding", ["gzip", "br"])
async def test_it_goes_out_compressed_as_the_build_wrote_it_when_the_browser_accepts_that(
    api: Api, built_script: bytes, encoding: str
) -> None:
    suffix = {"gzip": ".gz", "br": ".br"}[encoding]
    written = frontend.SDK_SCRIPT.with_name(frontend.SDK_SCRIPT.name + suffix).read_bytes()

    reply = await api.get(SCRIPT, headers={"Accept-Encoding": f"{encoding}, identity"})

    assert reply.status == 200
    assert reply.headers["Content-Encoding"] == encoding
    assert reply.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert "Accept-Encoding" in reply.headers["Vary"]
    assert reply.raw == written
    if encoding == "gzip":
        assert gzip.decompress(reply.raw) == built_script


@ONE_BACKEND
async def test_a_client_that_accepts_no_compression_gets_the_file_itself(
    api: Api, built_script: bytes
) -> None:
    reply = await api.get(SCRIPT, headers={"Accept-Encoding": "identity"})

    assert "Content-Encoding" not in reply.headers
    assert reply.raw == built_script
    assert "Accept-Encoding" in reply.headers["Vary"]
