"""The process's long-lived objects kept out of the garbage collector's full passes, so a poll costs little.

Streamlit runs a full garbage collection after every script run, each 2-second poll of a fragment
included (``runner.postScriptGC``). Its cost is the number of objects it walks, and what this app imports
(pandas, Plotly, pydantic, the store's and Fathom's clients) is some 110,000 objects more than a bare
Streamlit page: 60-odd ms of each poll went into walking objects that live as long as the process.
``gc.freeze()`` moves the objects alive now to a generation no collection visits; objects made later are
collected as before, and a frozen object whose count of references drops to zero is still freed. Only
a frozen object that later becomes part of unreachable cycle is kept, so this runs once per process,
after a full collection (nothing already garbage is frozen), at the end of the first page run, when
that page's imports are done.
"""

from __future__ import annotations

import gc
import threading

_settled = threading.Event()  # set once the process's heap is frozen: asking gc would count every frozen object
_settling = threading.Lock()


def settle_heap() -> bool:
    """Freeze what the process holds now, once per process (later calls do nothing); whether this call froze it."""
    if _settled.is_set():
        return False
    with _settling:
        if _settled.is_set():
            return False
        gc.collect()
        gc.freeze()
        _settled.set()
        return True
