"""Settings: environment and secrets, defaults, modes the UI shows, and no secret in what is shown."""

from __future__ import annotations

import pytest

from engagement.errors import SettingsError
from engagement.settings import DEFAULT_FATHOM_BASE_URL, DEFAULT_OPENAI_MODEL, SETTINGS_HELP, Settings, shown


def test_no_keys_means_demo_source_and_offline_analyser() -> None:
    """With nothing set the app runs on demo data with the offline analyser, and says so."""
    settings = Settings.from_env({})
    assert (settings.source, settings.analyzer) == ("demo", "offline")
    assert settings.fathom_base_url == DEFAULT_FATHOM_BASE_URL
    assert settings.engagement_db == "data/engagement.sqlite"
    assert any("FATHOM_API_KEY" in note for note in settings.notices)
    assert any("OPENAI_API_KEY" in note for note in settings.notices)


def test_keys_switch_to_fathom_and_openai() -> None:
    """A Fathom key means the real source; an OpenAI key means the model, named in analyzer."""
    settings = Settings.from_env({"FATHOM_API_KEY": "fk", "OPENAI_API_KEY": "ok", "OPENAI_MODEL": "gpt-x"})
    assert (settings.source, settings.analyzer) == ("fathom", "openai:gpt-x")
    assert settings.notices == []


def test_secrets_win_over_the_environment() -> None:
    """A value from st.secrets overrides the same name in the environment; blanks are ignored."""
    settings = Settings.from_env(
        {"OPENAI_MODEL": "env-model", "FATHOM_BASE_URL": "http://env/"},
        secrets={"OPENAI_MODEL": "secret-model", "FATHOM_BASE_URL": "  ", "nested": {"x": 1}},
    )
    assert settings.openai_model == "secret-model"
    assert settings.fathom_base_url == "http://env"


def test_numbers_are_parsed_and_checked() -> None:
    """Numeric settings parse, and a bad value raises SettingsError naming the variable."""
    assert Settings.from_env({"ENGAGEMENT_WORKERS": "8", "OPENAI_CONCURRENCY": "2"}).workers == 8
    with pytest.raises(SettingsError, match="ENGAGEMENT_WORKERS"):
        Settings.from_env({"ENGAGEMENT_WORKERS": "many"})
    with pytest.raises(SettingsError, match="OPENAI_CONCURRENCY"):
        Settings.from_env({"OPENAI_CONCURRENCY": "0"})


def test_secrets_never_appear_in_repr() -> None:
    """repr() never shows a secret's value."""
    settings = Settings.from_env(
        {"FATHOM_API_KEY": "fathom-SECRET", "OPENAI_API_KEY": "sk-SECRET", "APP_PASSWORD": "pw-SECRET"}
    )
    assert "SECRET" not in repr(settings)


def test_every_setting_has_help_and_a_default() -> None:
    """SETTINGS_HELP documents every variable the settings read (the README table is checked against it)."""
    assert DEFAULT_OPENAI_MODEL == SETTINGS_HELP["OPENAI_MODEL"][0]
    for name, (default, help_text) in SETTINGS_HELP.items():
        assert help_text, name
        Settings.from_env({name: default})  # each default is a valid value


def test_the_defaults_are_the_ones_the_readme_documents() -> None:
    """Settings.from_env({}) holds exactly the defaults of the README's settings table, row by row."""
    import re
    from dataclasses import fields
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    documented = {
        name: "" if default == "*(empty)*" else default.strip("`")
        for name, default in re.findall(r"^\| `([A-Z_]+)` \| ([^|]+?) \|", readme, re.MULTILINE)
    }
    settings = Settings.from_env({})
    actual = {f.metadata["env"]: shown(getattr(settings, f.name)) for f in fields(Settings)}
    assert actual == documented


def test_the_job_runner_defaults_are_the_settings_defaults() -> None:
    """JobService's own defaults (limit, staleness, heartbeat) are read from Settings, not written again."""
    import inspect

    from engagement.jobs.service import JobService

    defaults = {k: p.default for k, p in inspect.signature(JobService).parameters.items()}
    settings = Settings.from_env({})
    assert (defaults["timeout_s"], defaults["stale_after_s"], defaults["heartbeat_s"]) == (
        settings.job_timeout_s,
        settings.stale_after_s,
        settings.heartbeat_s,
    )


def test_a_redis_url_must_name_redis_and_its_password_stays_out_of_repr() -> None:
    """ENGAGEMENT_REDIS_URL takes redis://, rediss:// or unix://; anything else says what to write; repr hides it."""
    url = "redis://:s3cret@10.0.0.5:6379/0"
    assert Settings.from_env({"ENGAGEMENT_REDIS_URL": url}).redis_url == url
    assert "s3cret" not in repr(Settings.from_env({"ENGAGEMENT_REDIS_URL": url}))
    with pytest.raises(SettingsError, match="must start with redis://"):
        Settings.from_env({"ENGAGEMENT_REDIS_URL": "http://10.0.0.5:6379"})
    assert Settings.from_env({}).redis_url == ""
