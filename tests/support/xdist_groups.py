"""``--dist loadgroup`` that works on pytest 9: the tests of one ``xdist_group`` mark run on one worker, in order.

pytest-xdist 3.8 names a test's group by rewriting ``item._nodeid`` on the worker; pytest 9 builds ``nodeid`` from
``item._id`` instead, so the rewrite is lost and every grouped test went to whichever worker was free (each then
building the module's server and browser). This scheduler, made by ``tests/conftest.py``'s
``pytest_xdist_make_scheduler``, reads the marks itself: it imports the test module and looks at the module's and
the function's ``pytestmark``. A test without a group is its own unit, as under xdist's own ``loadgroup``.

The units that drive a browser go out first, the largest first: each runs for minutes on one worker, so one handed
out last would run on alone at the end while the other workers idle. The many short units fill in around them.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

from xdist.scheduler.loadscope import LoadScopeScheduling

LONG_MARK = "browser"  # a unit with a test so marked starts a server and a browser: it goes out first


@functools.cache
def marks_of(path: str, name: str) -> tuple[Any, ...]:
    """The marks of test ``name`` (a function or class) in the module at ``path``: the module's and its own."""
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    marks: list[Any] = []
    for owner in (module, getattr(module, name, None)):
        found = getattr(owner, "pytestmark", [])
        marks += found if isinstance(found, list) else [found]
    return tuple(marks)


def group_of(path: str, name: str) -> str | None:
    """The ``xdist_group`` of test ``name`` (a function or class) in the module at ``path`` (None: none)."""
    names = sorted(
        str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
        for mark in marks_of(path, name)
        if getattr(mark, "name", None) == "xdist_group"
    )
    return "_".join(names) or None


def _split(nodeid: str) -> tuple[str, str]:
    path, _, rest = nodeid.partition("::")
    return path, rest.split("::")[0].split("[")[0]


class GroupScheduling(LoadScopeScheduling):
    """xdist's scope scheduling with a scope per ``xdist_group`` (and per test outside any group); the scopes of
    browser tests are handed out before all others."""

    _ordered = False

    def _split_scope(self, nodeid: str) -> str:
        path, name = _split(nodeid)
        group = group_of(path, name) if path.endswith(".py") and name else None
        return f"group:{group}" if group else nodeid

    def _is_long(self, nodeids: dict[str, bool]) -> bool:
        for nodeid in nodeids:
            path, name = _split(nodeid)
            if (
                path.endswith(".py")
                and name
                and any(getattr(m, "name", None) == LONG_MARK for m in marks_of(path, name))
            ):
                return True
        return False

    def _assign_work_unit(self, node: Any) -> None:
        if not self._ordered:  # the first hand-out: the work queue is complete, in xdist's order (largest first)
            self._ordered = True
            long_units = [scope for scope, nodeids in self.workqueue.items() if self._is_long(nodeids)]
            for scope in reversed(long_units):
                self.workqueue.move_to_end(scope, last=False)
        super()._assign_work_unit(node)
