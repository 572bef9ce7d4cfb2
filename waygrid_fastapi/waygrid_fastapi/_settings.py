"""`WaygridSettings`: the client's configuration, read from ``WAYGRID_*`` environment variables."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import NonNegativeFloat, NonNegativeInt, PositiveFloat, SecretStr
from pydantic import ValidationError as PydanticValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from waygrid import WaygridError
from waygrid.client import (
    DEFAULT_BACKOFF_BASE,
    DEFAULT_BACKOFF_CAP,
    DEFAULT_MAX_RETRIES,
    DEFAULT_RETRY_AFTER_CAP,
    ClientConfig,
    WaygridClient,
    redact_url,
)

__all__ = ["WaygridSettings"]

_PREFIX = "WAYGRID_"


class WaygridSettings(BaseSettings):
    """How to reach the Waygrid server, from ``WAYGRID_*`` environment variables.

    Only ``WAYGRID_BASE_URL`` is required. The API key is a `SecretStr`, so it shows as
    ``'**********'`` in reprs, logs and tracebacks; credentials in the base URL
    (``https://user:password@host``) are left out of ``repr()`` and ``str()`` too.

    Example:
        >>> settings = WaygridSettings(base_url="http://127.0.0.1:1337")
        >>> settings.max_retries
        3
    """

    model_config = SettingsConfigDict(env_prefix=_PREFIX, extra="ignore", frozen=True)

    base_url: str
    """``WAYGRID_BASE_URL``: the server, e.g. ``http://127.0.0.1:1337`` for ``waygrid dev``."""
    api_key: SecretStr | None = None
    """``WAYGRID_API_KEY``: sent as ``Authorization: Bearer <key>``; unset or empty sends none."""
    timeout: PositiveFloat | None = None
    """``WAYGRID_TIMEOUT``: seconds for every phase of a request; unset keeps the SDK's default
    (10 s to connect, 30 s to read)."""
    max_retries: NonNegativeInt = DEFAULT_MAX_RETRIES
    """``WAYGRID_MAX_RETRIES``: retries after the first attempt (0 disables retrying)."""
    backoff_base: NonNegativeFloat = DEFAULT_BACKOFF_BASE
    """``WAYGRID_BACKOFF_BASE``: seconds of the first backoff step; each retry doubles it."""
    backoff_cap: NonNegativeFloat = DEFAULT_BACKOFF_CAP
    """``WAYGRID_BACKOFF_CAP``: longest backoff step, in seconds."""
    retry_after_cap: NonNegativeFloat = DEFAULT_RETRY_AFTER_CAP
    """``WAYGRID_RETRY_AFTER_CAP``: longest wait a ``Retry-After`` header can impose, in seconds."""

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            yield name, redact_url(value) if name == "base_url" else value

    def __init__(self, **values: Any) -> None:
        """Read the settings: keyword arguments first, then ``WAYGRID_*`` variables.

        Raises:
            WaygridError: A value is missing or malformed; the message names its variable and
                never repeats the values read (pydantic's message would print them all, the
                API key included).
        """
        try:
            super().__init__(**values)
        except PydanticValidationError as exc:
            problems = "; ".join(
                f"{_PREFIX}{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
                for error in exc.errors(include_input=False, include_url=False)
            )
            raise WaygridError(
                f"Waygrid is not configured: {problems}. Set the environment variables, e.g. "
                f"{_PREFIX}BASE_URL=http://127.0.0.1:1337 for a local `waygrid dev`."
            ) from None

    @classmethod
    def from_env(cls) -> WaygridSettings:
        """Read the settings from the ``WAYGRID_*`` environment variables.

        Raises:
            WaygridError: A variable is missing or malformed; the message names it.
        """
        return cls()

    def client_config(self) -> ClientConfig:
        """These settings as the core's `ClientConfig` (unset ones keep the SDK's defaults).

        Raises:
            WaygridError: The base URL or API key is malformed (the key is never repeated).
        """
        key = self.api_key.get_secret_value() if self.api_key is not None else ""
        options: dict[str, Any] = {
            "max_retries": self.max_retries,
            "backoff_base": self.backoff_base,
            "backoff_cap": self.backoff_cap,
            "retry_after_cap": self.retry_after_cap,
        }
        if self.timeout is not None:
            options["timeout"] = self.timeout
        try:
            return ClientConfig(self.base_url, key.strip() or None, **options)
        except ValueError as exc:
            raise WaygridError(f"invalid Waygrid settings: {exc}") from None

    def create_client(self) -> WaygridClient:
        """A new `WaygridClient` with these settings (the caller closes it).

        Raises:
            WaygridError: The base URL or API key is malformed (the key is never repeated).
        """
        return WaygridClient.from_config(self.client_config())
