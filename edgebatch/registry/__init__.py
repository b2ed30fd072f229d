"""Versioned, content-addressed registry of converted `.tflite` artifacts (SQLite or
PostgreSQL index, blobs in a directory)."""

from edgebatch.registry.records import Artifact, Run
from edgebatch.registry.refs import Ref, parse_ref
from edgebatch.registry.registry import Registry
from edgebatch.registry.verify import Problem, VerifyReport

__all__ = ["Artifact", "Problem", "Ref", "Registry", "Run", "VerifyReport", "parse_ref"]
