"""The outbox against a slow, hanging or proxied Waygrid: each row is sent once, by construction.

The loopback servers of ``tests.netfaults`` ignore ``Idempotency-Key`` like today's real server,
so every extra send would show as a key counted twice.
"""

from __future__ import annotations

import signal
import time
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone
from pytest_django import Settings

from tests.django.helpers import start_dispatchers
from tests.django.views import SPEC
from tests.netfaults import Hang, ProxyStatus, Slow, fault_server
from waygrid_django import get_service
from waygrid_django.models import Submission

pytestmark = pytest.mark.django_db(transaction=True)
Status = Submission.Status


@pytest.mark.parametrize("dispatchers", [2, 4])
def test_slow_server_gets_every_row_exactly_once(dispatchers: int) -> None:
    """100 rows, answers after 1.5 s, timeout 2 s, lease 5 s: each key reaches the server once."""
    rows = [Submission(spec=SPEC, payload={"n": number}) for number in range(100)]
    Submission.objects.bulk_create(rows)
    keys = set(Submission.objects.values_list("idempotency_key", flat=True))
    with fault_server(Slow(1.5)) as server:
        env = {"WAYGRID_TIMEOUT": "2", "WAYGRID_OUTBOX_LEASE": "5"}
        processes = start_dispatchers(dispatchers, server.url, "--interval", "0.05", env=env)
        try:
            deadline = time.monotonic() + 90
            while Submission.objects.filter(status=Status.SUBMITTED).count() < 100:
                failed = [p for p in processes if p.poll() is not None]
                assert not failed, failed[0].communicate()[1]
                assert time.monotonic() < deadline, "the dispatchers did not submit every row"
                time.sleep(0.1)
            time.sleep(6)  # longer than a lease: a re-claim of a row would have been sent now
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            outputs = [process.communicate(timeout=60) for process in processes]
        for process, (_, err) in zip(processes, outputs, strict=True):
            assert process.returncode == 0, err
        counts = server.key_counts()
    assert set(counts) == keys
    assert max(counts.values()) == 1, [key for key, n in counts.items() if n > 1][:5]
    assert Submission.objects.filter(status=Status.SUBMITTED, attempts=1).count() == 100


def test_a_send_never_outlives_its_lease(settings: Settings) -> None:
    """Against a hanging server the send is cut before the lease ends, and recorded as pending."""
    settings.WAYGRID_OUTBOX_SEND_ON_COMMIT = False
    settings.WAYGRID_OUTBOX_LEASE = 2
    settings.WAYGRID_OUTBOX_BACKOFF = settings.WAYGRID_OUTBOX_BACKOFF_MAX = 60.0
    with fault_server(Hang()) as server:
        settings.WAYGRID_BASE_URL = server.url
        service = get_service()
        row = service.submit_on_commit(SPEC)
        started = time.monotonic()
        result = service.dispatch()
        elapsed = time.monotonic() - started
    assert result.retrying == 1
    assert elapsed < 2.0  # 2 s lease, of which the last 0.4 s are kept to record the outcome
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.PENDING, 1)
    assert "WaygridTimeoutError" in row.last_error
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [400, 404, 421, 502])
def test_a_proxy_answer_is_retried_not_failed(settings: Settings, status: int) -> None:
    """A proxy's 400/404/421/502 (not Waygrid rejecting the spec) leaves the row to retry."""
    with fault_server(Slow(0)) as server:
        settings.WAYGRID_BASE_URL = server.url
        service = get_service()
        server.queue(ProxyStatus(status))
        row = service.submit_on_commit(SPEC)
        assert (row.status, row.attempts) == (Status.PENDING, 1)
        assert str(status) in row.last_error
        Submission.objects.update(next_attempt_at=timezone.now())
        assert service.dispatch().submitted == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SUBMITTED, 2)
    assert list(server.key_counts().values()) == [2]  # one row, sent twice: once per attempt


def test_proxy_answers_fail_the_row_after_max_attempts(settings: Settings) -> None:
    """Retried proxy answers still end in failed once the attempts run out."""
    settings.WAYGRID_OUTBOX_MAX_ATTEMPTS = 2
    with fault_server(ProxyStatus(404)) as server:
        settings.WAYGRID_BASE_URL = server.url
        service = get_service()
        row = service.submit_on_commit(SPEC)
        Submission.objects.update(next_attempt_at=timezone.now())
        assert service.dispatch().failed == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.FAILED, 2)


def test_backoff_is_jittered(settings: Settings) -> None:
    """Rows that failed together are not all due again at the same instant."""
    settings.WAYGRID_OUTBOX_SEND_ON_COMMIT = False
    settings.WAYGRID_OUTBOX_BACKOFF = settings.WAYGRID_OUTBOX_BACKOFF_MAX = 60.0
    with fault_server(ProxyStatus(502)) as server:
        settings.WAYGRID_BASE_URL = server.url
        service = get_service()
        for number in range(20):
            service.submit_on_commit(SPEC, number)
        before = timezone.now()
        assert service.dispatch().retrying == 20
    due = [row.next_attempt_at - before for row in Submission.objects.all()]
    assert all(timedelta(seconds=29) < wait < timedelta(seconds=61) for wait in due)
    assert len({wait.total_seconds() // 1 for wait in due}) > 5  # spread over the 30 s


@pytest.mark.parametrize("view", ["sync", "async"])
def test_inline_send_is_bounded_by_the_budget(
    django_server: str, settings: Settings, view: str
) -> None:
    """With Waygrid hanging, the outbox view answers within the inline budget; no second send."""
    settings.WAYGRID_OUTBOX_INLINE_BUDGET = 1.0
    settings.WAYGRID_OUTBOX_LEASE = 3
    settings.WAYGRID_OUTBOX_BACKOFF = settings.WAYGRID_OUTBOX_BACKOFF_MAX = 60.0
    with fault_server(Hang()) as server:
        settings.WAYGRID_BASE_URL = server.url
        with httpx.Client(base_url=django_server, timeout=30) as http:
            started = time.monotonic()
            response = http.post(f"/{view}/?outbox=1", json={"view": view})
            elapsed = time.monotonic() - started
        assert response.status_code == 200
        assert response.json()["status"] == Status.SENDING  # still in flight, under its lease
        assert elapsed < 1.0 + 0.5
        assert get_service().dispatch().claimed == 0  # the lease is held: no dispatcher sends it
        deadline = time.monotonic() + 10  # the background send ends before the lease does
        while Submission.objects.get().status == Status.SENDING:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert len(server.requests) == 1
    row = Submission.objects.get()
    assert (row.status, row.attempts) == (Status.PENDING, 1)
    assert "WaygridTimeoutError" in row.last_error


def test_a_killed_dispatcher_loses_nothing() -> None:
    """kill -9 mid-batch: its rows wait out their lease, then another dispatcher sends them."""
    Submission.objects.bulk_create(Submission(spec=SPEC, payload=n) for n in range(60))
    env = {"WAYGRID_TIMEOUT": "2", "WAYGRID_OUTBOX_LEASE": "3"}
    with fault_server(Slow(1.0)) as server:
        [victim] = start_dispatchers(1, server.url, "--interval", "0.05", env=env)
        try:
            server.wait_for_requests(40, timeout=60)  # mid-batch: rows in flight, some recorded
        finally:
            victim.send_signal(signal.SIGKILL)
            victim.communicate(timeout=30)
        in_flight = set(
            Submission.objects.filter(status=Status.SENDING).values_list("pk", flat=True)
        )
        [rescuer] = start_dispatchers(1, server.url, "--interval", "0.05", env=env)
        try:
            deadline = time.monotonic() + 60
            while Submission.objects.filter(status=Status.SUBMITTED).count() < 60:
                assert rescuer.poll() is None, rescuer.communicate()[1]
                assert time.monotonic() < deadline, "the second dispatcher did not finish"
                time.sleep(0.1)
        finally:
            rescuer.send_signal(signal.SIGTERM)
            rescuer.communicate(timeout=60)
        counts = server.key_counts()
    rows = Submission.objects.all()
    assert len(counts) == 60
    # Only the rows the dead dispatcher had in flight can have been sent twice.
    twice = {row.pk for row in rows if counts[row.idempotency_key] > 1}
    assert twice <= in_flight
    assert max(counts.values()) <= 2
