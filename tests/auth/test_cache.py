"""The in-process TTL cache."""

from __future__ import annotations

from auth.cache import TtlCache


def test_entries_expire_and_size_is_bounded() -> None:
    cache: TtlCache[str, int] = TtlCache(60, max_entries=2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("c", 3)
    assert cache.get("a") is None
    assert cache.get("b") == 2
    assert cache.get("c") == 3
    cache.put("gone", 4, ttl=0)
    assert cache.get("gone") is None
    cache.put("past", 5, ttl=-1)
    assert cache.get("past") is None
    cache.clear()
    assert cache.get("b") is None


def test_zero_ttl_caches_nothing() -> None:
    cache: TtlCache[str, int] = TtlCache(0)
    cache.put("a", 1)
    assert cache.get("a") is None
