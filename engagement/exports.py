"""Public faces of the packages: each ``__init__`` names what it re-exports, loaded on first use.

A package's ``__init__`` lists its public names in ``__all__`` and hands ``exports_of`` the module
each one lives in; the names are imported from there when first read (PEP 562), so ``import
engagement.jobs`` costs nothing, importing one module of a package never loads its siblings, and
a package can re-export what a sibling imports without an import circle.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["exports_of"]


def exports_of(package: str, faces: Mapping[str, list[str]]) -> Callable[[str], Any]:
    """The module ``__getattr__`` of ``package``: each name of ``faces`` (module → names) read from its module."""
    home = {name: module for module, names in faces.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = home.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)  # read once: later reads are plain attributes
        return value

    __getattr__.faces = home  # type: ignore[attr-defined]  # what tests/test_docs.py checks against __all__
    return __getattr__
