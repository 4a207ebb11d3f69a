"""Engagement Summary: page config, navigation, the sign-in gate. The pages do the rest."""

from __future__ import annotations

from ui.frame import configure_page, navigation, run_page
from ui.gate import require_sign_in
from ui.heap import settle_heap
from ui.presentation import is_presenting
from ui.runtime import get_runtime, load_settings

presenting = is_presenting()
configure_page(presenting)
settings = load_settings()
page = navigation(presenting)  # before the gate, so Streamlit never lists pages/ by itself
require_sign_in(settings)
get_runtime(settings)  # one runtime per process: building it marks jobs a dead process left running as failed
try:
    run_page(page)
finally:
    settle_heap()  # once per process, after the first page imported what it draws with (ui/heap.py)
