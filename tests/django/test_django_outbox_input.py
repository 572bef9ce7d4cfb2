"""What the outbox stores: any text submit() sends, Django's JSON types, keys and references."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.test import Client
from django.urls import reverse
from pytest_django import Settings

from tests.django.views import SPEC
from tests.netfaults import FaultServer, ProxyStatus, Slow, fault_server
from waygrid import Node, Spec, SpecError
from waygrid_django import WaygridService, get_service
from waygrid_django.models import Submission

pytestmark = pytest.mark.django_db(transaction=True)
Status = Submission.Status
CHANGELIST = "admin:waygrid_django_submission_changelist"


@pytest.fixture
def server(settings: Settings) -> Any:
    """A healthy loopback Waygrid that records every request body."""
    with fault_server(Slow(0)) as running:
        settings.WAYGRID_BASE_URL = running.url
        yield running


def _with(text: str, where: str) -> tuple[Spec, object]:
    """A spec and payload carrying ``text`` in the payload, a label or a parameter."""
    node = Node.standard("waygrid://processor/openai")
    if where == "label":
        return Spec.single(node.label(text)), {"n": 1}
    if where == "parameter":
        return Spec.single(node.with_parameters({"prompt": text})), {"n": 1}
    return Spec.single(node), {"text": text, "nested": [text]}


@pytest.mark.parametrize("where", ["payload", "label", "parameter"])
@pytest.mark.parametrize("text", ["a\x00b", "a\ud800b", "\udfff", "é\U0001f600"])
def test_text_any_database_cannot_store_is_stored_as_sent(
    server: FaultServer, where: str, text: str
) -> None:
    """U+0000 and lone surrogates neither raise nor abort the transaction; sent as submit() does."""
    service = get_service()
    spec, payload = _with(text, where)
    with transaction.atomic():
        row = service.submit_on_commit(spec, payload)
        assert Submission.objects.count() == 1  # the caller's transaction is still usable
    assert row.status == Status.SUBMITTED
    service.submit(spec, payload, idempotency_key="direct")
    outbox, direct = server.requests
    assert outbox.body == direct.body  # exactly what submit() sends
    stored = Submission.objects.get()
    assert stored.payload == payload
    assert Spec.from_json(stored.spec_json) == spec


def test_the_admin_shows_unstorable_text(admin_client: Client, server: FaultServer) -> None:
    """The change page of a row with U+0000 and a lone surrogate renders, escaped."""
    spec = Spec.single(Node.standard("waygrid://processor/openai").label("x\ud800y"))
    row = get_service().submit_on_commit(spec, {"text": "a\x00b\ud800"})
    url = reverse("admin:waygrid_django_submission_change", args=[row.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "a\\u0000b\\ud800" in html
    assert "x\\ud800y" in html


def test_a_deeply_nested_payload_is_a_spec_error_or_stored(server: FaultServer) -> None:
    """A payload nested 980 deep gives SpecError or is stored and sent, never RecursionError."""
    payload: object = 1
    for _ in range(980):
        payload = [payload]
    service = get_service()
    try:
        with transaction.atomic():
            row = service.submit_on_commit(SPEC, payload)
    except SpecError as exc:
        assert "payload" in str(exc)
        assert Submission.objects.count() == 0
    else:
        assert row.status == Status.SUBMITTED
        assert server.requests[0].body.count(b"[") == 980


def test_django_json_types_in_payloads(server: FaultServer) -> None:
    """datetime, date, Decimal and UUID are sent as DjangoJSONEncoder writes them."""
    payload = {
        "at": dt.datetime(2026, 12, 2, 10, 30, 15, 123456, tzinfo=dt.timezone.utc),
        "day": dt.date(2026, 12, 2),
        "amount": Decimal("19.90"),
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    }
    row = get_service().submit_on_commit(SPEC, payload)
    assert row.status == Status.SUBMITTED
    sent = json.loads(server.requests[0].body)["payload"]
    assert sent == json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    assert sent == {
        "at": "2026-12-02T10:30:15.123Z",
        "day": "2026-12-02",
        "amount": "19.90",
        "id": "12345678-1234-5678-1234-567812345678",
    }
    with pytest.raises(SpecError, match="payload"):
        get_service().submit_on_commit(SPEC, {"x": object()})


def test_a_caller_chosen_key_is_sent_and_used_once(server: FaultServer) -> None:
    """The caller's idempotency key is the row's; the same key again returns that row."""
    service = get_service()
    first = service.submit_on_commit(SPEC, {"order": 42}, idempotency_key="order-42")
    with transaction.atomic():
        again = service.submit_on_commit(SPEC, {"order": 42}, idempotency_key="order-42")
        with pytest.raises(ValueError, match="already used"):
            service.submit_on_commit(SPEC, {"order": 43}, idempotency_key="order-42")
        assert Submission.objects.count() == 1  # still usable after the refusal
    assert again.pk == first.pk
    assert server.keys == ["order-42"]
    for bad in ("", "has space", "x" * 256, "é"):
        with pytest.raises(ValueError, match="idempotency_key"):
            service.submit_on_commit(SPEC, idempotency_key=bad)


def test_one_key_twice_in_a_transaction_is_sent_once(server: FaultServer) -> None:
    """The same key twice before commit: one row, one send after commit (even if it fails)."""
    server.queue(ProxyStatus(502))
    service = get_service()
    with transaction.atomic():
        first = service.submit_on_commit(SPEC, idempotency_key="order-7")
        again = service.submit_on_commit(SPEC, idempotency_key="order-7")
    assert again.pk == first.pk
    assert Submission.objects.get().status == Status.PENDING  # the 502 is retried later
    assert len(server.requests) == 1


def test_reference_is_stored_shown_filtered_and_searched(
    admin_client: Client, server: FaultServer
) -> None:
    """A reference links rows to the caller's object; the admin lists, filters and finds it."""
    service = get_service()
    ours = service.submit_on_commit(SPEC, {"order": 1}, reference="order:1")
    service.submit_on_commit(SPEC, {"order": 1}, reference="order:1")
    other = service.submit_on_commit(SPEC, {"order": 2}, reference="order:2")
    plain = service.submit_on_commit(SPEC)
    assert Submission.objects.get(pk=ours.pk).reference == "order:1"
    page = admin_client.get(reverse(CHANGELIST))
    assert '<a href="?reference=order%3A1">order:1</a>' in page.content.decode()
    by_reference = admin_client.get(reverse(CHANGELIST), {"reference": "order:1"})
    assert by_reference.context["cl"].result_count == 2
    found = admin_client.get(reverse(CHANGELIST), {"q": "order:2"})
    assert [r.pk for r in found.context["cl"].result_list] == [other.pk]
    without = admin_client.get(reverse(CHANGELIST), {"has_reference": "no"})
    assert [r.pk for r in without.context["cl"].result_list] == [plain.pk]
    with pytest.raises(ValueError, match="reference"):
        service.submit_on_commit(SPEC, reference="x" * 256)


def test_service_repr_hides_url_credentials() -> None:
    """Credentials in the base URL never show in the service's repr."""
    service = WaygridService("https://bot:hunter2@gw.example.com/waygrid/", "wg_live_SECRET")
    try:
        assert "hunter2" not in repr(service)
        assert "bot" not in repr(service)
        assert "gw.example.com/waygrid" in repr(service)
    finally:
        service.close()
