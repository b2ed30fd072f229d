"""FX passes over the exported program, run between torch.export and the lowering.

`pipeline` lists them in the order they run; `manager` runs them under their contract
(a name, a `PassResult`, an optional precondition, graph invariants checked after each
pass when asked) and `invariants` holds those checks. A pass imports only passes that
run before it; what passes and lowerings share lives in `ir/`.
"""
