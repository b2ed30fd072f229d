"""Artifact references: NAME, NAME@VERSION, NAME@ALIAS (NAME@latest is the newest version)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from edgebatch.errors import RegistryError

LATEST = "latest"
_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
_ALIAS = r"[A-Za-z_][A-Za-z0-9_.-]*"
_REF = re.compile(rf"(?P<name>{_NAME})(?:@(?:(?P<version>[1-9][0-9]*)|(?P<alias>{_ALIAS})))?")


@dataclass(frozen=True)
class Ref:
    """A parsed reference; at most one of `version` and `alias` is set."""

    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}@{self.version}"
        if self.alias is not None:
            return f"{self.name}@{self.alias}"
        return self.name


def parse_ref(ref: str) -> Ref:
    """Parse `NAME`, `NAME@VERSION` or `NAME@ALIAS`; raise RegistryError if malformed."""
    match = _REF.fullmatch(ref)
    if match is None:
        raise RegistryError(
            f"bad artifact reference {ref!r}: expected NAME, NAME@VERSION (an integer >= 1) "
            "or NAME@ALIAS, where NAME is letters, digits, '_', '.', '-'"
        )
    version = match["version"]
    alias = None if match["alias"] == LATEST else match["alias"]
    return Ref(match["name"], int(version) if version else None, alias)


def check_name(name: str) -> None:
    """Raise RegistryError unless `name` is a valid artifact name."""
    if not re.fullmatch(_NAME, name):
        raise RegistryError(
            f"bad artifact name {name!r}: use letters, digits, '_', '.', '-' "
            "and start with a letter or digit"
        )


def check_alias(alias: str) -> None:
    """Raise RegistryError unless `alias` can be set (not numeric, not 'latest')."""
    if not re.fullmatch(_ALIAS, alias) or alias == LATEST:
        raise RegistryError(
            f"bad alias {alias!r}: use letters, digits, '_', '.', '-', start with a letter "
            f"or '_', and do not use the reserved alias '{LATEST}'"
        )
