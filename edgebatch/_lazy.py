"""Lazy public names for a package: `name → module` resolved on first access (PEP 562)."""

from __future__ import annotations

import importlib
from typing import Callable


def lazy_exports(
    package: str, namespace: dict, exports: dict[str, str], before_import: Callable[[], None] = lambda: None
) -> tuple[Callable, Callable]:
    """`__getattr__` and `__dir__` for `package`; a name equal to its module's last part
    (e.g. `debug` → `edgebatch.debug`) is the module itself. `before_import` runs before
    the first import of an exported module."""

    def __getattr__(name: str):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        before_import()
        module = importlib.import_module(exports[name])
        value = module if module.__name__ == f"{package}.{name}" else getattr(module, name)
        namespace[name] = value
        return value

    def __dir__():
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
