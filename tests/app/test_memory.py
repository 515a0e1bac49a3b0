"""A serving worker gives freed heap back to the operating system once a minute."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from app import memory
from app.factory import create_app
from tests.conftest import embedded_settings

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc heap")


def _rss_bytes() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


@linux_only
def test_trimming_returns_freed_heap_that_free_alone_keeps() -> None:
    trim = memory.malloc_trim()
    assert trim is not None
    # 100 MB of heap blocks (over pymalloc's 512 bytes, under glibc's mmap threshold), all freed
    # but the last, which pins the top of the heap so that free() alone cannot shrink it.
    blocks = [bytearray(2000) for _ in range(50_000)]
    last = blocks[-1]
    del blocks
    before = _rss_bytes()
    assert trim() is True
    assert before - _rss_bytes() > 50 * 2**20
    assert len(last) == 2000


async def test_a_serving_app_trims_on_its_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _counting_trim(monkeypatch)
    app = create_app(embedded_settings(tmp_path, memory_trim_seconds=0.02, scheduler_enabled=False))
    async with app.test_app():
        await asyncio.sleep(0.2)
    seen = len(calls)
    assert seen >= 3
    await asyncio.sleep(0.1)
    assert len(calls) == seen  # stopped with the app


async def test_zero_turns_trimming_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting_trim(monkeypatch)
    app = create_app(embedded_settings(tmp_path, memory_trim_seconds=0, scheduler_enabled=False))
    async with app.test_app():
        await asyncio.sleep(0.1)
    assert calls == []


def _counting_trim(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Replace glibc's trim by one that counts its calls."""
    calls: list[int] = []

    def trim() -> bool:
        calls.append(1)
        return True

    monkeypatch.setattr(memory, "malloc_trim", lambda: trim)
    return calls
