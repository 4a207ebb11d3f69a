"""The Qualification section of a summary: each element's state with its quotes or what was searched, and our commitments.

Internal (a sales team's view of the deal): the summary page draws it outside presentation mode only.
Every text from a meeting goes through ``ui.text.md``; states and counts are our own words.
"""

from __future__ import annotations

import streamlit as st

from engagement.models import Commitment, EngagementSummary, QualificationElement
from engagement.qualification.commitments import answering, status_label, tally
from engagement.render.present import qualification_status, searched_line
from ui.result import attribution, evidence_line
from ui.text import md, plural

ICONS = {
    "evidenced": ":material/check_circle:",
    "conflicting": ":material/error:",
    "our_side_only": ":material/help:",
    "not_found": ":material/radio_button_unchecked:",
}
QUOTES_SHOWN = 2


def render_element(element: QualificationElement) -> None:
    """An element's name and state, then the customer's quotes, our side's words (marked as such) or what was searched."""
    parts = [f"{ICONS.get(element.status, '')} **{md(element.name)}** — {md(qualification_status(element))}"]
    evidence = element.evidence
    if element.status == "conflicting":  # the quotes that disagree come first
        evidence = sorted(evidence, key=lambda e: e.value is None)
    parts += [line for line in (evidence_line(e) for e in evidence[:QUOTES_SHOWN]) if line]
    if len(element.evidence) > QUOTES_SHOWN:
        parts.append(f"*and {plural(len(element.evidence) - QUOTES_SHOWN, 'more quote')} in the exports*")
    if element.our_side:
        parts.append("*Our side said (not evidence):*")
        parts += [line for line in (evidence_line(e) for e in element.our_side[:1]) if line]
    if not element.evidence:
        parts.append(md(searched_line(element)))
    st.markdown("\n\n".join(parts))


def render_commitment(commitment: Commitment) -> None:
    """``Done`` or ``Not seen done``, our promise as quoted, and for a done one the later quote that shows it."""
    icon = ":material/check:" if commitment.status == "done" else ":material/schedule:"
    label = f"{icon} {status_label(commitment.status).capitalize()}"
    parts = [f"**{label}** — “{md(commitment.text)}”  \n— {attribution(commitment.evidence)}"]
    if (asked := answering(commitment)) is not None:
        parts.append(f"*{md(asked)}*")
    if commitment.done_evidence is not None:
        line = evidence_line(commitment.done_evidence)
        if line:
            parts.append(line)
    st.markdown("\n\n".join(parts))


def render_qualification(summary: EngagementSummary) -> None:
    """The section: the methodology's elements in two columns, then our commitments, those not seen done first."""
    q = summary.qualification
    if q is None:
        return
    st.subheader(
        f":material/fact_check: Qualification: {md(q.name)} — {q.evidenced}/{len(q.elements)} evidenced",
        anchor="qualification",
    )
    st.caption(
        "Internal. Evidence is the customer's own words, checked against the transcript; what only we said is a "
        "gap, not evidence."
    )
    half = (len(q.elements) + 1) // 2
    for column, elements in zip(st.columns(2, gap="large"), (q.elements[:half], q.elements[half:]), strict=True):
        with column:
            for element in elements:
                render_element(element)
    commitments = sorted(summary.commitments, key=lambda c: c.status == "done")
    st.subheader(f":material/handshake: Our commitments ({tally(commitments)})", anchor="commitments")
    if not commitments:
        st.caption("We made no promise in these meetings that the transcripts show.")
        return
    st.caption(
        "What our side promised, quoted. Done only with a later sentence that shows it (sent, read, used); "
        "not seen done means no later meeting shows it, not that it is still open."
    )
    for commitment in commitments[:5]:
        render_commitment(commitment)
    if len(commitments) > 5:
        with st.expander(f"{len(commitments) - 5} more commitments"):
            for commitment in commitments[5:]:
                render_commitment(commitment)
