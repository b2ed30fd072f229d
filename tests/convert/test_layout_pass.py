"""The layout pass: transposes placed once for the whole graph, at the cheapest cuts.

Each graph is checked three ways: the rewritten FX graph passes the invariant check and
computes the same numbers in torch (`run_program`), the converted model matches PyTorch
through LiteRT, and the flatbuffer holds the expected number of TRANSPOSE ops.
"""

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import edgebatch
from edgebatch._convert.export import export_module
from edgebatch._convert.ir import nhwc_ops
from edgebatch._convert.passes.invariants import check_graph, run_program
from edgebatch._convert.passes.pipeline import run_pipeline
from edgebatch._convert.passes.layout.perm import (
    after_permute, before_permute, channels_last, reduce_transpose, relative,
)
from edgebatch._convert.passes.layout.rewrite import PHYSICAL_LAYOUT_META
from edgebatch._convert.passes.layout.rules.views import reshape_layout
from edgebatch.flatbuffer_summary import summarize
from tests.convert.checks import assert_converts

aten = torch.ops.aten


def _conv(cin=8, cout=8, **kw):
    return nn.Conv2d(cin, cout, 3, padding=1, **kw)


class Fn(nn.Module):
    """forward = fn(self, x); submodules given as keyword arguments."""

    def __init__(self, fn, **modules):
        super().__init__()
        self.fn = fn
        for name, module in modules.items():
            self.add_module(name, module)

    def forward(self, x):
        return self.fn(self, x)


def _rewritten(module, args):
    program = export_module(module.eval(), args)
    run_pipeline(program, check=True)
    check_graph(program, tidy=True)
    with torch.no_grad():
        expected = module(*args)
    expected = expected if isinstance(expected, (tuple, list)) else [expected]
    for actual, ref in zip(run_program(program, *args), expected):
        np.testing.assert_allclose(actual.numpy(), ref.numpy(), atol=1e-5, rtol=1e-5)
    return program


def _transposes(module, x, *, channels_last_io=True, outputs=(0,)):
    """TRANSPOSE ops in the converted model (with NHWC input/outputs unless told not to)."""
    if channels_last_io:
        module = edgebatch.to_channel_last_io(module.eval(), args=[0], outputs=list(outputs))
        x = x.permute(0, *range(2, x.dim()), 1).contiguous()
    model = assert_converts(module, (x,))
    summary = summarize(model.flatbuffer)
    assert summary.ops_on_constants == []
    return summary.transposes, summary.ops


# --- the graphs of issue 4 ----------------------------------------------------------------

GRAPHS = {
    # name: (module, input shape, outputs to make NHWC, TRANSPOSE count with NHWC I/O)
    "conv_relu_pool_flatten_linear": (
        lambda: Fn(lambda m, x: m.fc(torch.flatten(F.max_pool2d(torch.relu(m.conv(x)), 2), 1)),
                   conv=_conv(3, 8), fc=nn.Linear(8 * 4 * 4, 5)),
        (2, 3, 8, 8), (), 0),
    "conv_pool_1x1_flatten_linear": (
        lambda: Fn(lambda m, x: m.fc(torch.flatten(F.adaptive_avg_pool2d(m.conv(x), 1), 1)),
                   conv=_conv(3, 8), fc=nn.Linear(8, 5)),
        (1, 3, 7, 7), (), 0),
    "channel_shuffle": (
        lambda: Fn(lambda m, x: m.c2(m.c1(x).view(1, 2, 4, 6, 6).transpose(1, 2).reshape(1, 8, 6, 6)
                                   .chunk(2, dim=1)[1]),
                   c1=_conv(), c2=_conv(4, 4)),
        (1, 8, 6, 6), (0,), 0),  # folded into c2's weight (passes/channel_permutation.py)
    "channel_shuffle_to_output": (  # the output needs the true channel order: a transpose
        lambda: Fn(lambda m, x: m.c1(x).view(1, 2, 4, 6, 6).transpose(1, 2).reshape(1, 8, 6, 6),
                   c1=_conv()),
        (1, 8, 6, 6), (0,), 1),
    "mean_over_hw": (
        lambda: Fn(lambda m, x: m.conv(x).mean((2, 3)), conv=_conv()),
        (2, 8, 5, 5), (), 0),
    "concat_over_channels": (
        lambda: Fn(lambda m, x: m.c2(torch.cat([torch.relu(m.c1(x)), x], 1)),
                   c1=_conv(), c2=_conv(16, 4)),
        (1, 8, 6, 6), (0,), 0),
    "residual_add": (
        lambda: Fn(lambda m, x: m.c2(torch.relu(m.c1(x)) + x), c1=_conv(), c2=_conv()),
        (1, 8, 6, 6), (0,), 0),
    "conv_amax_channels": (
        lambda: Fn(lambda m, x: m.conv(x).amax(1, keepdim=True), conv=_conv()),
        (1, 8, 6, 6), (0,), 0),
    "convnext_permute_layernorm_permute": (
        lambda: Fn(lambda m, x: m.c2(m.lin(m.ln(m.c1(x).permute(0, 2, 3, 1))).permute(0, 3, 1, 2)),
                   c1=_conv(groups=8), ln=nn.LayerNorm(8), lin=nn.Linear(8, 8), c2=_conv()),
        (1, 8, 6, 6), (0,), 0),
    "softmax_over_channels": (
        lambda: Fn(lambda m, x: torch.softmax(m.conv(x), dim=1), conv=_conv()),
        (1, 8, 5, 6), (0,), 0),
    "squeeze_excite": (
        lambda: Fn(lambda m, x: x * torch.sigmoid(m.fc2(torch.relu(m.fc1(F.adaptive_avg_pool2d(x, 1))))),
                   fc1=nn.Conv2d(8, 4, 1), fc2=nn.Conv2d(4, 8, 1)),
        (1, 8, 6, 6), (0,), 0),
    "slice_pad_split": (
        lambda: Fn(lambda m, x: m.c2(torch.cat(F.pad(m.c1(x)[:, :, 1:, ::2], (1, 0, 0, 1)).split([3, 5], 1)[::-1], 1)),
                   c1=_conv(), c2=_conv()),
        (1, 8, 7, 8), (0,), 0),
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_transposes_with_channels_last_io(name):
    torch.manual_seed(0)
    make, shape, outputs, expected = GRAPHS[name]
    module = make()
    _rewritten(module, (torch.randn(shape),))
    transposes, _ = _transposes(module, torch.randn(shape), outputs=outputs)
    assert transposes == expected


@pytest.mark.parametrize("name", ["residual_add", "concat_over_channels", "mean_over_hw"])
def test_at_most_one_transpose_per_nchw_input_and_output(name):
    torch.manual_seed(0)
    make, shape, outputs, _ = GRAPHS[name]
    transposes, _ = _transposes(make(), torch.randn(shape), channels_last_io=False)
    four_d_outputs = 1 if outputs else 0
    assert transposes <= 1 + four_d_outputs


def test_flatten_into_linear_reorders_the_weight_not_the_activation():
    make, shape, _, _ = GRAPHS["conv_relu_pool_flatten_linear"]
    program = _rewritten(make(), (torch.randn(shape),))
    linear = next(n for n in program.graph.nodes if n.target is aten.linear.default)
    flattened = linear.args[0]
    assert flattened.target is aten.view.default
    assert flattened.args[0].target is nhwc_ops.max_pool_cl  # no permute in between


def test_channel_shuffle_transposes_at_rank_at_most_four():
    make, shape, _, _ = GRAPHS["channel_shuffle_to_output"]
    program = _rewritten(make(), (torch.randn(shape),))
    permutes = [n for n in program.graph.nodes if n.target is aten.permute.default]
    assert permutes and all(len(n.args[1]) <= 4 for n in permutes)


def test_rewritten_nodes_keep_their_source_metadata():
    module = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2))
    program = _rewritten(module, (torch.randn(1, 3, 8, 8),))
    for node in program.graph.nodes:
        if node.op == "call_function":
            assert node.meta.get("stack_trace"), node.name
            assert node.meta.get("nn_module_stack"), node.name
    conv = next(n for n in program.graph.nodes if n.target is nhwc_ops.conv_cl)
    assert conv.name == "convolution"  # the FX name of the node it replaces
    assert any("0" in path for path, _ in conv.meta["nn_module_stack"].values())
    # per-node accuracy tools read how to get torch's tensor back: permute by the inverse
    assert conv.meta[PHYSICAL_LAYOUT_META] == (0, 2, 3, 1)


def test_tuple_and_mixed_outputs_leave_in_torch_layout():
    module = Fn(lambda m, x: (m.conv(x), m.conv(x).sum(1), x.mean()), conv=_conv())
    _rewritten(module, (torch.randn(2, 8, 5, 5),))
    model = assert_converts(module, (torch.randn(2, 8, 5, 5),))
    assert summarize(model.flatbuffer).transposes == 2


def test_dynamic_batch_keeps_one_transpose():
    module = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                           nn.Conv2d(4, 4, 3, stride=2, padding=1), nn.AdaptiveAvgPool2d(1),
                           nn.Flatten(), nn.Linear(4, 2)).eval()
    x = torch.randn(2, 3, 8, 8)
    model = edgebatch.convert(module, (x,), dynamic_shapes=({0: torch.export.Dim("n", max=8)},))
    for batch in (1, 3):
        xb = torch.randn(batch, 3, 8, 8)
        fresh = type(model)(model.flatbuffer)  # the signature runner resizes to the input
        np.testing.assert_allclose(fresh(xb), module(xb).detach().numpy(), atol=1e-5)
    assert summarize(model.flatbuffer).transposes == 1


def test_attention_transposes_fold_into_batch_matmul():
    """q·kᵀ with k arriving transposed: the swap becomes BATCH_MATMUL's adj flag."""

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(16, 48)

        def forward(self, x):  # x: [B, L, 16], 2 heads of 8
            q, k, v = self.qkv(x).view(1, 5, 3, 2, 8).permute(2, 0, 3, 1, 4).unbind(0)
            attn = torch.softmax(q @ k.transpose(-2, -1), dim=-1)
            return (attn @ v).transpose(1, 2).reshape(1, 5, 16)

    torch.manual_seed(0)
    _rewritten(Attention(), (torch.randn(1, 5, 16),))
    model = assert_converts(Attention(), (torch.randn(1, 5, 16),))
    ops = summarize(model.flatbuffer).ops
    assert ops["BATCH_MATMUL"] == 2 and ops.get("TRANSPOSE", 0) <= 2


# --- the pieces ---------------------------------------------------------------------------

def test_permutation_algebra():
    cl = channels_last(4)
    assert cl == (0, 2, 3, 1)
    # permute(x, (0, 2, 3, 1)) of an NHWC-held NCHW tensor moves no data
    assert after_permute((0, 2, 3, 1), cl) == (0, 1, 2, 3)
    assert before_permute((0, 3, 1, 2), cl) == (0, 1, 2, 3)
    x = torch.randn(2, 3, 4, 5)
    rel = relative((0, 1, 2, 3), cl)
    assert torch.equal(x.permute(rel), x.permute(cl))


def test_reduce_transpose_merges_neighbours_and_drops_ones():
    assert reduce_transpose([1, 6, 6, 2, 4], (0, 1, 2, 4, 3)) == ([36, 2, 4], (0, 2, 1))
    assert reduce_transpose([2, 3, 4], (0, 1, 2)) == ([24], (0,))


def test_reshape_layout():
    # ViT's patch flatten: [1, 768, 14, 14] held NHWC → [1, 768, 196] held as [1, 196, 768]
    assert reshape_layout([1, 768, 14, 14], [1, 768, 196], channels_last(4)) == (0, 2, 1)
    # flattening C, H, W of an NHWC tensor needs the data reordered
    assert reshape_layout([2, 8, 4, 4], [2, 128], channels_last(4)) is None
    # ... unless H = W = 1
    assert reshape_layout([2, 8, 1, 1], [2, 8], channels_last(4)) == (0, 1)
