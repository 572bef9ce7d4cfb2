"""The Submission admin: list, filters, search, detail with the DAG, both actions, a browser."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from tests.django.views import SPEC
from waygrid import Node, Spec, simulate
from waygrid.testing import DevServer
from waygrid_django import WaygridService
from waygrid_django.admin import SubmissionAdmin
from waygrid_django.models import Submission

pytestmark = pytest.mark.django_db(transaction=True)
Status = Submission.Status
CHANGELIST = "admin:waygrid_django_submission_changelist"


@pytest.fixture
def rows(service: WaygridService, settings: object) -> list[Submission]:
    """One submitted, one pending and one failed row."""
    submitted = service.submit_on_commit(SPEC, {"order": 1})
    pending = Submission.objects.create(spec=SPEC.to_dict(), payload={"order": 2})
    failed = Submission.objects.create(
        spec=SPEC.to_dict(), status=Status.FAILED, attempts=10, last_error="ServerError: 503"
    )
    return [submitted, pending, failed]


def action(admin_client: Client, name: str, selected: list[Submission]) -> str:
    """Run an admin action on the selected rows; the page's text after the redirect."""
    response = admin_client.post(
        reverse(CHANGELIST),
        {"action": name, "_selected_action": [row.pk for row in selected]},
        follow=True,
    )
    assert response.status_code == 200
    return response.content.decode()


def test_changelist_filters_and_search(admin_client: Client, rows: list[Submission]) -> None:
    """The list shows every row, filters by status and finds a traversal id."""
    page = admin_client.get(reverse(CHANGELIST))
    assert page.status_code == 200
    assert page.context["cl"].result_count == 3
    failed = admin_client.get(reverse(CHANGELIST), {"status__exact": "failed"})
    assert [r.pk for r in failed.context["cl"].result_list] == [rows[2].pk]
    year = admin_client.get(reverse(CHANGELIST), {"created_at__year": timezone.now().year})
    assert year.context["cl"].result_count == 3
    assert (
        admin_client.get(reverse(CHANGELIST), {"created_at__year": 2001}).context["cl"].result_count
        == 0
    )
    found = admin_client.get(reverse(CHANGELIST), {"q": rows[0].traversal_id})
    assert [r.pk for r in found.context["cl"].result_list] == [rows[0].pk]


def test_detail_shows_spec_payload_and_dag(admin_client: Client, rows: list[Submission]) -> None:
    """The detail page has the indented spec, the payload and the Mermaid chart to draw."""
    url = reverse("admin:waygrid_django_submission_change", args=[rows[0].pk])
    html = admin_client.get(url).content.decode()
    assert "&quot;entryPoints&quot;: [" in html  # indented JSON
    assert "&quot;order&quot;: 1" in html
    assert '<pre class="waygrid-dag">flowchart' in html
    assert reverse("admin:waygrid_django_submission_dag_js") in html
    assert rows[0].traversal_id in html
    assert "https://" not in html.split("waygrid-dag")[1][:2000]  # nothing from a CDN


def test_dag_js_is_the_vendored_mermaid(admin_client: Client, client: Client) -> None:
    """dag.js serves Mermaid from the package to staff users only."""
    url = reverse("admin:waygrid_django_submission_dag_js")
    response = admin_client.get(url)
    assert response["Content-Type"] == "text/javascript"
    assert b"mermaid" in response.content
    assert response.content.rstrip().endswith(b"})();")
    assert client.get(url).status_code == 302  # anonymous: to the login page


def test_add_is_not_offered(admin_client: Client) -> None:
    """Rows come from code, so the admin has no add form."""
    assert admin_client.get(reverse("admin:waygrid_django_submission_add")).status_code == 403


def test_dispatch_now_sends_the_selected_pending_rows(
    admin_client: Client, rows: list[Submission], waygrid_server: DevServer
) -> None:
    """'Dispatch now' sends pending rows at once and skips the others."""
    text = action(admin_client, "dispatch_now", rows)
    assert "Sent 1: 1 submitted, 0 to retry, 0 failed." in text
    assert "Skipped 2" in text
    rows[1].refresh_from_db()
    assert rows[1].status == Status.SUBMITTED
    assert waygrid_server.traversal(rows[1].traversal_id) is not None


def test_retry_failed_requeues_and_sends(
    admin_client: Client, rows: list[Submission], waygrid_server: DevServer
) -> None:
    """'Retry failed' resets the failed rows' attempts and sends them."""
    text = action(admin_client, "retry_failed", rows)
    assert "Retried 1 failed: 1 submitted" in text
    rows[2].refresh_from_db()
    assert (rows[2].status, rows[2].attempts, rows[2].last_error) == (Status.SUBMITTED, 1, "")
    assert len(waygrid_server.traversals()) == 2


def test_dag_of_a_spec_that_cannot_compile(admin_client: Client) -> None:
    """A stored spec the compiler rejects shows the reason instead of a chart."""
    fork = Node.fork("waygrid://system/waystation").join_id("j")
    bad = Spec.single(
        fork.branches(
            {
                "a": Node.standard("waygrid://processor/a"),
                "b": Node.standard("waygrid://processor/b"),
            }
        )
    )
    row = Submission.objects.create(spec=bad.to_dict(), status=Status.FAILED)
    url = reverse("admin:waygrid_django_submission_change", args=[row.pk])
    html = admin_client.get(url).content.decode()
    assert "The spec cannot be drawn" in html


def test_detail_shows_the_simulated_timeline(admin_client: Client) -> None:
    """The stored spec's simulated run, every node succeeding, as simulate() prints it."""
    spec = Spec.single(
        Node.standard("waygrid://processor/charge")
        .label("Charge <card>")
        .on_success(Node.standard("waygrid://destination/webhook").label("notify"))
    )
    row = Submission.objects.create(spec=spec.to_dict(), payload={"order": 3})
    html = admin_client.get(reverse("admin:waygrid_django_submission_change", args=[row.pk]))
    text = html.content.decode()
    assert "Simulated timeline" in text
    expected = simulate(spec).timeline().replace("<", "&lt;").replace(">", "&gt;")
    assert f'<pre class="waygrid-timeline">{expected}</pre>' in text
    assert "Charge &lt;card&gt;  #1  dispatched" in text and "completed after +0ms" in text


@pytest.mark.parametrize(
    "stored",
    [
        {"entryPoints": []},
        ["not", "a", "spec"],
        "text",
        42,
        {"entryPoints": [{"type": "standard", "address": "waygrid://processor/a"}]},
    ],
    ids=["no-entry-points", "list", "string", "number", "missing-fields"],
)
def test_timeline_of_any_stored_spec_never_breaks_the_page(
    admin_client: Client, stored: object
) -> None:
    """Whatever the row holds, the change page answers 200 and says why there is no timeline."""
    row = Submission.objects.create(spec_json=json.dumps(stored), status=Status.FAILED)
    response = admin_client.get(reverse("admin:waygrid_django_submission_change", args=[row.pk]))
    assert response.status_code == 200
    assert "The spec cannot be simulated: " in response.content.decode()


def test_timeline_with_lone_surrogates_is_encodable() -> None:
    """A label or an error holding a lone surrogate is shown escaped, so the page can be sent."""
    model_admin = SubmissionAdmin(Submission, admin.site)
    graph = Spec.single(Node.standard("waygrid://processor/a").label("x")).to_dict()
    graph["entryPoints"][0]["label"] = "lone \ud800"
    shown = model_admin.timeline(Submission(spec_json=json.dumps(graph)))
    assert "lone \\ud800  #1  dispatched" in shown
    graph["entryPoints"][0]["type"] = "odd \udfff"
    shown = model_admin.timeline(Submission(spec_json=json.dumps(graph)))
    assert "cannot be simulated" in shown and "\\udfff" in shown
    shown.encode("utf-8")  # no lone surrogate left


def test_timeline_of_a_spec_that_cannot_compile(admin_client: Client) -> None:
    """A stored spec the compiler rejects: the reason instead of a timeline."""
    fork = Node.fork("waygrid://system/waystation").join_id("j")
    only = fork.branches({"a": Node.standard("waygrid://processor/a")})
    row = Submission.objects.create(spec=Spec.single(only).to_dict(), status=Status.FAILED)
    html = admin_client.get(reverse("admin:waygrid_django_submission_change", args=[row.pk]))
    text = html.content.decode()
    assert "The spec cannot be simulated: " in text and "waygrid-timeline" not in text


@pytest.fixture
def browser() -> Iterator[object]:
    """Headless Debian Chromium through selenium (skipped without it, unless required)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not (chromium and driver_path):
        reason = "needs chromium and chromedriver (apt-get install chromium chromium-driver)"
        if os.environ.get("WAYGRID_TEST_REQUIRE_BROWSER") == "1":
            pytest.fail(f"WAYGRID_TEST_REQUIRE_BROWSER=1 but this machine {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


def test_browser_draws_the_dag(
    browser: object, live_server: LiveServer, rows: list[Submission], admin_user: User
) -> None:
    """In a real browser, the detail page draws the DAG as an SVG with Mermaid."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import WebDriverWait

    assert isinstance(browser, WebDriver)
    client = Client()
    client.force_login(admin_user)
    browser.get(f"{live_server.url}/admin/login/")  # the cookie needs a page on the host
    browser.add_cookie({"name": "sessionid", "value": client.cookies["sessionid"].value})
    url = reverse("admin:waygrid_django_submission_change", args=[rows[0].pk])
    browser.get(live_server.url + url)
    svg = WebDriverWait(browser, 20).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, ".waygrid-dag svg")
    )[0]
    assert svg.get_attribute("id")  # Mermaid names each drawing
    labels = browser.find_element(By.CSS_SELECTOR, ".waygrid-dag").text
    assert "openai" in labels
    assert "webhook" in labels
