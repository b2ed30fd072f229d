"""Versioned, content-addressed registry of converted `.tflite` artifacts (SQLite index)."""

from edgebatch.registry.records import Artifact, Run
from edgebatch.registry.refs import Ref, parse_ref
from edgebatch.registry.registry import Registry

__all__ = ["Artifact", "Ref", "Registry", "Run", "parse_ref"]
