"""Fixtures for registry tests: a real registry in tmp_path, with its index in SQLite and
(tests marked postgres) in PostgreSQL; fake .tflite bytes; a put helper."""

from __future__ import annotations

import pytest

from edgebatch.registry import Registry

TFLITE_HEADER = b"\x1c\x00\x00\x00TFL3"


def tflite_bytes(payload: bytes | str) -> bytes:
    """Bytes with a TFLite file identifier, enough for the registry's format check."""
    return TFLITE_HEADER + (payload.encode() if isinstance(payload, str) else payload)


@pytest.fixture(name="tflite_bytes")
def tflite_bytes_fixture():
    return tflite_bytes


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def index_url(request) -> str | None:
    """None for the default SQLite index in the registry root, or a fresh PostgreSQL database."""
    return None if request.param == "sqlite" else request.getfixturevalue("postgres_url")


@pytest.fixture
def registry(tmp_path, index_url) -> Registry:
    return Registry(tmp_path / "registry", url=index_url)


@pytest.fixture
def put(registry):
    """put(name, payload, **overrides) with empty recipe/metrics/tool versions by default."""

    def _put(name, payload, **overrides):
        kwargs = {"recipe": {}, "metrics": {}, "tool_versions": {}, **overrides}
        return registry.put(name, tflite_bytes(payload), **kwargs)

    return _put
