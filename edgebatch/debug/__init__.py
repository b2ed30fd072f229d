"""Debugging tools: find the smallest pieces of a model that fail to convert."""

from edgebatch.debug.culprits import Culprit, find_culprits

__all__ = ["Culprit", "find_culprits"]
