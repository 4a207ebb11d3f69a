"""What a summary looks like: present (what every renderer shows), report, charts, svg and links.

The names in ``__all__`` are its public face, each loaded from its module on first use
(``engagement.exports``), so importing the package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engagement.exports import exports_of

if TYPE_CHECKING:
    from engagement.render.present import (
        MEETING_COLUMNS,
        PEOPLE_COLUMNS,
        SECTIONS,
        SEVERITY_LABELS,
        Column,
        MeetingRow,
        PersonRow,
        change_items,
        cite,
        columns,
        coverage_line,
        indexing_stage,
        insights,
        md,
        md_link,
        meeting_rows,
        month_year,
        nice_date,
        one_line,
        people_rows,
        plural,
        restates,
        side_counts,
        signal_line,
        signal_name,
        still_indexing,
    )

__all__ = [
    "Column",
    "MEETING_COLUMNS",
    "MeetingRow",
    "PEOPLE_COLUMNS",
    "PersonRow",
    "SECTIONS",
    "SEVERITY_LABELS",
    "change_items",
    "cite",
    "columns",
    "coverage_line",
    "indexing_stage",
    "insights",
    "md",
    "md_link",
    "meeting_rows",
    "month_year",
    "nice_date",
    "one_line",
    "people_rows",
    "plural",
    "restates",
    "side_counts",
    "signal_line",
    "signal_name",
    "still_indexing",
]

__getattr__ = exports_of(
    __name__,
    {
        "present": [
            "Column",
            "MEETING_COLUMNS",
            "MeetingRow",
            "PEOPLE_COLUMNS",
            "PersonRow",
            "SECTIONS",
            "SEVERITY_LABELS",
            "change_items",
            "cite",
            "columns",
            "coverage_line",
            "indexing_stage",
            "insights",
            "md",
            "md_link",
            "meeting_rows",
            "month_year",
            "nice_date",
            "one_line",
            "people_rows",
            "plural",
            "restates",
            "side_counts",
            "signal_line",
            "signal_name",
            "still_indexing",
        ],
    },
)
