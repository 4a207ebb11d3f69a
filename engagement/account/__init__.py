"""Who the account is and what its meetings show: domains, people and sides, facts, signals, changes.

All pure: data in, data out. The names in ``__all__`` are its public face, each loaded from its module on first use
(``engagement.exports``), so importing the package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engagement.exports import exports_of

if TYPE_CHECKING:
    from engagement.account.changes import changes_since
    from engagement.account.domains import (
        company_domain,
        display_domain,
        domain_variants,
        email_at_domain,
        normalize_domain,
        registrable_domain,
    )
    from engagement.account.facts import aggregate, coverage_of, days_since, fill_months
    from engagement.account.people import (
        PERSONAL_EMAIL_DOMAINS,
        MeetingSides,
        assign_roles,
        dedupe_roles,
        speakers_of,
        words_of,
    )
    from engagement.account.signals import (
        SEVERITIES,
        Thresholds,
        cadence_drop_signal,
        gone_dark_signal,
        signal_id,
        signals_of,
    )

__all__ = [
    "MeetingSides",
    "PERSONAL_EMAIL_DOMAINS",
    "SEVERITIES",
    "Thresholds",
    "aggregate",
    "assign_roles",
    "cadence_drop_signal",
    "changes_since",
    "company_domain",
    "coverage_of",
    "days_since",
    "dedupe_roles",
    "display_domain",
    "domain_variants",
    "email_at_domain",
    "fill_months",
    "gone_dark_signal",
    "normalize_domain",
    "registrable_domain",
    "signal_id",
    "signals_of",
    "speakers_of",
    "words_of",
]

__getattr__ = exports_of(
    __name__,
    {
        "changes": ["changes_since"],
        "domains": [
            "company_domain",
            "display_domain",
            "domain_variants",
            "email_at_domain",
            "normalize_domain",
            "registrable_domain",
        ],
        "facts": ["aggregate", "coverage_of", "days_since", "fill_months"],
        "people": ["MeetingSides", "PERSONAL_EMAIL_DOMAINS", "assign_roles", "dedupe_roles", "speakers_of", "words_of"],
        "signals": ["SEVERITIES", "Thresholds", "cadence_drop_signal", "gone_dark_signal", "signal_id", "signals_of"],
    },
)
