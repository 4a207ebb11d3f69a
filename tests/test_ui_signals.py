"""Coverage, signals and changes as text: the shared lines (present) and the page's additions (ui.signals)."""

from __future__ import annotations

from datetime import UTC, datetime

from engagement.models import Changes, Coverage
from engagement.render.present import change_items, coverage_line, signal_name
from ui.signals import page_coverage_line


def test_coverage_line_names_only_what_is_missing():
    """Nothing missing: just the analysed count; gaps are added as they exist."""
    assert coverage_line(Coverage(meetings=13, with_transcript=13, analysed=13)) == "13 of 13 meetings analysed"
    gaps = Coverage(meetings=13, with_transcript=12, without_transcript=1, analysed=12, unmatched_speakers=2)
    assert coverage_line(gaps) == "12 of 13 meetings analysed · 1 without a transcript · 2 speakers unmatched"


def test_the_page_adds_how_fresh_the_meetings_are():
    """On the page the line ends with when the meetings were read, said as people say it."""
    coverage = Coverage(meetings=1, with_transcript=1, analysed=1, index_updated_at="2026-06-01T09:00:00.000000Z")
    now = datetime(2026, 6, 1, 9, 5, tzinfo=UTC)
    assert page_coverage_line(coverage, now) == "1 of 1 meeting analysed · meetings read 5 minutes ago"


def test_signal_names_read_as_words_with_their_person():
    """A signal id becomes its name, with the person it is about in brackets; an unknown kind is still readable."""
    assert signal_name("champion_quiet:Sarah Lopez") == "Champion quiet (Sarah Lopez)"
    assert signal_name("gone_dark") == "Gone dark"
    assert signal_name("brand_new_rule") == "Brand new rule"


def test_change_items_list_only_what_changed():
    """Empty lists are left out; signals are named; new meetings are their ids."""
    changes = Changes(since_run_id="r", since="2026-06-01", new_meetings=[7], resolved_signals=["gone_dark"])
    assert change_items(changes) == [("New meetings", ["7"]), ("Resolved signals", ["Gone dark"])]
