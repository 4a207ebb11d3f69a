"""The process's one ``Runtime`` (store, job service, analysis cache), held in ``st.cache_resource``."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

import streamlit as st

from engagement.errors import SettingsError, StoreError
from engagement.render.present import md
from engagement.retention import RetentionTask, keeps_anything_limited
from engagement.runtime import Runtime, create_runtime
from engagement.settings import Settings

log = logging.getLogger(__name__)


def _secrets() -> Mapping[str, Any]:
    """The values of ``.streamlit/secrets.toml``; none when the file is missing or unreadable."""
    try:
        return {key: st.secrets[key] for key in st.secrets}
    except (FileNotFoundError, OSError, ValueError, KeyError):  # no file (StreamlitSecretNotFoundError), bad TOML
        return {}


def load_settings() -> Settings:
    """The settings from the environment and secrets, or an error on the page (and a stop)."""
    try:
        return Settings.from_env(secrets=_secrets())
    except SettingsError as exc:
        st.error(f"The app's settings cannot be used: {md(exc)}")
        st.stop()
        raise  # st.stop() raises; this keeps type checkers honest


def _release(runtime: Runtime) -> None:
    """Stop a runtime dropped from the cache: no new jobs, heartbeat off, store closed."""
    runtime.close()


@st.cache_resource(show_spinner=False, on_release=_release)
def _cached_runtime(settings: Settings) -> Runtime:
    runtime = create_runtime(settings)
    recovered = runtime.jobs.recover_stale()  # once per process: jobs a dead process left processing
    if recovered:
        log.warning("start-up: %d interrupted job(s) marked as failed", recovered)
    if keeps_anything_limited(runtime):  # the app purges what is past its age itself: no cron needed
        runtime.on_close.append(RetentionTask(runtime).start().stop)
    runtime.start_periodic_sync()  # one thread per process keeps the meeting index fresh (ENGAGEMENT_SYNC_EVERY_S)
    start_digests(runtime)
    return runtime


def start_digests(runtime: Runtime) -> None:
    """The scheduled digest's thread (DIGEST_SCHEDULE), stopped with the runtime; an unusable schedule is logged
    (the admin page says what is wrong)."""
    if not runtime.settings.digest_schedule:
        return
    from engagement.digests.service import DigestScheduler, DigestService

    service = DigestService(runtime)
    try:
        service.schedule()
    except SettingsError as exc:
        log.warning("no scheduled digest: %s", exc)
        return
    scheduler = DigestScheduler(service)
    scheduler.start()
    runtime.on_close.append(scheduler.stop)


def get_runtime(settings: Settings) -> Runtime:
    """The runtime for these settings (built once per process), or an error on the page (and a stop).

    Passwords and the session secret are not part of the key: changing one must not open a second store on the same
    file.
    """
    key = dataclasses.replace(settings, app_password="", admin_password="", session_secret="")
    try:
        return _cached_runtime(key)
    except StoreError as exc:
        st.error(md(exc))
        st.stop()
        raise


def clear_runtimes() -> None:
    """Drop every cached runtime (tests; a changed database path)."""
    _cached_runtime.clear()
