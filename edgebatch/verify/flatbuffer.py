"""A flatbuffers verifier: bounds and alignment of every object before anything reads it.

What flatbuffers' C++ `Verifier` checks, driven by the table layouts in `schema`: the root
offset, every table's vtable (inside the buffer, aligned, sane sizes), every present
field (scalars inside the buffer and aligned; offsets non-zero, forward and inside the
buffer), vectors (length and elements inside the buffer), strings (0-terminated, UTF-8),
unions (a known member type), nesting depth and object count. Flatbuffer offsets only
point forward, so a buffer has no cycles; objects shared between parents (allowed by
the format) are verified once.
"""

from __future__ import annotations

import struct

from edgebatch.verify import schema

MAX_DEPTH = 64
MAX_OBJECTS = 1_000_000
_U16, _U32, _I32 = struct.Struct("<H"), struct.Struct("<I"), struct.Struct("<i")


class FlatbufferError(Exception):
    """The buffer breaks the flatbuffer format or the schema; the message names where."""


class _Verifier:
    def __init__(self, data: bytes):
        self.data = data
        self.size = len(data)
        self.verified: set[tuple[str, int]] = set()

    def fail(self, path: str, reason: str):
        raise FlatbufferError(f"{path}: {reason}")

    def require(self, pos: int, length: int, align: int, path: str, what: str) -> None:
        if pos < 0 or length < 0 or pos + length > self.size:
            self.fail(path, f"{what} at byte {pos} (+{length}) lies outside the "
                            f"{self.size}-byte buffer")
        if pos % align:
            self.fail(path, f"{what} at byte {pos} is not {align}-byte aligned")

    def follow(self, pos: int, path: str) -> int:
        """The position an offset field at `pos` points to."""
        self.require(pos, 4, 4, path, "offset")
        offset = _U32.unpack_from(self.data, pos)[0]
        if offset == 0 or offset >= 2**31:
            self.fail(path, f"offset {offset} at byte {pos} is invalid")
        target = pos + offset
        self.require(target, 1, 1, path, "offset target")
        return target

    def vector(self, pos: int, element_size: int, path: str) -> tuple[int, int]:
        """(first element's position, length) of the vector at `pos`."""
        self.require(pos, 4, 4, path, "vector length")
        length = _U32.unpack_from(self.data, pos)[0]
        self.require(pos + 4, length * element_size, 1, path, f"vector of {length} elements")
        return pos + 4, length

    def string(self, pos: int, path: str) -> None:
        start, length = self.vector(pos, 1, path)
        self.require(start + length, 1, 1, path, "string terminator")
        if self.data[start + length] != 0:
            self.fail(path, "string is not 0-terminated")
        try:
            bytes(self.data[start:start + length]).decode("utf-8")
        except UnicodeDecodeError:
            self.fail(path, "string is not UTF-8")

    def table(self, pos: int, name: str, path: str, depth: int) -> None:
        if (name, pos) in self.verified:
            return
        if depth > MAX_DEPTH:
            self.fail(path, f"tables nest deeper than {MAX_DEPTH}")
        if len(self.verified) >= MAX_OBJECTS:
            self.fail(path, f"more than {MAX_OBJECTS} tables")
        self.require(pos, 4, 4, path, f"{name} table")
        vtable = pos - _I32.unpack_from(self.data, pos)[0]
        self.require(vtable, 4, 2, path, f"{name} vtable")
        vtable_size, table_size = struct.unpack_from("<HH", self.data, vtable)
        if vtable_size < 4 or vtable_size % 2:
            self.fail(path, f"{name} vtable size {vtable_size} is invalid")
        self.require(vtable, vtable_size, 2, path, f"{name} vtable")
        self.require(pos, max(table_size, 4), 1, path, f"{name} table of {table_size} bytes")

        def field_position(slot: int) -> int | None:
            entry = 4 + 2 * slot
            if entry >= vtable_size:
                return None
            offset = _U16.unpack_from(self.data, vtable + entry)[0]
            return pos + offset if offset else None

        for field in schema.table_fields(name):
            at = field_position(field.slot)
            if at is None:
                continue
            where = f"{path}.{field.name}"
            if field.kind == schema.SCALAR:
                self.require(at, field.size, field.size, where, "scalar")
            elif field.kind == schema.STRING:
                self.string(self.follow(at, where), where)
            elif field.kind == schema.TABLE:
                self.table(self.follow(at, where), field.table, where, depth + 1)
            elif field.kind == schema.SCALAR_VECTOR:
                self.vector(self.follow(at, where), field.size, where)
            elif field.kind == schema.TABLE_VECTOR:
                start, length = self.vector(self.follow(at, where), field.size, where)
                for i in range(length):
                    element = f"{where}[{i}]"
                    self.table(self.follow(start + 4 * i, element), field.table, element,
                               depth + 1)
            elif field.kind == schema.UNION:
                type_at = field_position(field.slot - 1)
                member_type = self.data[type_at] if type_at is not None else 0
                if member_type == 0:  # NONE: the value is never read
                    continue
                members = schema.union_members(field.union)
                if member_type not in members:
                    self.fail(where, f"unknown {field.union} type {member_type}")
                self.table(self.follow(at, where), members[member_type], where, depth + 1)
        self.verified.add((name, pos))


def verify_flatbuffer(data: bytes, root_table: str, identifier: bytes) -> None:
    """Raise FlatbufferError unless `data` is a well-formed flatbuffer of `root_table`."""
    if len(data) < 8:
        raise FlatbufferError(f"{len(data)} bytes are too few for a flatbuffer")
    if bytes(data[4:8]) != identifier:
        raise FlatbufferError(f"file identifier {bytes(data[4:8])!r}, expected {identifier!r}")
    verifier = _Verifier(data)
    verifier.table(verifier.follow(0, root_table), root_table, root_table, 0)
