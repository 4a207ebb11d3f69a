"""Setting or correcting a person's role on the summary page (kept per account and person by ``engagement``).

The role is shown as "set by a rep" in the people table and used by the signals and the exports the
next time the summary is drawn (``with_rep_roles``). Names and roles from data are shown as text.
"""

from __future__ import annotations

import streamlit as st

from engagement.account.rep_roles import MAX_ROLE_CHARS, RepRoles
from engagement.errors import EngagementError
from engagement.models import EngagementSummary
from engagement.render.present import SIDE_LABELS, one_line, role_quote
from ui.text import md


def _label(summary: EngagementSummary, key: str) -> str:
    person = next(p for p in summary.people if p.key == key)
    role = f" · {one_line(person.role, 60)}" if person.role else " · role unknown"
    return f"{one_line(person.name, 60)} ({SIDE_LABELS[person.side]}){role}"


def role_editor(summary: EngagementSummary, book: RepRoles) -> None:
    """A folded form: pick a person, type their role (empty clears a rep's), save."""
    people = [p.key for p in summary.people]
    if note := st.session_state.pop("summary_role_saved", None):
        st.toast(md(note), icon=":material/badge:")
    if not people:
        return
    with st.expander("Roles: where they were said, and set or correct one"):
        said = [(p, quote) for p in summary.people if p.role and p.role_source != "rep" and (quote := role_quote(p))]
        if said:
            st.markdown("\n".join(f"- **{md(p.name)}**, {md(p.role)}: {md(quote)}" for p, quote in said))
        else:
            st.caption("No one's role was stated in these meetings.")
        st.caption(
            "A role you set here is shown as “set by a rep”, wins over what the meetings said, and is used by "
            "the signals and the exports. Leave it empty and save to go back to the meetings' role."
        )
        with st.form("summary_role_form", border=False):
            key = st.selectbox("Person", people, format_func=lambda k: _label(summary, k), key="summary_role_person")
            role = st.text_input("Role", max_chars=MAX_ROLE_CHARS, placeholder="CFO", key="summary_role_text")
            saved = st.form_submit_button("Save role")
        if saved and key is not None:
            try:
                kept = book.set(summary, key, role)
            except EngagementError as exc:
                st.error(md(str(exc)))
                return
            name = _label(summary, key).split(" (")[0]
            st.session_state["summary_role_saved"] = (
                f"Role of {name} set to “{kept.role}”." if kept else f"The role you set for {name} was cleared."
            )
            st.rerun()
