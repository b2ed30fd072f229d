"""The TFLite schema's table layouts, read off the reader classes generated from it.

ai_edge_litert ships the flatc-generated Python readers of the schema its runtime reads
(`ai_edge_litert.schema_py_generated`, no TensorFlow import). Each field accessor there reads
one vtable slot in one of a few fixed ways: a scalar, a string, a table, a union, or a
vector of scalars or tables. Running every accessor once against `_RecordingTable`, a
stand-in for flatbuffers' Table, tells each field's slot and kind, so the verifier walks
exactly the schema the runtime was built with.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass

from ai_edge_litert import schema_py_generated as schema

FILE_IDENTIFIER = b"TFL3"
ROOT_TABLE = "Model"
# The generated accessor of a union field does not say which union it holds; the schema
# does. Keyed by (table, accessor); a union field missing here stops the layout build.
_UNION_OF_FIELD = {
    ("Operator", "BuiltinOptions"): "BuiltinOptions",
    ("Operator", "BuiltinOptions2"): "BuiltinOptions2",
    ("QuantizationParameters", "Details"): "QuantizationDetails",
    ("DimensionMetadata", "ArraySegments"): "SparseIndexVector",
    ("DimensionMetadata", "ArrayIndices"): "SparseIndexVector",
}
# Accessors flatc writes next to each field's own accessor.
_HELPER_SUFFIXES = ("AsNumpy", "Length", "IsNone")

SCALAR, STRING, TABLE, UNION, SCALAR_VECTOR, TABLE_VECTOR = (
    "scalar", "string", "table", "union", "scalar vector", "table vector")


@dataclass(frozen=True)
class Field:
    name: str
    slot: int
    kind: str
    size: int = 0  # bytes of the scalar, or of one vector element
    table: str | None = None  # child table of TABLE / TABLE_VECTOR
    union: str | None = None  # union enum of UNION


class _RecordingTable:
    """Answers a generated accessor's reads (every field present, every value 0) and
    records what it read."""

    Bytes = b""
    Pos = 0

    def __init__(self):
        self.slot = None
        self.reads: list[str] = []
        self.size = 0

    def Offset(self, vtable_offset):  # noqa: N802 - the generated code's names
        self.slot = (vtable_offset - 4) // 2
        return 4  # non-zero: "the field is present"

    def Get(self, flags, offset):  # noqa: N802
        self.reads.append(SCALAR)
        self.size = flags.bytewidth
        return 0

    def Vector(self, offset):  # noqa: N802
        self.reads.append("vector")
        return 0

    def Indirect(self, offset):  # noqa: N802
        self.reads.append("indirect")
        return 0

    def String(self, offset):  # noqa: N802
        self.reads.append(STRING)
        return b""

    def Union(self, table, offset):  # noqa: N802
        self.reads.append(UNION)


def _accessors(cls) -> list[tuple[str, object]]:
    functions = {name: fn for name, fn in vars(cls).items() if inspect.isfunction(fn)}

    def is_helper(name: str) -> bool:  # `ShapeLength` is a helper of `Shape`; `Length` is a field
        return any(name.endswith(s) and name[: -len(s)] in functions for s in _HELPER_SUFFIXES)

    return [(name, fn) for name, fn in functions.items() if name != "Init" and not is_helper(name)]


def _probe(table_name: str, name: str, accessor) -> Field:
    reader = object.__new__(getattr(schema, table_name))
    recorder = _RecordingTable()
    reader._tab = recorder
    takes_index = len(inspect.signature(accessor).parameters) == 2
    result = accessor(reader, 0) if takes_index else accessor(reader)
    child = type(result).__name__ if hasattr(result, "_tab") else None
    reads = recorder.reads
    if recorder.slot is None:
        raise TypeError(f"{table_name}.{name} reads no vtable slot (a struct?)")
    if reads == [SCALAR]:
        return Field(name, recorder.slot, SCALAR, recorder.size)
    if reads == [STRING]:
        return Field(name, recorder.slot, STRING)
    if reads == ["indirect"] and child:
        return Field(name, recorder.slot, TABLE, table=child)
    if reads == [UNION]:
        union_name = _UNION_OF_FIELD.get((table_name, name))
        if union_name is None:
            raise TypeError(f"union field {table_name}.{name} is not in _UNION_OF_FIELD")
        return Field(name, recorder.slot, UNION, union=union_name)
    if reads == ["vector", SCALAR]:
        return Field(name, recorder.slot, SCALAR_VECTOR, recorder.size)
    if reads == ["vector", "indirect"] and child:
        return Field(name, recorder.slot, TABLE_VECTOR, 4, table=child)
    raise TypeError(f"{table_name}.{name}: unrecognised accessor (reads {reads})")


@functools.cache
def table_fields(table_name: str) -> tuple[Field, ...]:
    """The fields of a schema table, by slot. A union's type field sits in the slot before it."""
    cls = getattr(schema, table_name)
    fields = sorted((_probe(table_name, name, fn) for name, fn in _accessors(cls)),
                    key=lambda f: f.slot)
    by_slot = {f.slot: f for f in fields}
    for field in fields:
        type_field = by_slot.get(field.slot - 1)
        if field.kind == UNION and (type_field is None or type_field.name != field.name + "Type"):
            raise TypeError(f"union field {table_name}.{field.name} has no type field before it")
    return tuple(fields)


@functools.cache
def union_members(name: str) -> dict[int, str]:
    """{type value: table name} of a union (without NONE)."""
    members = {value: member for value, member in enum_names(name).items() if member != "NONE"}
    missing = [member for member in members.values() if not hasattr(schema, member)]
    if missing:
        raise TypeError(f"union {name} has members without a table: {missing}")
    return members


def enum_names(name: str) -> dict[int, str]:
    """{value: name} of a schema enum (TensorType, BuiltinOperator, ...)."""
    return {v: k for k, v in vars(getattr(schema, name)).items() if not k.startswith("_")}


def reader(table_name: str):
    """The generated reader class of a table (for reading a verified buffer)."""
    return getattr(schema, table_name)
