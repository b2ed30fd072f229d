"""Carry the complex results of FFTs as real tensors with a trailing (real, imag) dim.

TFLite has almost no complex kernels, and `torch.stft(..., return_complex=True)`
followed by `.abs()` or `view_as_real` is how spectrograms reach the graph: _fft_r2c →
permute / view / slice of the complex tensor → abs or view_as_real. The pass gives every
`_fft_r2c` a `view_as_real` and moves what reads the complex value onto that real view:

- permute / view / reshape / slice / select act on the real view, the trailing dim kept;
- abs becomes the 2-norm over the trailing dim; view_as_real is the real view itself;
- an inverse FFT (`_fft_c2r`) reads `view_as_complex` of the real view; any
  `view_as_complex(x)` has x as its real view.

The lowering of `_fft_r2c` emits the real view directly (so its `view_as_real` lowers to
the identity). Any other op reading a complex value fails as an unsupported op.
"""

from __future__ import annotations

import operator

import torch

from edgebatch._convert.ir.nodes import copy_meta, fake_value, graph_fake_mode, norm_dim, rank
from edgebatch._convert.lowerings.registry import op_name
from edgebatch._convert.passes.manager import PassResult
from edgebatch._convert.source import user_source_line
from edgebatch.errors import UnsupportedOpError

aten = torch.ops.aten

_VIEWS = (aten.view.default, aten._unsafe_view.default, aten.reshape.default)


def _is_complex(node) -> bool:
    value = node.meta.get("val") if isinstance(node, torch.fx.Node) else None
    return isinstance(value, torch.Tensor) and value.is_complex()


def _real_form(node: torch.fx.Node, real: torch.fx.Node):
    """(target, args) computing `node` from the real view of its complex input, or None."""
    target, args = node.target, node.args
    complex_rank = rank(args[0])
    if target is aten.view_as_real.default:
        return None, real
    if target is aten.permute.default:
        dims = [norm_dim(d, complex_rank) for d in args[1]]
        return aten.permute.default, (real, [*dims, complex_rank])
    if target in _VIEWS:
        return target, (real, [*args[1], 2])
    if target in (aten.slice.Tensor, aten.select.int):
        dim = norm_dim(args[1] if len(args) > 1 else 0, complex_rank)
        return target, (real, dim, *args[2:])
    if target is aten.abs.default:
        return aten.linalg_vector_norm.default, (real, 2, [-1])
    if target is aten._fft_c2r.default:  # reads the view, through a (lowered) view_as_complex
        return aten.view_as_complex.default, (real,)
    return False


def real_spectra(program: torch.export.ExportedProgram) -> PassResult:
    graph = program.graph_module.graph
    calls = [n for n in graph.nodes if n.op == "call_function"]
    ffts = [n for n in calls if n.target is aten._fft_r2c.default]
    real_of = {n: n.args[0] for n in calls if n.target is aten.view_as_complex.default}
    if not ffts and not real_of:
        return PassResult(False)
    fake_mode = graph_fake_mode(graph)
    for fft in ffts:
        with graph.inserting_after(fft):
            real = graph.call_function(aten.view_as_real.default, (fft,))
        real.meta.update(copy_meta(fft))
        real.meta["val"] = fake_value(fake_mode, real.target, real.args)
        real_of[fft] = real
    moved = 0
    for node in list(graph.nodes):  # topological: a node's complex input is mapped first
        if node.op != "call_function" or not node.args or node.args[0] not in real_of \
                or node in real_of.values():
            continue
        form = _real_form(node, real_of[node.args[0]])
        if form is False:
            continue
        target, args = form
        if target is None:
            replacement = args
        else:
            with graph.inserting_before(node):
                replacement = graph.call_function(target, args)
            replacement.meta.update(copy_meta(node))
            replacement.meta["val"] = fake_value(fake_mode, target, args)
        if node.target is aten._fft_c2r.default:
            node.replace_input_with(node.args[0], replacement)
        elif _is_complex(node):
            real_of[node] = replacement
        else:
            node.replace_all_uses_with(replacement)
        moved += 1
    graph.eliminate_dead_code()
    _refuse_other_complex_ops(graph)
    return PassResult(True, {"ffts": len(ffts), "complex_ops_moved": moved})


# What may still read a complex value after the rewrite: each lowers it as its real view.
_READS_COMPLEX = (aten.view_as_real.default, aten._fft_c2r.default)


def _refuse_other_complex_ops(graph: torch.fx.Graph) -> None:
    """An op left reading a complex value would compute on its (real, imag) view as if it
    were real numbers: refuse it instead of converting it wrongly."""
    for node in graph.nodes:
        if node.op == "call_function" and node.target not in _READS_COMPLEX \
                and node.target is not operator.getitem \
                and any(_is_complex(arg) for arg in node.all_input_nodes):
            raise UnsupportedOpError(f"{op_name(node.target)} on complex input",
                                     user_source_line(node), node.name)
