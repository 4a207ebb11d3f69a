"""The question box under a complete summary, its answers newest first, and the questions' section of the admin page.

Asking only stores the question and hands a model answer to the worker pool, so the page never
waits on the model: a fragment re-reads the pending answers every 2 seconds, with a spinner, and
stops once none is left. Every text from the question, the meetings or the model goes through
``md`` (or a dataframe cell): shown as text, never as markdown or HTML.

The answers listed are the asker's own (``ui.asker``): this browser's, or the signed-in user's. In
presentation mode only the questions asked in this session while presenting are listed, so a customer
never sees what the team asked before.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from engagement.errors import EngagementError
from engagement.models import JobRecord, JobStatus
from engagement.questions.answers import MAX_QUESTION_CHARS, Answer, AskOptions, QuestionRecord, QuestionService
from engagement.render.present import md, plural
from ui import audit
from ui.asker import asker_label
from ui.result import evidence_line
from ui.text import ago

POLL_EVERY = "2s"
ANSWERS_SHOWN = 10
EXAMPLE = "What did they say about single sign-on?"
PRESENTED_KEY = "ask_presented"  # ids of the questions asked in this session while presenting


# ---------------------------------------------------------------- the question box


def _on_ask(questions: QuestionService, domain: str, run_id: str, asker: str, presenting: bool) -> None:
    """Store the question (and answer it, or hand it to the worker pool); a bad one leaves a message and the text."""
    text = st.session_state.get("ask_question", "")
    try:
        asked = questions.ask(domain, text, AskOptions(run_id=run_id), asked_by=asker)
    except EngagementError as exc:
        st.session_state["ask_error"] = str(exc)
        return
    audit.record("asked", domain, f"question {asked.id}")  # the question's id, not its words
    st.session_state.pop("ask_error", None)
    st.session_state["ask_question"] = ""
    if presenting:
        st.session_state.setdefault(PRESENTED_KEY, []).append(asked.id)


def _history(questions: QuestionService, domain: str, asker: str, presenting: bool) -> list[QuestionRecord]:
    """The asker's questions about the account, newest first; when presenting, only those asked in this presentation."""
    records = questions.list(domain, asked_by=asker)
    if presenting:
        asked_here = set(st.session_state.get(PRESENTED_KEY, ()))
        records = [r for r in records if r.id in asked_here]
    return records[:ANSWERS_SHOWN]


def _points(answer: Answer) -> None:
    if answer.found:
        st.markdown(md(answer.headline))
        if answer.language_note:
            st.info(md(answer.language_note), icon=":material/translate:")
        if answer.note:
            st.info(md(answer.note), icon=":material/info:")
        for point in answer.points:
            quotes = [line for line in (evidence_line(e) for e in point.evidence) if line]
            st.markdown("\n\n".join([f"**{md(point.text)}**", *quotes]))
        return
    st.warning(md(answer.headline), icon=":material/search_off:")
    if answer.language_note:
        st.info(md(answer.language_note), icon=":material/translate:")
    if answer.note:
        st.info(md(answer.note), icon=":material/info:")
    if answer.closest:
        quotes = [line for line in (evidence_line(e) for e in answer.closest) if line]
        st.markdown("\n\n".join(["Closest mentions:", *quotes]))
    else:
        st.caption("No turn in these transcripts shares a word with the question.")


def _on_share(questions: QuestionService, record: QuestionRecord, asker: str) -> None:
    if questions.share(record.domain, record.id, asker, shared=not record.shared) and not record.shared:
        audit.record("shared", record.domain, f"question {record.id}")


def _render(
    records: list[QuestionRecord], questions: QuestionService | None = None, asker: str = "", *, shared: bool = False
) -> None:
    """Each question with its answer; the asker's own get a share toggle (``questions`` given), the team's their
    asker's name (``shared``)."""
    for record in records:
        with st.container(border=True, key=f"ask_{'shared' if shared else 'answer'}_{record.id}"):
            st.text(record.question)  # as typed: Markdown would make "--" a dash
            who = f" by {asker_label(record.asked_by)}" if shared else ""
            st.caption(
                md(
                    f"Asked {ago(record.asked_at)}{who} · {record.analyzer}"
                    + (" · shared with the team" if record.shared and not shared else "")
                )
            )
            if record.status is JobStatus.PROCESSING:
                st.status("Answering… the model is reading the best-matching turns.", state="running")
            elif record.status is JobStatus.ERROR:
                st.error(md(record.error or "The answer failed."), icon=":material/error:")
            elif record.answer is not None:
                _points(record.answer)
            if questions is not None and record.status is not JobStatus.PROCESSING:
                st.button(
                    "Stop sharing" if record.shared else "Share with the team",
                    key=f"ask_share_{record.id}",
                    type="tertiary",
                    icon=":material/group:",
                    on_click=_on_share,
                    args=(questions, record, asker),
                )


@st.fragment(run_every=POLL_EVERY)
def _pending(questions: QuestionService, domain: str, asker: str, presenting: bool) -> None:
    """Re-read the answers every 2 s while one is being worked out; then rerun the page, which stops polling."""
    records = _history(questions, domain, asker, presenting)
    if not any(r.status is JobStatus.PROCESSING for r in records):
        st.rerun()
    _render(records)


def question_box(record: JobRecord, questions: QuestionService, asker: str, presenting: bool = False) -> None:
    """Ask about the account on show; the asker's questions newest first, each with its quotes or "not found"."""
    summary = record.summary
    if summary is None or not summary.meetings:
        return
    st.subheader(":material/manage_search: Ask about this account", anchor="ask")
    if questions.index is None:
        st.info(md(questions.index_error or "Search is not available here."), icon=":material/info:")
        return
    with st.form("ask_form", border=False, enter_to_submit=True):
        field, button = st.columns([5, 1], vertical_alignment="bottom")
        field.text_input(
            "Question",
            key="ask_question",
            placeholder=EXAMPLE,
            max_chars=MAX_QUESTION_CHARS,  # the field stops where the check would
            help=f"Answered from the transcripts of these meetings, with quotes. Up to {MAX_QUESTION_CHARS} characters.",
        )
        button.form_submit_button(
            "Ask",
            type="primary",
            width="stretch",
            on_click=_on_ask,
            args=(questions, record.domain, record.run_id, asker, presenting),
        )
    error = st.session_state.pop("ask_error", None)
    if error:
        st.error(md(error), icon=":material/error:")
    records = _history(questions, record.domain, asker, presenting)
    if any(r.status is JobStatus.PROCESSING for r in records):
        _pending(questions, record.domain, asker, presenting)
    else:
        _render(records, None if presenting else questions, asker)
    if not presenting:  # the team's shared questions are the sales team's, not the customer's
        team = [r for r in questions.shared_list(record.domain, limit=ANSWERS_SHOWN) if r.asked_by != asker]
        if team:
            st.markdown("**Shared by the team**")
            _render(team, shared=True)


# ---------------------------------------------------------------- the admin page's section


def _on_purge(questions: QuestionService, days: int | None) -> None:
    removed = questions.purge(older_than=timedelta(days=days) if days else None)
    audit.record(
        "purged", "questions", plural(removed, "question") + (f" older than {plural(days, 'day')}" if days else "")
    )
    st.session_state.pop("admin_questions_confirm", None)
    st.session_state["admin_questions_notice"] = f"Removed {plural(removed, 'question')}."


def _ask_confirm(days: int | None) -> None:
    st.session_state["admin_questions_confirm"] = {"days": days}


def _cancel() -> None:
    st.session_state.pop("admin_questions_confirm", None)


def questions_admin(questions: QuestionService) -> None:
    """Every stored question newest first, and purging them (with a count to confirm)."""
    st.subheader("Questions", anchor=False)
    rows = questions.list()
    st.caption(
        f"{plural(len(rows), 'question')} asked about accounts, each kept with its answer; asking it again "
        "while the account's transcripts are unchanged reuses the answer. A summary lists only the questions "
        "its asker asked (this browser's, or the signed-in user's); this page lists everyone's. Questions are "
        "answered from the "
        "transcript search index, which clearing the analysis cache also clears (the next summary fills it again)."
    )
    notice = st.session_state.pop("admin_questions_notice", None)
    if notice:
        st.success(notice, icon=":material/check:")
    if not rows:
        return
    st.dataframe(
        pd.DataFrame(
            {
                "Domain": [r.domain for r in rows[:50]],
                "Question": [r.question for r in rows[:50]],
                "Status": [r.status.value for r in rows[:50]],
                "Found": [bool(r.answer and r.answer.found) for r in rows[:50]],
                "Asked": pd.to_datetime([r.asked_at for r in rows[:50]], utc=True),
                "Analyser": [r.analyzer for r in rows[:50]],
                "Asked by": [asker_label(r.asked_by) for r in rows[:50]],
            }
        ),
        hide_index=True,
        key="admin_questions_table",
        column_config={"Asked": st.column_config.DatetimeColumn(format="D MMM YYYY, HH:mm [UTC]", timezone="UTC")},
    )
    days = int(st.session_state.get("admin_purge_days", 7))
    with st.container(horizontal=True, gap="small"):
        st.button(
            f"Purge questions older than {plural(days, 'day')}",
            key="admin_questions_purge_old",
            on_click=_ask_confirm,
            args=(days,),
        )
        st.button("Purge all questions", key="admin_questions_purge_all", on_click=_ask_confirm, args=(None,))
    pending = st.session_state.get("admin_questions_confirm")
    if pending is None:
        return
    days = pending["days"]
    cutoff = f" older than {plural(days, 'day')}" if days else ""
    count = questions.purgeable(older_than=timedelta(days=days) if days else None)
    with st.container(border=True, key="admin_questions_confirm_box"):
        if count == 0:
            st.info(f"Nothing to remove: no question is{cutoff or ' stored'}.")
            st.button("OK", key="admin_questions_cancel", on_click=_cancel)
            return
        st.warning(
            f"{plural(count, 'question')}{cutoff} will be removed. This cannot be undone.", icon=":material/warning:"
        )
        with st.container(horizontal=True, gap="small"):
            st.button(
                f"Delete {plural(count, 'question')}",
                key="admin_questions_yes",
                type="primary",
                on_click=_on_purge,
                args=(questions, days),
            )
            st.button("Cancel", key="admin_questions_cancel", on_click=_cancel)
