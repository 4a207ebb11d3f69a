"""``--dist loadgroup`` that works on pytest 9: the tests of one ``xdist_group`` mark run on one worker, in order.

pytest-xdist 3.8 names a test's group by rewriting ``item._nodeid`` on the worker; pytest 9 builds ``nodeid`` from
``item._id`` instead, so the rewrite is lost and every grouped test went to whichever worker was free (each then
building the module's server and browser). This scheduler, made by ``tests/conftest.py``'s
``pytest_xdist_make_scheduler``, reads the marks itself: it imports the test module and looks at the module's and
the function's ``pytestmark``. A test without a group is its own unit, as under xdist's own ``loadgroup``.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

from xdist.scheduler.loadscope import LoadScopeScheduling


@functools.cache
def group_of(path: str, name: str) -> str | None:
    """The ``xdist_group`` of test ``name`` (a function or class) in the module at ``path`` (None: none)."""
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    marks: list[Any] = []
    for owner in (module, getattr(module, name, None)):
        found = getattr(owner, "pytestmark", [])
        marks += found if isinstance(found, list) else [found]
    names = sorted(
        str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
        for mark in marks
        if getattr(mark, "name", None) == "xdist_group"
    )
    return "_".join(names) or None


class GroupScheduling(LoadScopeScheduling):
    """xdist's scope scheduling with a scope per ``xdist_group`` (and per test outside any group)."""

    def _split_scope(self, nodeid: str) -> str:
        path, _, rest = nodeid.partition("::")
        name = rest.split("::")[0].split("[")[0]
        group = group_of(path, name) if path.endswith(".py") and name else None
        return f"group:{group}" if group else nodeid
