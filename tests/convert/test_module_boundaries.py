"""Who may import whom inside the converter, read from the source (every import statement,
also those inside functions).

- `ir/` (the graph language) imports neither passes nor lowerings;
- no lowering imports a pass;
- a pass imports only itself and passes that run before it (PIPELINE's order); the
  pass infrastructure (manager, invariants) imports no pass.
"""

import ast
from pathlib import Path

import pytest

from edgebatch._convert.passes.pipeline import PIPELINE

CONVERT = Path(__file__).resolve().parents[2] / "edgebatch" / "_convert"
PASSES = "edgebatch._convert.passes"
LOWERINGS = "edgebatch._convert.lowerings"
# modules of the passes package that belong to no pass; only the pipeline imports passes
INFRASTRUCTURE = {f"{PASSES}.manager", f"{PASSES}.invariants"}
PACKAGE_FILES = {PASSES, f"{PASSES}.pipeline"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(CONVERT.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in CONVERT.rglob("*.py")}


def imports(module: str) -> set[str]:
    """The edgebatch modules `module` imports (`from pkg import sub` counts as pkg.sub)."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names
                         if f"{node.module}.{alias.name}" in MODULES)
    return {name for name in found if name.startswith("edgebatch.")}


def _under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def pass_index(module: str) -> int | None:
    """Position in PIPELINE of the pass that `module` belongs to (None: infrastructure)."""
    for index, graph_pass in enumerate(PIPELINE):
        if _under(module, graph_pass.run.__module__):
            return index
    return None


def test_every_module_of_the_passes_package_has_a_place():
    for module in MODULES:
        if _under(module, PASSES):
            assert module in INFRASTRUCTURE | PACKAGE_FILES or pass_index(module) is not None, \
                f"{module} belongs to no pass in PIPELINE and is not infrastructure"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _under(m, LOWERINGS)))
def test_lowerings_do_not_import_passes(module):
    assert not [name for name in imports(module) if _under(name, PASSES)]


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _under(m, "edgebatch._convert.ir")))
def test_ir_imports_neither_passes_nor_lowerings(module):
    assert not [name for name in imports(module)
                if _under(name, PASSES) or _under(name, LOWERINGS)]


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _under(m, PASSES)
                                          and m not in PACKAGE_FILES))
def test_passes_import_no_pass_that_runs_after_them(module):
    own = pass_index(module)
    for name in imports(module):
        if not _under(name, PASSES) or name in INFRASTRUCTURE:
            continue
        other = pass_index(name)
        assert own is not None, f"infrastructure module {module} imports the pass module {name}"
        assert other is not None and other <= own, \
            f"{module} (pass '{PIPELINE[own].name}') imports {name}, which runs after it"
