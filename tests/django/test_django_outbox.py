"""The outbox: rows written in the caller's transaction, sent after commit, never lost."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from pytest_django import Settings

from tests.django.helpers import free_port, run_dispatchers
from tests.django.views import SPEC
from waygrid import Condition, Node, Spec, SpecError, SpecValidationError
from waygrid.testing import DevServer
from waygrid_django import WaygridService, get_service, submission_failed, submission_succeeded
from waygrid_django.models import Submission

pytestmark = pytest.mark.django_db(transaction=True)
Status = Submission.Status


@pytest.fixture
def signals() -> Iterator[list[tuple[str, Submission, object]]]:
    """Every submission_succeeded / submission_failed signal sent during the test."""
    seen: list[tuple[str, Submission, object]] = []

    def ok(sender: object, submission: Submission, result: object, **kwargs: object) -> None:
        seen.append(("succeeded", submission, result))

    def failed(sender: object, submission: Submission, error: object, **kwargs: object) -> None:
        seen.append(("failed", submission, error))

    submission_succeeded.connect(ok)
    submission_failed.connect(failed)
    yield seen
    submission_succeeded.disconnect(ok)
    submission_failed.disconnect(failed)


@pytest.fixture
def down(settings: Settings) -> WaygridService:
    """The default service, pointed at a port where nothing listens."""
    settings.WAYGRID_BASE_URL = f"http://127.0.0.1:{free_port()}"
    return get_service()


def test_sent_after_commit_not_before(
    service: WaygridService,
    waygrid_server: DevServer,
    signals: list[tuple[str, Submission, object]],
) -> None:
    """Inside a transaction nothing is sent; at commit the row is sent and marked submitted."""
    with transaction.atomic():
        row = service.submit_on_commit(SPEC, {"order": 42})
        assert Submission.objects.get().status == Status.PENDING
        assert waygrid_server.ingest_requests == 0
    assert row.status == Status.SUBMITTED  # the caller's object is updated too
    stored = Submission.objects.get()
    assert (stored.status, stored.attempts, stored.last_error) == (Status.SUBMITTED, 1, "")
    [traversal] = waygrid_server.traversals()
    assert (stored.traversal_id, stored.dag_hash) == (traversal.traversal_id, traversal.dag_hash)
    assert traversal.payload == {"order": 42}
    assert Spec.from_dict(stored.spec) == SPEC
    assert [(kind, sub.pk) for kind, sub, _ in signals] == [("succeeded", stored.pk)]


def test_rolled_back_transaction_leaves_nothing(
    service: WaygridService, waygrid_server: DevServer
) -> None:
    """A rollback discards the rows and sends nothing."""
    with transaction.atomic():
        for number in range(5):
            service.submit_on_commit(SPEC, {"n": number})
        transaction.set_rollback(True)  # as when the view raises
    assert Submission.objects.count() == 0
    assert waygrid_server.ingest_requests == 0


def test_invalid_spec_raises_at_once_and_writes_nothing(service: WaygridService) -> None:
    """The spec is validated before the row is written."""
    bad = Spec.single(
        Node.fork("waygrid://system/waystation")
        .join_id("j")
        .branches(
            {
                "a": Node.standard("waygrid://processor/a"),
                "b": Node.standard("waygrid://processor/b"),
            }
        )
    )
    with pytest.raises(SpecValidationError):
        service.submit_on_commit(bad)
    with pytest.raises(SpecError, match="payload"):
        service.submit_on_commit(SPEC, {"score": math.nan})
    assert Submission.objects.count() == 0


def test_no_loss_while_down_then_four_dispatchers(settings: Settings) -> None:
    """200 rows written while Waygrid is down are all sent exactly once by 4 dispatchers."""
    server = DevServer(port=free_port())  # not started yet: Waygrid is down
    settings.WAYGRID_BASE_URL = server_url = f"http://127.0.0.1:{server._requested_port}"
    service = get_service()
    for number in range(200):
        service.submit_on_commit(SPEC, {"n": number})
    assert Submission.objects.filter(status=Status.PENDING, attempts=1).count() == 200
    assert "ConnectError" in Submission.objects.first().last_error  # type: ignore[union-attr]

    with transaction.atomic():  # and a rolled-back one adds none
        service.submit_on_commit(SPEC, {"n": "rolled back"})
        transaction.set_rollback(True)
    assert Submission.objects.count() == 200

    with server:  # Waygrid is back, at the same address
        assert server.url == server_url
        runs = run_dispatchers(4, server.url, "--once", "--batch-size", "20")
        for run in runs:
            assert run.returncode == 0, run.stderr
        assert Submission.objects.filter(status=Status.SUBMITTED).count() == 200
        assert server.ingest_requests == 200  # no row was sent twice
        assert len(server.traversals()) == 200
        assert {t.traversal_id for t in server.traversals()} == set(
            Submission.objects.values_list("traversal_id", flat=True)
        )
        summaries = [run.stdout.splitlines()[1] for run in runs]  # after the start-up line
        sent = sum(int(line.split(":")[1].split()[0]) for line in summaries)
        assert sent == 200


def test_server_errors_back_off_then_fail(
    service: WaygridService,
    waygrid_server: DevServer,
    settings: Settings,
    signals: list[tuple[str, Submission, object]],
) -> None:
    """5xx answers leave the row pending with a growing, jittered delay, until max attempts: failed."""
    settings.WAYGRID_OUTBOX_MAX_ATTEMPTS = 3
    settings.WAYGRID_OUTBOX_BACKOFF = 60.0
    settings.WAYGRID_OUTBOX_BACKOFF_MAX = 90.0
    service = get_service()  # rebuilt with the new outbox options
    waygrid_server.fail_next(10, status=503)
    before = timezone.now()
    row = service.submit_on_commit(SPEC)
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.PENDING, 1)
    assert "503" in row.last_error
    # 60 s, jittered down to no less than half of it
    assert timedelta(seconds=29) < row.next_attempt_at - before < timedelta(seconds=61)
    assert service.dispatch().claimed == 0  # not due yet

    Submission.objects.update(next_attempt_at=timezone.now())
    assert service.dispatch().retrying == 1
    row.refresh_from_db()
    assert row.attempts == 2
    assert timedelta(seconds=44) < row.next_attempt_at - timezone.now() < timedelta(seconds=91)

    Submission.objects.update(next_attempt_at=timezone.now())
    assert service.dispatch().failed == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.FAILED, 3)
    assert [kind for kind, _, _ in signals] == ["failed"]


def test_retry_after_is_honoured(service: WaygridService, waygrid_server: DevServer) -> None:
    """A 503 with Retry-After longer than the backoff delays the next attempt that long."""
    waygrid_server.fail_next(1, status=503, retry_after=120)
    before = timezone.now()
    row = service.submit_on_commit(SPEC)
    assert row.status == Status.PENDING
    assert timedelta(seconds=119) < row.next_attempt_at - before < timedelta(seconds=133)


def test_rejected_spec_fails_at_once(
    settings: Settings, signals: list[tuple[str, Submission, object]]
) -> None:
    """A spec the server rejects is marked failed with the server's reason, not retried."""
    spec = Spec.single(
        Node.standard("waygrid://processor/openai").on_conditions(
            [Condition.when(Condition.json_exists("/x"), Node.standard("waygrid://destination/a"))]
        )
    )
    with DevServer(strict=True) as strict:  # rejects JSON-pointer conditions, like the server
        settings.WAYGRID_BASE_URL = strict.url
        row = get_service().submit_on_commit(spec)
    assert (row.status, row.attempts) == (Status.FAILED, 1)
    assert "SpecRejectedError" in row.last_error
    [(kind, _, error)] = signals
    assert kind == "failed"
    assert type(error).__name__ == "SpecRejectedError"


def test_resend_after_a_lost_answer_is_harmless(
    service: WaygridService, waygrid_server: DevServer
) -> None:
    """A row sent again with its idempotency key gets the same traversal, not a second one."""
    row = service.submit_on_commit(SPEC)
    first = row.traversal_id
    # As if the process died after sending but before recording, and the lease ran out:
    Submission.objects.update(status=Status.SENDING, next_attempt_at=timezone.now())
    assert service.dispatch().submitted == 1
    row.refresh_from_db()
    assert row.traversal_id == first
    assert len(waygrid_server.traversals()) == 1
    assert waygrid_server.ingest_requests == 2


def test_a_held_lease_is_not_taken(service: WaygridService, settings: Settings) -> None:
    """A row another dispatcher is sending (lease not expired) is left alone."""
    settings.WAYGRID_OUTBOX_SEND_ON_COMMIT = False
    service = get_service()
    service.submit_on_commit(SPEC)
    later = timezone.now() + timedelta(minutes=5)
    Submission.objects.update(status=Status.SENDING, next_attempt_at=later, claim_token="x")
    assert service.dispatch().claimed == 0
    assert Submission.objects.get().status == Status.SENDING


def test_send_on_commit_off_leaves_rows_to_dispatch(
    service: WaygridService, settings: Settings, waygrid_server: DevServer
) -> None:
    """With WAYGRID_OUTBOX_SEND_ON_COMMIT = False only the dispatcher sends."""
    settings.WAYGRID_OUTBOX_SEND_ON_COMMIT = False
    service = get_service()
    for number in range(5):
        service.submit_on_commit(SPEC, number)
    assert waygrid_server.ingest_requests == 0
    result = service.dispatch(batch_size=2)
    assert (result.submitted, result.claimed) == (2, 2)
    assert service.dispatch().submitted == 3
    assert Submission.objects.filter(status=Status.SUBMITTED).count() == 5


def test_asubmit_on_commit_from_async_code(service: WaygridService) -> None:
    """The async variant writes and sends the row from a coroutine."""
    import asyncio

    row = asyncio.run(service.asubmit_on_commit(SPEC, {"async": True}))
    assert row.status == Status.SUBMITTED
    assert Submission.objects.get().payload == {"async": True}


def test_failing_signal_receiver_does_not_stop_the_outbox(service: WaygridService) -> None:
    """A receiver that raises is logged; the row is still recorded."""

    def broken(**kwargs: object) -> None:
        raise ValueError("receiver bug")

    submission_succeeded.connect(broken)
    try:
        row = service.submit_on_commit(SPEC)
    finally:
        submission_succeeded.disconnect(broken)
    assert Submission.objects.get(pk=row.pk).status == Status.SUBMITTED


def test_outbox_views_under_wsgi_and_asgi(
    django_server: str, service: WaygridService, waygrid_server: DevServer
) -> None:
    """The sync and async views' submit_on_commit answer with the traversal id."""
    import httpx

    with httpx.Client(base_url=django_server, timeout=30) as http:
        for view in ("sync", "async"):
            body = http.post(f"/{view}/?outbox=1", json={"view": view}).json()
            assert body["status"] == "submitted"
            assert waygrid_server.traversal(body["traversal_id"]) is not None
    assert Submission.objects.filter(status=Status.SUBMITTED).count() == 2


def test_outcome_of_a_lost_claim_is_not_recorded(
    service: WaygridService, settings: Settings, waygrid_server: DevServer
) -> None:
    """If another dispatcher took a row over meanwhile, the first one's outcome is dropped."""
    from waygrid_django import outbox

    settings.WAYGRID_OUTBOX_SEND_ON_COMMIT = False
    service = get_service()
    for number in range(3):
        service.submit_on_commit(SPEC, number)
    rows = outbox.claim(lease=60, limit=10)
    assert len(rows) == 3
    assert outbox.claim(lease=60, limit=10) == []  # claimed rows are not handed out twice
    Submission.objects.filter(pk=rows[0].pk).update(claim_token="someone-else")
    result = service.send([])  # nothing selected: nothing sent
    assert result.claimed == 0
    outcomes = [service.submit(SPEC, payload=row.payload) for row in rows]
    recorded = outbox.record(rows, outcomes, service.outbox_settings)
    assert (recorded.submitted, recorded.claimed) == (2, 2)
    assert Submission.objects.get(pk=rows[0].pk).status == Status.SENDING
    assert Submission.objects.filter(status=Status.SUBMITTED).count() == 2


def test_send_skips_rows_it_cannot_claim(
    service: WaygridService, settings: Settings, waygrid_server: DevServer
) -> None:
    """send() of 40 submitted rows and 10 pending ones sends the 10 (not stopping at the first 32)."""
    settings.WAYGRID_OUTBOX_SEND_ON_COMMIT = False
    service = get_service()
    done = [Submission(spec=SPEC, status=Status.SUBMITTED) for _ in range(40)]
    Submission.objects.bulk_create(done)
    for number in range(10):
        service.submit_on_commit(SPEC, number)
    result = service.send(Submission.objects.order_by("pk"))
    assert result.submitted == 10
    assert waygrid_server.ingest_requests == 10
