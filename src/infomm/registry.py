"""One small registry: ``register``, ``get``, ``names``.

One registry per family (MI estimators, entropy estimators, bounds, critics, tasks ...),
filled by importing the subpackage that defines the members. A duplicate name is an error,
and an unknown name raises :class:`~infomm.interface.InputError` listing the known ones.

Example:
    >>> reg = Registry("colour")
    >>> _ = reg.register("red", 1, summary="warm")
    >>> reg.get("red")
    1
    >>> reg.names()
    ['red']
    >>> reg.get("blue")
    Traceback (most recent call last):
    ...
    infomm.interface.InputError: unknown colour 'blue'; choose one of: red
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from infomm.interface import InputError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> object map with one-line summaries, used for discovery and the CLI."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._summaries: dict[str, str] = {}

    def register(self, name: str, obj: T, *, summary: str = "") -> T:
        """Add ``obj`` under ``name``; raises ``ValueError`` if the name is taken."""
        key = name.lower()
        if key in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[key] = obj
        self._summaries[key] = summary
        return obj

    def unregister(self, name: str) -> T:
        """Remove ``name`` and return its object (for tests and plugins that register temporarily)."""
        obj = self.get(name)
        key = name.lower()
        del self._items[key]
        del self._summaries[key]
        return obj

    def decorator(self, name: str, *, summary: str = "") -> Callable[[T], T]:
        """``@registry.decorator("name")`` form of :meth:`register`."""

        def deco(obj: T) -> T:
            return self.register(name, obj, summary=summary)

        return deco

    def get(self, name: str) -> T:
        """The object registered as ``name`` (case-insensitive)."""
        key = str(name).lower()
        if key not in self._items:
            raise InputError(f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())}")
        return self._items[key]

    def summary(self, name: str) -> str:
        self.get(name)
        return self._summaries[str(name).lower()]

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)
