"""The summary page's coverage line and signal names, as pure text."""

from __future__ import annotations

from datetime import UTC, datetime

from engagement.models import Coverage
from ui.signals import coverage_line, signal_name


def test_coverage_line_names_only_what_is_missing_and_how_fresh_the_meetings_are():
    """Nothing missing: just the analysed count; gaps and the read time are added as they exist."""
    assert coverage_line(Coverage(meetings=13, with_transcript=13, analysed=13)) == "13 of 13 meetings analysed"
    full = Coverage(
        meetings=13,
        with_transcript=12,
        without_transcript=1,
        analysed=12,
        unmatched_speakers=1,
        index_updated_at="2026-06-01T09:00:00.000000Z",
    )
    now = datetime(2026, 6, 1, 9, 5, tzinfo=UTC)
    assert coverage_line(full, now) == (
        "12 of 13 meetings analysed · 1 without a transcript · 1 speaker unmatched · meetings read 5 minutes ago"
    )


def test_signal_names_read_as_words_with_their_person():
    """A signal id becomes its name, with the person it is about in brackets; an unknown kind is still readable."""
    assert signal_name("champion_quiet:Sarah Lopez") == "Champion quiet (Sarah Lopez)"
    assert signal_name("gone_dark") == "Gone dark"
    assert signal_name("brand_new_rule") == "Brand new rule"
