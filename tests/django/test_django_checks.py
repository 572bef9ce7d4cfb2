"""Settings and system checks: each problem has a stable id and a hint naming the line to add."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from pytest_django import Settings

from waygrid_django import OutboxSettings, get_service, get_settings


def fired(*, deploy: bool = True) -> dict[str, str]:
    """The waygrid checks that fire now, as {id: hint} (with the deploy checks by default)."""
    found = run_checks(tags=["waygrid"], include_deployment_checks=deploy)
    return {m.id or "": m.hint or "" for m in found}


def test_the_test_settings_pass(settings: Settings) -> None:
    """A complete configuration gives no message."""
    assert fired() == {}


@pytest.mark.parametrize("value", [None, "", "api.waygrid.io", "ftp://api.waygrid.io", 42])
def test_e001_missing_or_invalid_base_url(settings: Settings, value: object) -> None:
    """E001 fires for a missing or unusable WAYGRID_BASE_URL; the hint is the line to add."""
    if value is None:
        del settings.WAYGRID_BASE_URL
    else:
        settings.WAYGRID_BASE_URL = value
    assert 'WAYGRID_BASE_URL = "https://api.waygrid.io"' in fired()["waygrid.E001"]
    with pytest.raises(ImproperlyConfigured, match='Add WAYGRID_BASE_URL = "https://'):
        get_settings()
    with pytest.raises(ImproperlyConfigured, match="WAYGRID_BASE_URL"):
        get_service()


def test_e002_no_api_key_outside_debug(settings: Settings) -> None:
    """E002 fires without an API key when DEBUG is off, and not in DEBUG."""
    del settings.WAYGRID_API_KEY
    settings.DEBUG = False
    assert "WAYGRID_API_KEY = os.environ" in fired()["waygrid.E002"]
    assert get_settings().api_key is None  # reported, but not fatal at run time
    settings.DEBUG = True
    assert fired() == {}


@pytest.mark.django_db
def test_e002_is_a_deploy_check_that_never_blocks_migrate(settings: Settings) -> None:
    """Without a key and DEBUG off, only `check --deploy` reports E002; migrate runs."""
    del settings.WAYGRID_API_KEY
    settings.DEBUG = False
    assert fired(deploy=False) == {}
    found = run_checks(tags=["security"], include_deployment_checks=True)
    assert "waygrid.E002" in {m.id for m in found}
    call_command("migrate", skip_checks=False, verbosity=0)  # checks run; E002 is not among them
    with pytest.raises(SystemCheckError, match=r"waygrid\.E002"):
        call_command("check", deploy=True, tags=["waygrid"])


def test_e003_malformed_api_key_is_not_echoed(settings: Settings) -> None:
    """E003 fires for a key with spaces, and the message does not repeat the key."""
    settings.WAYGRID_API_KEY = "wg live SECRET"
    [message] = run_checks(tags=["waygrid"])
    assert message.id == "waygrid.E003"
    assert "SECRET" not in message.msg + (message.hint or "")


@pytest.mark.parametrize(
    ("name", "value"),
    [("WAYGRID_TIMEOUT", "30"), ("WAYGRID_TIMEOUT", 0), ("WAYGRID_MAX_RETRIES", -1)],
)
def test_e004_bad_timeout_or_retries(settings: Settings, name: str, value: object) -> None:
    """E004 fires for a timeout or retry count that is not a valid number."""
    setattr(settings, name, value)
    assert f"{name} = " in fired()["waygrid.E004"]
    with pytest.raises(ImproperlyConfigured, match=name):
        get_settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WAYGRID_OUTBOX_MAX_ATTEMPTS", 0),
        ("WAYGRID_OUTBOX_BACKOFF", -1),
        ("WAYGRID_OUTBOX_BATCH_SIZE", 2.5),
        ("WAYGRID_OUTBOX_SEND_ON_COMMIT", "yes"),
    ],
)
def test_e005_bad_outbox_option(settings: Settings, name: str, value: object) -> None:
    """E005 fires for an invalid outbox option."""
    setattr(settings, name, value)
    assert name in fired()["waygrid.E005"]


@pytest.mark.parametrize(
    ("url", "warns"),
    [
        ("http://waygrid.internal.example.com", True),
        ("http://10.0.0.5:1337", True),
        ("https://api.waygrid.io", False),
        ("http://127.0.0.1:1337", False),
        ("http://localhost:1337", False),
        ("http://[::1]:1337", False),
        ("http://waygrid.localhost", False),
    ],
)
def test_w001_plain_http_to_another_host(settings: Settings, url: str, warns: bool) -> None:
    """W001 warns about clear-text traffic to anything but this machine, with an https hint."""
    settings.WAYGRID_BASE_URL = url
    found = fired()
    assert ("waygrid.W001" in found) is warns
    if warns:
        assert found["waygrid.W001"].startswith('Use https: WAYGRID_BASE_URL = "https://')


def test_w001_hint_hides_url_credentials(settings: Settings) -> None:
    """The https hint (printed by every manage.py command) does not repeat user:password."""
    settings.WAYGRID_BASE_URL = "http://bot:hunter2@waygrid.internal.example.com/gw/"
    [message] = run_checks(tags=["waygrid"])
    assert (
        message.hint == 'Use https: WAYGRID_BASE_URL = "https://waygrid.internal.example.com/gw/"'
    )
    assert "hunter2" not in message.msg


def test_settings_repr_hides_secrets(settings: Settings) -> None:
    """WaygridSettings' repr (Django's debug page) shows neither the key nor URL credentials."""
    settings.WAYGRID_BASE_URL = "https://bot:hunter2@api.waygrid.io"
    shown = repr(get_settings())
    assert "hunter2" not in shown
    assert "wg_test_key" not in shown
    assert "https://api.waygrid.io" in shown


@pytest.mark.parametrize(
    ("timeout", "lease", "warns"),
    [
        (None, 10, True),  # one attempt may take 10 s connect + 30 s read
        (None, 300, False),
        (2, 5, False),  # an attempt takes at most 4 s; the lease leaves it 4 s
        (2, 4, True),
        (10, 20, True),
        (10, 25, False),
    ],
)
def test_w002_lease_against_one_attempt(
    settings: Settings, timeout: float | None, lease: float, warns: bool
) -> None:
    """W002 warns when a row's lease, minus the time kept to record, is shorter than an attempt."""
    if timeout is not None:
        settings.WAYGRID_TIMEOUT = timeout
    settings.WAYGRID_OUTBOX_LEASE = lease
    found = fired()
    assert ("waygrid.W002" in found) is warns
    if warns:
        assert found["waygrid.W002"].startswith("Set WAYGRID_OUTBOX_LEASE = 300")
        [message] = [m for m in run_checks(tags=["waygrid"]) if m.id == "waygrid.W002"]
        assert "32 send slots" in message.msg
        assert "WAYGRID_OUTBOX_BATCH_SIZE = 100" in message.msg


def test_e005_bad_inline_budget(settings: Settings) -> None:
    """WAYGRID_OUTBOX_INLINE_BUDGET must be a number of seconds >= 0.1."""
    settings.WAYGRID_OUTBOX_INLINE_BUDGET = 0
    assert "WAYGRID_OUTBOX_INLINE_BUDGET" in fired()["waygrid.E005"]
    settings.WAYGRID_OUTBOX_INLINE_BUDGET = 1.5
    assert get_settings().outbox.inline_budget == 1.5


def test_errors_stop_manage_py_commands(settings: Settings) -> None:
    """The checks are registered by the app: `manage.py check` fails on an error."""
    del settings.WAYGRID_BASE_URL
    with pytest.raises(SystemCheckError, match=r"waygrid\.E001"):
        call_command("check")


def test_settings_are_read_once_into_values(settings: Settings) -> None:
    """get_settings() returns every option, validated and typed."""
    settings.WAYGRID_TIMEOUT = 12
    settings.WAYGRID_MAX_RETRIES = 0
    settings.WAYGRID_OUTBOX_MAX_ATTEMPTS = 4
    read = get_settings()
    assert (read.timeout, read.max_retries, read.api_key) == (12, 0, "wg_test_key")
    assert read.outbox.max_attempts == 4
    assert read.outbox.backoff_after(1) == settings.WAYGRID_OUTBOX_BACKOFF


def test_backoff_doubles_up_to_the_cap() -> None:
    """The outbox waits base, 2x base, 4x base, ... never more than the cap; jitter halves at most."""
    outbox = OutboxSettings(backoff=5, backoff_max=30)
    assert [outbox.backoff_after(n) for n in range(1, 6)] == [5, 10, 20, 30, 30]
    jittered = [outbox.backoff_after(3, jitter=True) for _ in range(200)]
    assert all(10 <= wait <= 20 for wait in jittered)
    assert len(set(jittered)) > 100


def test_settings_map_onto_the_core_config(settings: Settings) -> None:
    """The Django settings become the core's ClientConfig; unset ones keep its defaults."""
    from waygrid.client import ClientConfig

    settings.WAYGRID_TIMEOUT = None
    settings.WAYGRID_MAX_RETRIES = None
    read = get_settings()
    assert read.client_config() == ClientConfig(settings.WAYGRID_BASE_URL, "wg_test_key")
    settings.WAYGRID_TIMEOUT = 2
    settings.WAYGRID_MAX_RETRIES = 0
    config = get_settings().client_config()
    assert (config.max_retries, config.effective_attempt_timeout) == (0, 4.0)
