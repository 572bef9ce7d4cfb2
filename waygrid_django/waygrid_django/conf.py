"""The ``WAYGRID_*`` settings, read and checked in one place."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from waygrid.client import DEFAULT_MAX_RETRIES, ClientConfig, redact_url

__all__ = [
    "SEND_CONCURRENCY",
    "OutboxSettings",
    "Problem",
    "WaygridSettings",
    "get_settings",
    "lease_margin",
    "settings_problems",
]

_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})

SEND_CONCURRENCY = 32
"""Rows one sender (a dispatch pass) has in flight at once (the pool holds 100 connections)."""


def lease_margin(lease: float) -> float:
    """The end of a lease kept free of sending, to record the outcome: 20 %, at most 30 s."""
    return min(0.2 * lease, 30.0)


@dataclass(frozen=True, slots=True)
class OutboxSettings:
    """How the outbox retries: the ``WAYGRID_OUTBOX_*`` settings (seconds for every duration)."""

    max_attempts: int = 10
    """``WAYGRID_OUTBOX_MAX_ATTEMPTS``: attempts before a submission is marked failed."""
    backoff: float = 5.0
    """``WAYGRID_OUTBOX_BACKOFF``: wait after the first failed attempt; doubles each time."""
    backoff_max: float = 3600.0
    """``WAYGRID_OUTBOX_BACKOFF_MAX``: the longest wait between two attempts."""
    lease: float = 300.0
    """``WAYGRID_OUTBOX_LEASE``: how long a sender owns a row it claimed before others may.

    A row is claimed right before it is sent, and its send must end within the first 80 % of
    the lease (`lease_margin`): no answer can arrive once another sender could take it over."""
    batch_size: int = 100
    """``WAYGRID_OUTBOX_BATCH_SIZE``: rows one dispatch pass claims, as send slots free up
    (at most `SEND_CONCURRENCY` in flight)."""
    send_on_commit: bool = True
    """``WAYGRID_OUTBOX_SEND_ON_COMMIT``: try once right after commit (else only dispatch)."""
    inline_budget: float = 2.5
    """``WAYGRID_OUTBOX_INLINE_BUDGET``: the most seconds the committing thread waits for the
    send after commit; a slower send carries on in the background and is recorded when it ends
    (or, if the process dies first, left to the dispatcher once its lease runs out)."""

    def backoff_after(self, attempts: int, *, jitter: bool = False) -> float:
        """Seconds to wait after ``attempts`` failed attempts: ``backoff * 2**(attempts-1)``.

        Capped at ``backoff_max``. With ``jitter`` a random point in the upper half of that
        wait, so rows that failed together (an outage) do not all come back at one instant.
        """
        wait = min(self.backoff_max, self.backoff * 2.0 ** min(max(attempts, 1) - 1, 62))
        return wait * random.uniform(0.5, 1.0) if jitter else wait


@dataclass(frozen=True, slots=True)
class WaygridSettings:
    """Every ``WAYGRID_*`` setting, validated.

    The repr shows neither the API key nor credentials in the base URL (Django's debug page
    prints it).
    """

    base_url: str
    """``WAYGRID_BASE_URL`` (required): the Waygrid server, e.g. ``https://api.waygrid.io``."""
    api_key: str | None = None
    """``WAYGRID_API_KEY``: sent as a bearer token; required outside DEBUG (check E002)."""
    timeout: float | None = None
    """``WAYGRID_TIMEOUT``: seconds for every phase of a request; None keeps 10 s/30 s."""
    max_retries: int = DEFAULT_MAX_RETRIES
    """``WAYGRID_MAX_RETRIES``: retries after the first attempt of a direct ``submit``."""
    outbox: OutboxSettings = field(default_factory=OutboxSettings)
    """The ``WAYGRID_OUTBOX_*`` settings."""

    def client_config(self) -> ClientConfig:
        """The client options as the core's `ClientConfig` (unset ones keep its defaults).

        Raises:
            ValueError: The base URL or API key is malformed (`get_settings` has refused that).
        """
        return _client_config(self.base_url, self.api_key, self.timeout, self.max_retries)

    def __repr__(self) -> str:
        key = "'***'" if self.api_key else "None"
        return (
            f"WaygridSettings(base_url={redact_url(self.base_url)!r}, api_key={key}, "
            f"timeout={self.timeout!r}, max_retries={self.max_retries!r}, outbox={self.outbox!r})"
        )


def _client_config(
    base_url: str,
    api_key: str | None = None,
    timeout: float | None = None,
    max_retries: int = DEFAULT_MAX_RETRIES,
) -> ClientConfig:
    """The core's `ClientConfig` for these settings: None for ``timeout`` keeps its default."""
    if timeout is None:
        return ClientConfig(base_url, api_key, max_retries=max_retries)
    return ClientConfig(base_url, api_key, timeout=timeout, max_retries=max_retries)


@dataclass(frozen=True, slots=True)
class Problem:
    """A setting that is missing or wrong, as a system check reports it."""

    check_id: str
    """The stable id of the system check, e.g. ``waygrid.E001``."""
    level: Literal["error", "warning"]
    """``error`` stops ``manage.py`` commands; ``warning`` is only reported."""
    message: str
    """What is wrong."""
    hint: str
    """The line to add or change."""


def _number(
    name: str, *, integer: bool, minimum: float, default: float, check_id: str, example: str
) -> Callable[[list[Problem]], float]:
    def read(problems: list[Problem]) -> float:
        value: object = getattr(settings, name, None)
        if value is None:
            return default
        if (
            not isinstance(value, bool)
            and isinstance(value, (int, float))
            and (isinstance(value, int) or not integer)
            and math.isfinite(value)
            and value >= minimum
        ):
            return value
        kind = "an int" if integer else "a number of seconds"
        problems.append(
            Problem(
                check_id,
                "error",
                f"{name} must be {kind} >= {minimum:g}, got {value!r}.",
                f"Set it in settings.py, e.g. {name} = {example}",
            )
        )
        return default

    return read


def _read_base_url(problems: list[Problem]) -> str:
    value = getattr(settings, "WAYGRID_BASE_URL", None)
    hint = (
        'Add WAYGRID_BASE_URL = "https://api.waygrid.io" to settings.py (or '
        'WAYGRID_BASE_URL = "http://127.0.0.1:1337" for `waygrid dev`).'
    )
    if not value:
        problems.append(Problem("waygrid.E001", "error", "WAYGRID_BASE_URL is not set.", hint))
        return ""
    try:
        ClientConfig(value)  # the core's own check of the address
    except (ValueError, TypeError) as exc:
        problems.append(
            Problem("waygrid.E001", "error", f"WAYGRID_BASE_URL: {redact_url(exc)}.", hint)
        )
        return ""
    parts = urlsplit(value.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme == "http" and host not in _LOCAL_HOSTS and not host.endswith(".localhost"):
        problems.append(
            Problem(
                "waygrid.W001",
                "warning",
                f"WAYGRID_BASE_URL sends specs, payloads and the API key in clear text to {host}.",
                'Use https: WAYGRID_BASE_URL = "'
                + redact_url(urlunsplit(("https", parts.netloc, parts.path, "", "")))
                + '"',
            )
        )
    return str(value).strip()


def _read_api_key(problems: list[Problem]) -> str | None:
    value = getattr(settings, "WAYGRID_API_KEY", None)
    if not value:
        if not settings.DEBUG:
            problems.append(
                Problem(
                    "waygrid.E002",
                    "error",
                    "WAYGRID_API_KEY is not set and DEBUG is off.",
                    'Add WAYGRID_API_KEY = os.environ["WAYGRID_API_KEY"] to settings.py.',
                )
            )
        return None
    try:
        ClientConfig("http://localhost", value)
    except (ValueError, TypeError) as exc:  # the message never repeats the key
        problems.append(
            Problem(
                "waygrid.E003",
                "error",
                f"WAYGRID_API_KEY is malformed: {exc}.",
                "Copy the key again; it is printable ASCII without spaces.",
            )
        )
        return None
    return str(value)


def _read_outbox(problems: list[Problem]) -> OutboxSettings:
    d = OutboxSettings()

    def num(suffix: str, integer: bool, minimum: float, default: float, example: str) -> float:
        reader = _number(
            f"WAYGRID_OUTBOX_{suffix}",
            integer=integer,
            minimum=minimum,
            default=default,
            check_id="waygrid.E005",
            example=example,
        )
        return reader(problems)

    send = getattr(settings, "WAYGRID_OUTBOX_SEND_ON_COMMIT", d.send_on_commit)
    if not isinstance(send, bool):
        problems.append(
            Problem(
                "waygrid.E005",
                "error",
                f"WAYGRID_OUTBOX_SEND_ON_COMMIT must be True or False, got {send!r}.",
                "Set WAYGRID_OUTBOX_SEND_ON_COMMIT = True (or False to leave sending to "
                "`manage.py waygrid_dispatch`).",
            )
        )
        send = d.send_on_commit
    return OutboxSettings(
        max_attempts=int(num("MAX_ATTEMPTS", True, 1, d.max_attempts, "10")),
        backoff=num("BACKOFF", False, 0, d.backoff, "5.0"),
        backoff_max=num("BACKOFF_MAX", False, 0, d.backoff_max, "3600.0"),
        lease=num("LEASE", False, 1, d.lease, "300.0"),
        batch_size=int(num("BATCH_SIZE", True, 1, d.batch_size, "100")),
        send_on_commit=send,
        inline_budget=num("INLINE_BUDGET", False, 0.1, d.inline_budget, "2.5"),
    )


def _read(problems: list[Problem]) -> WaygridSettings:
    base_url = _read_base_url(problems)
    api_key = _read_api_key(problems)
    timeout_reader = _number(
        "WAYGRID_TIMEOUT",
        integer=False,
        minimum=0.001,
        default=math.nan,
        check_id="waygrid.E004",
        example="30.0",
    )
    timeout = timeout_reader(problems)
    retries_reader = _number(
        "WAYGRID_MAX_RETRIES",
        integer=True,
        minimum=0,
        default=DEFAULT_MAX_RETRIES,
        check_id="waygrid.E004",
        example="3",
    )
    max_retries = int(retries_reader(problems))
    outbox = _read_outbox(problems)
    _check_lease(problems, outbox, timeout if math.isfinite(timeout) else None)
    return WaygridSettings(
        base_url=base_url,
        api_key=api_key,
        timeout=timeout if math.isfinite(timeout) else None,
        max_retries=max_retries,
        outbox=outbox,
    )


def _check_lease(problems: list[Problem], outbox: OutboxSettings, timeout: float | None) -> None:
    """W002: the lease must cover what a dispatcher does with one row, which is one attempt.

    A dispatcher claims a row only when one of its `SEND_CONCURRENCY` send slots is free and
    sends it at once, with one attempt (the outbox's backoff spaces the attempts; the batch size
    only bounds the rows of one pass). That attempt gets what is left of the lease minus
    `lease_margin` as its deadline, so it can never outlive the lease; but an answer slower than
    that is cut off, and the row is sent again later: a duplicate traversal on a server that
    ignores ``Idempotency-Key`` and had processed the first one.
    """
    attempt = _client_config("http://localhost", timeout=timeout).effective_attempt_timeout
    if attempt is None:  # a timeout without a read timeout: not expressible in settings
        return
    budget = outbox.lease - lease_margin(outbox.lease)
    if budget >= attempt:
        return
    needed = math.ceil(attempt + min(attempt / 4, 30.0))
    problems.append(
        Problem(
            "waygrid.W002",
            "warning",
            f"WAYGRID_OUTBOX_LEASE ({outbox.lease:g} s) leaves each send {budget:g} s, but one "
            f"attempt may take {attempt:g} s (WAYGRID_TIMEOUT: connect plus read). A dispatcher "
            f"claims a row when one of its {SEND_CONCURRENCY} send slots is free (whatever "
            f"WAYGRID_OUTBOX_BATCH_SIZE = {outbox.batch_size}), sends it at once with one attempt, "
            "and keeps the last 20 % of the lease (at most 30 s) to record the answer: a slower "
            "answer is cut off and the row sent again later, a duplicate traversal if the server "
            "ignores Idempotency-Key.",
            f"Set WAYGRID_OUTBOX_LEASE = {max(300, needed)} (or lower WAYGRID_TIMEOUT).",
        )
    )


def settings_problems() -> list[Problem]:
    """Every missing or invalid ``WAYGRID_*`` setting (what the system checks report)."""
    problems: list[Problem] = []
    _read(problems)
    return problems


def get_settings() -> WaygridSettings:
    """The ``WAYGRID_*`` settings, validated.

    Raises:
        ImproperlyConfigured: A required setting is missing or one is invalid; the message names
            the line to add to ``settings.py``. (``WAYGRID_API_KEY`` missing outside DEBUG is
            only reported by the ``waygrid.E002`` check: the request is tried without a key.)
    """
    problems: list[Problem] = []
    result = _read(problems)
    for problem in problems:
        if problem.level == "error" and problem.check_id != "waygrid.E002":
            raise ImproperlyConfigured(f"{problem.message} {problem.hint}")
    return result
