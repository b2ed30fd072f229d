"""The graph language that passes and lowerings share.

`nodes` reads and builds FX nodes (values, shapes, dims, metadata), `nhwc_ops` defines
the channels-last ops the layout pass emits and the lowerings turn into TF ops, and
`op_registry` is the table both use to attach code to an op. Nothing here imports a
pass or a lowering.
"""
