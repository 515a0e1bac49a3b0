"""One copy per process of the large arrays that every loaded user model of a background holds.

Each stored keystroke model carries its background's projection and AS-norm cohort (pickles stay
self-contained, so a model never silently changes with a rebuilt background). Loaded as they are,
a worker would hold one copy of the cohort, and of what scoring derives from it, per user. Loading
a model therefore swaps its arrays for an equal array already in memory (`shared`), and values
derived from shared arrays are computed once per process (`derived`). Shared arrays are made
read-only: a model that wrote into one would change every other user's.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Final, TypeVar

import numpy as np
from numpy.typing import NDArray

T = TypeVar("T")

DERIVED_ENTRIES: Final = 8
"""Derived values kept (a worker serves one background per modality, two while it changes)."""

_lock = threading.Lock()
_arrays: weakref.WeakValueDictionary[tuple[str, tuple[int, ...], bytes], NDArray[np.generic]] = (
    weakref.WeakValueDictionary()
)
_derived: OrderedDict[Hashable, object] = OrderedDict()


def content_key(a: NDArray[np.generic]) -> tuple[str, tuple[int, ...], bytes]:
    """What identifies an array's content: dtype, shape and a SHA-256 of its bytes."""
    data = np.ascontiguousarray(a)
    return data.dtype.str, data.shape, hashlib.sha256(data.tobytes()).digest()


def shared(a: NDArray[np.generic]) -> NDArray[np.generic]:
    """The process's one read-only copy of arrays equal to ``a`` (``a`` itself if it is the
    first; the copy lives as long as some model holds it)."""
    key = content_key(a)
    with _lock:
        existing = _arrays.get(key)
        if existing is not None:
            return existing
        own = np.array(a, copy=True)
        own.setflags(write=False)
        _arrays[key] = own
        return own


def derived(key: Hashable, build: Callable[[], T]) -> T:
    """``build()``, computed once per process for ``key`` (among the last `DERIVED_ENTRIES`).

    ``key`` must name everything the value depends on (e.g. `content_key` of its inputs)."""
    with _lock:
        if key in _derived:
            _derived.move_to_end(key)
            return _derived[key]  # type: ignore[return-value]
    value = build()
    with _lock:
        _derived[key] = value
        _derived.move_to_end(key)
        while len(_derived) > DERIVED_ENTRIES:
            _derived.popitem(last=False)
    return value
