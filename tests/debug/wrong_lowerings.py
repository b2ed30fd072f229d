"""Lowerings made wrong on purpose, swapped in where the converter looks lowerings up."""

from edgebatch._convert import tf_graph
from edgebatch._imports import tensorflow

tf = tensorflow()


def swap_lowering(monkeypatch, op, make_wrong) -> None:
    """Until the test ends, `op` lowers through `make_wrong(its real lowering)`."""
    real_lookup = tf_graph.lookup

    def lookup(target):
        lowering = real_lookup(target)
        return make_wrong(lowering) if target == op else lowering

    monkeypatch.setattr(tf_graph, "lookup", lookup)


def negated(lowering):
    return lambda context, *args, **kwargs: -lowering(context, *args, **kwargs)


def gathers_out_of_range(lowering):
    """The op's result, read at indices past its first dimension: converts, fails in LiteRT."""
    def lower(context, *args, **kwargs):
        result = lowering(context, *args, **kwargs)
        rows = result.shape[0]
        return tf.gather(result, tf.range(rows) + rows, axis=0)

    return lower
