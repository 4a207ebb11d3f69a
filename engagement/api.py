"""One-call entry points above the runtime, as httpx keeps ``httpx.get`` above its client: ``ask``."""

from __future__ import annotations

from engagement.account.domains import normalize_domain, refuse_ours
from engagement.errors import EngagementError
from engagement.jobs.service import InlineExecutor
from engagement.questions.answers import CLI_ASKER, Answer, AskOptions
from engagement.runtime import Runtime, create_runtime
from engagement.settings import Settings


def ask(domain: str, question: str, options: AskOptions | None = None, *, runtime: Runtime | None = None) -> Answer:
    """Answer a question about an account here and now (stored like a question from the page, asked by ``cli``).

    ``domain`` may be any website form; raises ``InvalidQuestionError`` (bad input, no summary yet) or
    another ``EngagementError`` with a message a person can act on.
    """
    if runtime is None:
        runtime = create_runtime(Settings.from_env(), executor=InlineExecutor())
    domain = runtime.account(refuse_ours(normalize_domain(domain), runtime.our_domains())).primary
    record = runtime.questions.ask(domain, question, options, asked_by=CLI_ASKER)
    record = runtime.questions.get(record.domain, record.id) or record
    if record.answer is None:
        raise EngagementError(record.error or "The question was not answered. Try again.")
    return record.answer
