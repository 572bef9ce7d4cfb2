"""WaygridSettings: WAYGRID_* variables, secrets kept secret, clients built from them."""

from __future__ import annotations

import traceback

import pytest
from pydantic import SecretStr

from waygrid import WaygridError
from waygrid_fastapi import WaygridSettings

KEY = "wg_live_settings_SECRET_41"


def test_reads_the_waygrid_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every setting comes from its WAYGRID_ variable, the key as a SecretStr."""
    monkeypatch.setenv("WAYGRID_BASE_URL", "https://api.waygrid.io")
    monkeypatch.setenv("WAYGRID_API_KEY", KEY)
    monkeypatch.setenv("WAYGRID_TIMEOUT", "2.5")
    monkeypatch.setenv("WAYGRID_MAX_RETRIES", "7")
    monkeypatch.setenv("WAYGRID_BACKOFF_BASE", "0.1")

    settings = WaygridSettings.from_env()

    assert settings.base_url == "https://api.waygrid.io"
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == KEY
    assert (settings.timeout, settings.max_retries, settings.backoff_base) == (2.5, 7, 0.1)
    assert KEY not in repr(settings)
    assert KEY not in str(settings.model_dump())


def test_defaults_need_only_the_base_url() -> None:
    """Without other variables the SDK's defaults apply and no key is sent."""
    settings = WaygridSettings(base_url="http://127.0.0.1:1337")

    assert settings.api_key is None
    assert settings.timeout is None
    assert settings.max_retries == 3


def test_missing_base_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing WAYGRID_BASE_URL is reported by name, without echoing the key."""
    monkeypatch.setenv("WAYGRID_API_KEY", KEY)

    with pytest.raises(WaygridError, match="WAYGRID_BASE_URL") as caught:
        WaygridSettings.from_env()

    assert KEY not in "".join(traceback.format_exception(caught.value))


def test_malformed_variable_is_named_and_key_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A malformed value names its variable; the values read (the key) are not repeated."""
    monkeypatch.setenv("WAYGRID_BASE_URL", "http://127.0.0.1:1337")
    monkeypatch.setenv("WAYGRID_API_KEY", KEY)
    monkeypatch.setenv("WAYGRID_MAX_RETRIES", "-1")

    with pytest.raises(WaygridError, match="WAYGRID_MAX_RETRIES") as caught:
        WaygridSettings.from_env()

    assert KEY not in "".join(traceback.format_exception(caught.value))


def test_create_client_applies_the_settings() -> None:
    """create_client() builds a WaygridClient with the base URL, key and retries."""
    settings = WaygridSettings(
        base_url="https://api.waygrid.io", api_key=SecretStr(KEY), max_retries=1
    )

    client = settings.create_client()

    assert client.base_url == "https://api.waygrid.io/v1/ingest"
    assert client.max_retries == 1
    assert KEY not in repr(client)
    assert "api_key='***'" in repr(client)


def test_empty_api_key_sends_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """WAYGRID_API_KEY set but empty means no key, as for WaygridClient.from_env()."""
    monkeypatch.setenv("WAYGRID_BASE_URL", "http://127.0.0.1:1337")
    monkeypatch.setenv("WAYGRID_API_KEY", "")

    client = WaygridSettings.from_env().create_client()

    assert "api_key=None" in repr(client)


def test_bad_base_url_is_a_waygrid_error() -> None:
    """A base URL the client refuses becomes a WaygridError that says what is wrong."""
    settings = WaygridSettings(base_url="ftp://files.example.com", api_key=SecretStr(KEY))

    with pytest.raises(WaygridError, match="http") as caught:
        settings.create_client()

    assert KEY not in str(caught.value)


def test_plain_constructor_names_the_missing_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """WaygridSettings() without the environment says which variable to set, not pydantic's text."""
    monkeypatch.delenv("WAYGRID_BASE_URL", raising=False)
    monkeypatch.setenv("WAYGRID_API_KEY", KEY)

    with pytest.raises(WaygridError, match="WAYGRID_BASE_URL") as caught:
        WaygridSettings()

    assert KEY not in "".join(traceback.format_exception(caught.value))


def test_plain_constructor_names_a_malformed_argument() -> None:
    """A bad keyword argument is named by its variable too."""
    with pytest.raises(WaygridError, match="WAYGRID_MAX_RETRIES"):
        WaygridSettings(base_url="http://127.0.0.1:1337", max_retries=-1)


def test_repr_and_str_hide_credentials_in_the_base_url() -> None:
    """https://user:password@host shows as https://host in repr() and str()."""
    settings = WaygridSettings(base_url="https://deploy-bot:hunter2@api.waygrid.io/gw")

    for text in (repr(settings), str(settings)):
        assert "hunter2" not in text
        assert "deploy-bot" not in text
        assert "https://api.waygrid.io/gw" in text
    assert settings.base_url == "https://deploy-bot:hunter2@api.waygrid.io/gw"  # still usable


def test_settings_map_onto_the_core_config() -> None:
    """Unset settings keep the core's defaults: the same ClientConfig the core builds."""
    from waygrid.client import ClientConfig

    assert WaygridSettings(base_url="http://127.0.0.1:1337").client_config() == ClientConfig(
        "http://127.0.0.1:1337"
    )
    settings = WaygridSettings(base_url="http://127.0.0.1:1337", timeout=2, max_retries=0)
    config = settings.create_client().config
    assert (config.max_retries, config.effective_attempt_timeout) == (0, 4.0)
