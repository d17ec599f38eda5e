"""A registry is a plain dict filled by a small decorator.

    LOSSES = Registry("loss")
    @LOSSES.register("hinge")
    def hinge(...): ...
    LOSSES.get("hinge")          # unknown names raise an error listing the valid ones
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError):
    """Raised for a name no registry entry has; the message lists the valid names."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want plain text
        return str(self.args[0])


class Registry(dict, Generic[T]):
    """A name -> object dict whose failed look-ups say what is accepted."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def register(self, name: str) -> Callable[[T], T]:
        def add(obj: T) -> T:
            if name in self:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self[name] = obj
            return obj

        return add

    def get(self, name: str) -> T:  # type: ignore[override]
        if name not in self:
            valid = ", ".join(sorted(self))
            raise UnknownNameError(f"unknown {self.kind} {name!r}; valid {self.kind}s: {valid}")
        return self[name]
