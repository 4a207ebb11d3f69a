"""Property tests: any text either normalises to a valid host name or raises InvalidDomainError."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engagement.account.domains import normalize_domain
from engagement.errors import InvalidDomainError

HOST = re.compile(r"^(?=.{1,253}$)((?!-)[a-z0-9-]{1,63}(?<!-)\.)+(?!-)[a-z0-9-]{1,63}(?<!-)$")

label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)
urlish = st.builds(
    lambda scheme, sub, name, suffix, rest: f"{scheme}{sub}{name}.{suffix}{rest}",
    st.sampled_from(["", "http://", "https://", "HTTPS://", "ftp://", "mailto:"]),
    st.sampled_from(["", "www.", "eu.", "WWW.", "a.b."]),
    label,
    st.sampled_from(["com", "co.uk", "io", "de", "COM", "xyz", "local", "co", "uk"]),
    st.sampled_from(["", "/", "/path?q=1", ":8080", ":80/x", "#frag", ".", "@x", " "]),
)


def check(text: str) -> None:
    try:
        domain = normalize_domain(text)
    except InvalidDomainError as exc:
        assert "acmecorp.com" in str(exc)  # the message always says what to type
        return
    assert HOST.match(domain), domain
    assert ":" not in domain and domain == domain.lower()
    assert normalize_domain(domain) == domain  # idempotent


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_a_host_name_or_invalid_domain_error(text: str) -> None:
    """Arbitrary Unicode never escapes as another exception or an invalid host."""
    check(text)


@settings(max_examples=400, deadline=None)
@given(urlish)
def test_url_shaped_text_gives_a_host_name_or_invalid_domain_error(text: str) -> None:
    """Text shaped like websites, e-mails and URLs is normalised or refused, never anything else."""
    check(text)
