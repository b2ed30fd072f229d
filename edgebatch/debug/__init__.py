"""Debugging tools: the parts of a model that fail to convert (`find_culprits`), and the
ops where a converted model's numbers drift from PyTorch's (`find_accuracy_culprits`)."""

from edgebatch.debug.accuracy import (
    AccuracyCulprit, IntermediateComparison, NodeComparison, compare_intermediates,
    find_accuracy_culprits,
)
from edgebatch.debug.culprits import Culprit, find_culprits
from edgebatch.debug.search import SearchResult, search_model

_search_model = search_model  # ai_edge_torch's name for it

__all__ = ["AccuracyCulprit", "Culprit", "IntermediateComparison", "NodeComparison",
           "SearchResult", "compare_intermediates", "find_accuracy_culprits", "find_culprits",
           "search_model"]
