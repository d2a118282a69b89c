"""Answers to repeated queries, kept per worker and keyed by the store's build.

A build id changes with every build or update, so a cached answer is never stale: a new
generation simply stops matching old keys, which then age out (least recently used first,
within a byte budget). Queries whose answer may change without a new build are never
cached: those that call another endpoint (``SERVICE``) or a non-deterministic function
(``RAND``, ``NOW``, ``UUID``, ``STRUUID``, ``BNODE``).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

from kg.config import Settings, is_remote

_VOLATILE = re.compile(r"\b(SERVICE|RAND|NOW|UUID|STRUUID|BNODE)\b", re.IGNORECASE)

CacheKey = tuple[object, ...]


@dataclass(frozen=True)
class CachedAnswer:
    """A finished 200 answer: its body and the headers that describe it."""

    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...]


def cache_share(settings: Settings) -> int:
    """Bytes each of the two answer caches of a worker may hold: half of ``KG_CACHE_MB``
    for the app's answers by query, half for the whole ``GET`` responses that
    :mod:`kg.web.wsgi` repeats. None for a remote store: its server can change behind our
    back, while the build id we read would not."""
    return 0 if is_remote(settings.store) else settings.cache_mb * 1024 * 1024 // 2


def cacheable(query: str) -> bool:
    """False for queries whose answer may change while the store does not."""
    return _VOLATILE.search(query) is None


class ResultCache:
    """A thread-safe LRU of answers bounded by ``max_bytes``; answers larger than
    ``max_entry`` bytes are not kept. ``max_bytes=0`` turns the cache off."""

    def __init__(self, max_bytes: int, max_entry: int = 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self.max_entry = min(max_entry, max_bytes)
        self.size = 0
        self._entries: OrderedDict[CacheKey, CachedAnswer] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: CacheKey) -> CachedAnswer | None:
        with self._lock:
            answer = self._entries.get(key)
            if answer is not None:
                self._entries.move_to_end(key)
            return answer

    def put(self, key: CacheKey, answer: CachedAnswer) -> None:
        if len(answer.body) > self.max_entry:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.size -= len(old.body)
            self._entries[key] = answer
            self.size += len(answer.body)
            while self.size > self.max_bytes and self._entries:
                _, dropped = self._entries.popitem(last=False)
                self.size -= len(dropped.body)

    def __len__(self) -> int:
        return len(self._entries)
