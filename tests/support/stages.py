"""Watching jobs run: every stage a job repository stores, per domain, in the order they were written."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from engagement.jobs.repository import JobRepository
from engagement.models import JobRecord


def stages_of(repo: JobRepository) -> defaultdict[str, list[str]]:
    """From now on, each stage ``repo`` saves for a running job, listed under its domain.

    ``stages_of(runtime.repo)["acmecorp.com"]`` is the list that fills as that job runs.
    """
    seen: defaultdict[str, list[str]] = defaultdict(list)
    save = repo.save

    def saving(record: JobRecord, **options: Any) -> bool:
        seen[record.domain].append(record.stage)
        return save(record, **options)

    repo.save = saving  # type: ignore[method-assign]
    return seen
