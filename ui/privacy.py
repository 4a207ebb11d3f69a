"""The admin page's "forget a customer or a person" section, with a confirmation and the receipt."""

from __future__ import annotations

import streamlit as st

from engagement.account.domains import company_domain, person_email
from engagement.errors import EngagementError
from engagement.privacy import TOMBSTONES_TABLE, Tombstones
from engagement.privacy.forget import Receipt, forget
from engagement.runtime import Runtime
from ui import audit
from ui.text import md

RECEIPT_ROWS = {
    "meetings": "meetings removed from the index",
    "transcripts": "transcripts removed",
    "cached_analyses": "cached analyses removed",
    "jobs": "job records removed",
    "questions": "questions removed",
    "audit_entries_redacted": "audit entries redacted",
    "other_rows": "other rows removed",
}


def _target(text: str) -> tuple[str, str]:
    """(``domain`` or ``person``, the normalised name); ``InvalidDomainError`` with what to type otherwise."""
    email = person_email(text)
    return ("person", email) if email else ("domain", company_domain(text))


def _on_ask() -> None:
    try:
        st.session_state["admin_forget_pending"] = _target(st.session_state.get("admin_forget_text", ""))
    except EngagementError as exc:
        st.session_state["admin_forget_error"] = str(exc)


def _on_confirm(runtime: Runtime) -> None:
    kind, name = st.session_state.pop("admin_forget_pending")
    try:
        receipt = forget(runtime, domain=name if kind == "domain" else "", email=name if kind == "person" else "")
    except EngagementError as exc:
        st.session_state["admin_forget_error"] = str(exc)
        return
    audit.record("forgot", f"a {'customer' if kind == 'domain' else 'person'}", "on request")
    st.session_state["admin_forget_receipt"] = (name, receipt)
    st.session_state["admin_forget_text"] = ""


def _on_lift(runtime: Runtime) -> None:
    try:
        kind, name = _target(st.session_state.get("admin_forget_text", ""))
    except EngagementError as exc:
        st.session_state["admin_forget_error"] = str(exc)
        return
    lifted = Tombstones(runtime.store.table(TOMBSTONES_TABLE)).lift(kind, name)
    if lifted:
        audit.record("forgot", f"a {'customer' if kind == 'domain' else 'person'}", "lifted")
    st.session_state["admin_forget_notice"] = (
        f"{name} may be summarised again." if lifted else f"{name} was not forgotten: nothing to lift."
    )


def _receipt(name: str, receipt: Receipt) -> None:
    st.success(f"Forgot {md(name)}: every trace is gone, and it stays out of later syncs and summaries.")
    counts = receipt.to_json()
    st.table({"removed": [label for label in RECEIPT_ROWS.values()], "count": [counts[k] for k in RECEIPT_ROWS]})


def forget_admin(runtime: Runtime) -> None:
    """Forget a customer (website or domain) or a person (e-mail address): confirm, then show the receipt."""
    st.subheader("Forget a customer or a person", anchor=False)
    st.caption(
        "Removes every trace from the stores — meetings, transcripts, analyses, summaries, questions — and keeps "
        "them out of later syncs and summaries. The audit log keeps that a forget happened, not whom."
    )
    with st.container(horizontal=True, gap="small", vertical_alignment="bottom"):
        st.text_input(
            "Website or e-mail address", key="admin_forget_text", placeholder="acmecorp.com or ann@acmecorp.com"
        )
        st.button("Forget…", key="admin_forget", on_click=_on_ask)
        st.button("Lift a forget", key="admin_forget_lift", type="tertiary", on_click=_on_lift, args=(runtime,))
    error = st.session_state.pop("admin_forget_error", None)
    if error:
        st.error(md(error), icon=":material/error:")
    notice = st.session_state.pop("admin_forget_notice", None)
    if notice:
        st.info(md(notice), icon=":material/info:")
    done = st.session_state.pop("admin_forget_receipt", None)
    if done:
        _receipt(*done)
    pending = st.session_state.get("admin_forget_pending")
    if pending:
        kind, name = pending
        what = "customer" if kind == "domain" else "person"
        st.warning(
            f"Every trace of the {what} {md(name)} will be removed from the stores. This cannot be undone.",
            icon=":material/warning:",
        )
        with st.container(horizontal=True, gap="small"):
            st.button("Forget", key="admin_forget_yes", type="primary", on_click=_on_confirm, args=(runtime,))
            st.button(
                "Cancel", key="admin_forget_cancel", on_click=lambda: st.session_state.pop("admin_forget_pending")
            )
