"""A table from ops to what a stage attaches to them (lowerings, layout rules).

Keys are OpOverloads (`aten.add.Tensor`), OpOverloadPackets (`aten.add`) or any other
FX call target. Lookup falls back from an overload to its packet and from the packet
to its `.default`, so one entry can serve all overloads of an op.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import torch

T = TypeVar("T")


class OpRegistry(Generic[T]):
    def __init__(self, kind: str):
        self._kind = kind  # for the message on a double registration, e.g. "lowerings"
        self._entries: dict[object, T] = {}

    def add(self, target, entry: T) -> None:
        if target in self._entries:
            raise RuntimeError(f"two {self._kind} registered for {target}")
        self._entries[target] = entry

    def lookup(self, target) -> T | None:
        """Overload → its packet → the packet's `.default`."""
        if target in self._entries:
            return self._entries[target]
        if isinstance(target, torch._ops.OpOverload):
            packet = target.overloadpacket
            if packet in self._entries:
                return self._entries[packet]
            default = getattr(packet, "default", None)
            if default is not None and default in self._entries:
                return self._entries[default]
        return None


__all__ = ["OpRegistry"]
