"""Layout rules by op family; importing this package registers all of them."""

from edgebatch._convert.passes.layout.rules import (  # noqa: F401
    anchors, dims, elementwise, linalg, views,
)
from edgebatch._convert.passes.layout.rules.registry import Plan, Rule, register, rule_for

__all__ = ["Plan", "Rule", "register", "rule_for"]
