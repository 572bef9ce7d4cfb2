"""ClientConfig: the one home of the client's options, defaults, checks and environment."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from waygrid import WaygridError
from waygrid.cli import build_parser
from waygrid.cli._submit import client_config as _client_config
from waygrid.client import (
    DEFAULT_LIMITS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    ClientConfig,
    WaygridClient,
)

URL = "http://127.0.0.1:1337"
KEY = "wg_live_config_SECRET_17"


def test_defaults() -> None:
    """A config needs only the base URL; the rest are the SDK's defaults."""
    config = ClientConfig(URL)

    assert config.api_key is None
    assert config.timeout == DEFAULT_TIMEOUT
    assert config.max_retries == DEFAULT_MAX_RETRIES == 3
    assert config.limits == DEFAULT_LIMITS
    assert (config.attempt_timeout, config.deadline) == (None, None)
    assert config.effective_attempt_timeout == 40.0
    assert dict(config.headers) == {}


@pytest.mark.parametrize(
    ("timeout", "attempt"),
    [(2, 4.0), (2.5, 5.0), (None, None), (httpx.Timeout(7.0, connect=1.0), 8.0)],
)
def test_attempt_timeout_is_derived_from_the_timeout(
    timeout: float | httpx.Timeout | None, attempt: float | None
) -> None:
    """Without attempt_timeout, an attempt may take the connect plus the read timeout."""
    config = ClientConfig(URL, timeout=timeout)

    assert config.effective_attempt_timeout == attempt
    assert ClientConfig(URL, timeout=timeout, attempt_timeout=1.5).effective_attempt_timeout == 1.5


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"base_url": "ftp://x"}, "base_url"),
        ({"base_url": 42}, "base_url"),
        ({"api_key": "has space"}, "api_key"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": True}, "max_retries"),
        ({"timeout": -1}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"backoff_base": -0.5}, "backoff_base"),
        ({"backoff_cap": float("inf")}, "backoff_cap"),
        ({"retry_after_cap": "1"}, "retry_after_cap"),
        ({"attempt_timeout": 0}, "attempt_timeout"),
        ({"deadline": -3}, "deadline"),
        ({"headers": {"Bad Name": "x"}}, "headers"),
        ({"limits": 5}, "limits"),
    ],
)
def test_checks_run_when_built_and_when_replaced(options: dict[str, object], message: str) -> None:
    """Every option is checked in the config, also in a copy made with dataclasses.replace."""
    with pytest.raises(ValueError, match=message):
        ClientConfig(**{"base_url": URL, **options})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(ClientConfig(URL), **options)  # type: ignore[arg-type]


def test_is_frozen_and_repr_hides_secrets() -> None:
    """The config cannot change and its repr shows neither the key nor URL credentials."""
    config = ClientConfig("https://bot:hunter2@gw.example.com/", KEY, headers={"X-Trace": "1"})

    with pytest.raises(dataclasses.FrozenInstanceError):
        config.max_retries = 9  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.headers["X-Trace"] = "2"  # type: ignore[index]
    assert KEY not in repr(config)
    assert "hunter2" not in repr(config)
    assert "api_key='***'" in repr(config)


def test_from_env_reads_the_variables_once() -> None:
    """from_env reads the four WAYGRID_* variables; options given win over them."""
    environ = {
        "WAYGRID_BASE_URL": URL,
        "WAYGRID_API_KEY": KEY,
        "WAYGRID_TIMEOUT": "2",
        "WAYGRID_MAX_RETRIES": "5",
    }
    config = ClientConfig.from_env(environ)

    assert (config.base_url, config.api_key, config.max_retries) == (URL, KEY, 5)
    assert config.effective_attempt_timeout == 4.0
    assert ClientConfig.from_env(environ, max_retries=0, deadline=9).max_retries == 0
    assert ClientConfig.from_env({"WAYGRID_BASE_URL": URL}) == ClientConfig(URL)
    with pytest.raises(WaygridError, match="WAYGRID_TIMEOUT"):
        ClientConfig.from_env({**environ, "WAYGRID_TIMEOUT": "soon"})


def test_the_client_is_built_from_one_config() -> None:
    """The constructor and from_config make the same client; it exposes its config."""
    config = ClientConfig(URL, KEY, timeout=3, max_retries=1, deadline=20)
    made = WaygridClient(URL, KEY, timeout=3, max_retries=1, deadline=20)
    given = WaygridClient.from_config(config)

    assert made.config == given.config == config
    assert (given.max_retries, given.attempt_timeout, given.deadline) == (1, 6.0, 20.0)
    assert WaygridClient.from_env(environ={"WAYGRID_BASE_URL": URL}).config == ClientConfig(URL)
    with pytest.raises(TypeError, match="ClientConfig"):
        WaygridClient.from_config({"base_url": URL})  # type: ignore[arg-type]


def test_the_cli_keeps_the_sdk_defaults() -> None:
    """`waygrid submit` without --timeout/--max-retries uses the SDK's defaults, not its own."""
    args = build_parser().parse_args(["submit", "spec.json"])

    assert _client_config(args, URL, None) == ClientConfig(URL)
    given = build_parser().parse_args(["submit", "F", "--timeout", "2", "--max-retries", "0"])
    assert _client_config(given, URL, KEY) == ClientConfig(URL, KEY, timeout=2.0, max_retries=0)
