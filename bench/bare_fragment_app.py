"""The cheapest possible polling page: the baseline the polling benchmark compares the app with.

With ``BENCH_FREEZE=1`` it freezes its heap after its first run, as the app does (``ui/heap.py``).
"""

import gc
import os
import time

import streamlit as st

st.title("Bare fragment")


@st.fragment(run_every="2s")
def poll() -> None:
    st.write(time.time())


poll()
if os.environ.get("BENCH_FREEZE") and not gc.get_freeze_count():
    gc.collect()
    gc.freeze()
