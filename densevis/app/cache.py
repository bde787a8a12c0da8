"""A cache for the whole server bounded by bytes as well as entries: least recently used
values go first. Keys are frozen records (a DenseNetConfig and options), hashed as they are.
A value being made is made once: other sessions asking for it meanwhile wait for it."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class ByteCache(Generic[V]):
    """Values up to ``max_bytes`` in all (as ``size_of`` counts them) and ``max_entries``."""

    def __init__(self, max_bytes: int, max_entries: int, size_of: Callable[[V], int]) -> None:
        self.max_bytes, self.max_entries, self.size_of = max_bytes, max_entries, size_of
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._making: dict[Hashable, threading.Event] = {}
        self._lock = threading.Lock()
        self.bytes = 0

    def get(self, key: Hashable, make: Callable[[], V]) -> V:
        """The cached value for ``key``, made (outside the lock) when missing. While one
        caller makes it, others asking for the same key wait and then read it; if it could
        not be kept (an error, or too big), each makes its own."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
            pending = self._making.get(key)
            if pending is None:
                self._making[key] = threading.Event()
        if pending is not None:
            pending.wait()
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key][0]
            return make()
        try:
            value = make()
            self._keep(key, value)
        finally:
            with self._lock:
                self._making.pop(key).set()
        return value

    def _keep(self, key: Hashable, value: V) -> None:
        size = self.size_of(value)
        with self._lock:
            if key not in self._items and size <= self.max_bytes:
                self._items[key] = (value, size)
                self.bytes += size
            while self.bytes > self.max_bytes or len(self._items) > self.max_entries:
                self.bytes -= self._items.popitem(last=False)[1][1]

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items
