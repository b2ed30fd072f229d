"""A custom op edgebatch has no lowering for, defined once per process."""

import torch

_LIBRARY = torch.library.Library("edgebatch_test", "DEF")
_LIBRARY.define("rare(Tensor x) -> Tensor")


@torch.library.impl(_LIBRARY, "rare", "CompositeExplicitAutograd")
def _rare(x):
    return x * 2 + 1


@torch.library.impl(_LIBRARY, "rare", "Meta")
def _rare_meta(x):
    return torch.empty_like(x)


rare = torch.ops.edgebatch_test.rare.default
