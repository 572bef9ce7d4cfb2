"""The management commands: waygrid_validate, waygrid_submit, waygrid_dispatch."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from pytest_django import Settings

from tests.django.helpers import ROOT, free_port
from tests.django.views import SPEC
from waygrid import Condition, Node, Spec
from waygrid.testing import DevServer
from waygrid_django import WaygridService
from waygrid_django.models import Submission


def run(*args: str) -> str:
    """Run a management command; its standard output."""
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    """The test spec in a JSON file."""
    path = tmp_path / "spec.json"
    path.write_text(SPEC.to_json(indent=2), encoding="utf-8")
    return path


def test_validate_a_good_spec(spec_file: Path) -> None:
    """A valid spec prints its node count and dagHash."""
    out = run("waygrid_validate", str(spec_file))
    assert f"valid, 2 nodes, dagHash {SPEC.compile().dag_hash}, 0 warnings" in out


def test_validate_reports_decode_errors_with_the_path(tmp_path: Path) -> None:
    """A decode error names the JSON path."""
    path = tmp_path / "bad.json"
    path.write_text(
        '{"entryPoints": [{"type": "standard", "address": 5}], "repeatPolicy": {"type": "NoRepeat"}}',
        encoding="utf-8",
    )
    with pytest.raises(CommandError, match=r"\$\.entryPoints\[0\]\.address"):
        run("waygrid_validate", str(path))


def test_validate_lists_compiler_issues(tmp_path: Path) -> None:
    """A graph the server would reject fails with every issue."""
    fork = Node.fork("waygrid://system/waystation").join_id("j")
    spec = Spec.single(
        fork.branches(
            {
                "a": Node.standard("waygrid://processor/a"),
                "b": Node.standard("waygrid://processor/b"),
            }
        )
    )
    path = tmp_path / "fork.json"
    path.write_text(spec.to_json(), encoding="utf-8")
    with pytest.raises(CommandError, match="joined_by"):
        run("waygrid_validate", str(path))


def test_validate_strict_turns_warnings_into_errors(tmp_path: Path) -> None:
    """--strict fails on a spec that only has warnings."""
    spec = Spec.single(
        Node.standard("waygrid://processor/openai").on_conditions(
            [Condition.when(Condition.json_exists("/x"), Node.standard("waygrid://destination/a"))]
        )
    )
    path = tmp_path / "warn.json"
    path.write_text(spec.to_json(), encoding="utf-8")
    assert "1 warning" in run("waygrid_validate", str(path))
    with pytest.raises(CommandError, match="unsupported-by-server"):
        run("waygrid_validate", "--strict", str(path))


def test_validate_missing_file() -> None:
    """An unreadable file is a CommandError, not a traceback."""
    with pytest.raises(CommandError, match="cannot read"):
        run("waygrid_validate", "/nonexistent/spec.json")


def test_validate_reads_a_whole_ingest_body(tmp_path: Path) -> None:
    """A {"graph": ..., "payload": ...} file is read as `waygrid validate` reads it."""
    path = tmp_path / "body.json"
    path.write_text(f'{{"graph": {SPEC.to_json()}, "payload": {{"order": 1}}}}', encoding="utf-8")
    out = run("waygrid_validate", str(path))
    assert f"valid, 2 nodes, dagHash {SPEC.compile().dag_hash}, 0 warnings" in out


def test_validate_as_server_reads_like_todays_server(tmp_path: Path) -> None:
    """--as-server refuses what the docs allow but the server does not (a missing policy)."""
    lenient = {"type": "standard", "address": "waygrid://processor/a"}  # no retryPolicy
    path = tmp_path / "lenient.json"
    path.write_text(
        f'{{"entryPoints": [{json.dumps(lenient)}], "repeatPolicy": {{"type": "NoRepeat"}}}}',
        encoding="utf-8",
    )
    assert "valid, 1 nodes" in run("waygrid_validate", str(path))
    with pytest.raises(CommandError, match=r"retryPolicy"):
        run("waygrid_validate", "--as-server", str(path))


def test_submit_as_server_refuses_json_pointer_conditions(
    tmp_path: Path, service: WaygridService, waygrid_server: DevServer
) -> None:
    """waygrid_submit --as-server reads the file like the server: nothing is sent."""
    spec = Spec.single(
        Node.standard("waygrid://processor/openai").on_conditions(
            [Condition.when(Condition.json_exists("/x"), Node.standard("waygrid://destination/a"))]
        )
    )
    path = tmp_path / "pointer.json"
    path.write_text(spec.to_json(), encoding="utf-8")
    with pytest.raises(CommandError, match=r"onConditions\[0\]\.condition"):
        run("waygrid_submit", "--as-server", str(path))
    assert waygrid_server.traversals() == []
    run("waygrid_submit", str(path))
    assert len(waygrid_server.traversals()) == 1


def test_submit_sends_the_payload_of_an_ingest_body(
    tmp_path: Path, service: WaygridService, waygrid_server: DevServer
) -> None:
    """A whole-body file's payload is sent unless --payload replaces it."""
    path = tmp_path / "body.json"
    path.write_text(f'{{"graph": {SPEC.to_json()}, "payload": {{"order": 7}}}}', encoding="utf-8")
    run("waygrid_submit", str(path))
    run("waygrid_submit", str(path), "--payload", "[1]")
    assert [t.payload for t in waygrid_server.traversals()] == [{"order": 7}, [1]]


def test_submit_with_a_payload(
    spec_file: Path, service: WaygridService, waygrid_server: DevServer, tmp_path: Path
) -> None:
    """waygrid_submit sends the file with --payload (JSON or @file) and prints the traversal."""
    out = run("waygrid_submit", str(spec_file), "--payload", '{"order": 42}')
    [traversal] = waygrid_server.traversals()
    assert out.strip() == f"traversal {traversal.traversal_id} (dagHash {traversal.dag_hash})"
    assert traversal.payload == {"order": 42}
    payload = tmp_path / "payload.json"
    payload.write_text("[1, 2]", encoding="utf-8")
    run("waygrid_submit", str(spec_file), "--payload", f"@{payload}")
    assert waygrid_server.traversals()[-1].payload == [1, 2]


def test_submit_reuses_an_idempotency_key(
    spec_file: Path, service: WaygridService, waygrid_server: DevServer
) -> None:
    """The same --idempotency-key twice starts one traversal."""
    first = run("waygrid_submit", str(spec_file), "--idempotency-key", "order-42")
    second = run("waygrid_submit", str(spec_file), "--idempotency-key", "order-42")
    assert first == second
    assert len(waygrid_server.traversals()) == 1


def test_submit_errors_are_command_errors(spec_file: Path, settings: Settings) -> None:
    """A bad payload or an unreachable server gives a CommandError with the reason."""
    with pytest.raises(CommandError, match="not JSON"):
        run("waygrid_submit", str(spec_file), "--payload", "{oops")
    settings.WAYGRID_BASE_URL = f"http://127.0.0.1:{free_port()}"
    settings.WAYGRID_MAX_RETRIES = 0
    with pytest.raises(CommandError, match="ConnectError"):
        run("waygrid_submit", str(spec_file))


@pytest.mark.django_db(transaction=True)
def test_submit_through_the_outbox(
    spec_file: Path, service: WaygridService, waygrid_server: DevServer
) -> None:
    """--outbox stores the row and sends it after commit."""
    out = run("waygrid_submit", str(spec_file), "--outbox", "--reference", "order:7")
    row = Submission.objects.get()
    assert out.strip() == f"submission {row.pk}: submitted, traversal {row.traversal_id}"
    assert row.reference == "order:7"


@pytest.mark.django_db(transaction=True)
def test_submit_through_the_outbox_fails_when_the_row_fails(
    spec_file: Path, settings: Settings
) -> None:
    """--outbox exits non-zero (CommandError) when the server rejects the spec for good."""
    spec = Spec.single(
        Node.standard("waygrid://processor/openai").on_conditions(
            [Condition.when(Condition.json_exists("/x"), Node.standard("waygrid://destination/a"))]
        )
    )
    spec_file.write_text(spec.to_json(), encoding="utf-8")
    with DevServer(strict=True) as strict:  # rejects JSON-pointer conditions, like the server
        settings.WAYGRID_BASE_URL = strict.url
        with pytest.raises(CommandError, match=r"submission \d+: failed \(SpecRejectedError"):
            run("waygrid_submit", str(spec_file), "--outbox")
    assert Submission.objects.get().status == "failed"


@pytest.mark.django_db(transaction=True)
def test_dispatch_once_prints_a_summary(service: WaygridService, settings: Settings) -> None:
    """waygrid_dispatch --once sends what is due and says how it went."""
    settings.WAYGRID_OUTBOX_SEND_ON_COMMIT = False
    for number in range(3):
        Submission.objects.create(spec=SPEC.to_dict(), payload=number)
    out = run("waygrid_dispatch", "--once", "--batch-size", "2", "-v", "2")
    vendor = connection.vendor
    lines = out.splitlines()
    assert lines[0] == (
        f"waygrid_dispatch: database default ({vendor}), batch size 2, lease 300 s, "
        "up to 32 sends at once"
    )
    assert lines[-2:] == [
        "waygrid_dispatch: 3 submitted, 0 to retry, 0 failed",
        "waygrid_dispatch: nothing waiting",
    ]
    # One line per pass; a pass claims up to 2 rows and may record sends of the one before.
    batches = lines[1:-2]
    assert len(batches) >= 2
    assert all(re.fullmatch(r"batch: [123] submitted, 0 to retry, 0 failed", b) for b in batches)
    assert sum(int(b.split()[1]) for b in batches) == 3


@pytest.mark.django_db(transaction=True)
def test_dispatch_once_says_what_still_waits(service: WaygridService, settings: Settings) -> None:
    """--once ends with how many rows wait and when the next one is due."""
    settings.WAYGRID_OUTBOX_SEND_ON_COMMIT = False
    later = timezone.now() + timedelta(seconds=90)
    Submission.objects.create(spec=SPEC, next_attempt_at=later)
    Submission.objects.create(spec=SPEC, next_attempt_at=later + timedelta(seconds=60))
    Submission.objects.create(spec=SPEC, status="sending", next_attempt_at=later)
    last = run("waygrid_dispatch", "--once").splitlines()[-1]
    assert last.startswith(
        "waygrid_dispatch: 3 rows waiting (2 pending, 1 being sent), next due in "
    )
    seconds = int(last.split("next due in ")[1].split()[0])
    assert 85 <= seconds <= 90
    assert later.isoformat(timespec="seconds") in last


@pytest.mark.django_db(transaction=True)
def test_dispatch_loop_until_sigterm(waygrid_server: DevServer) -> None:
    """Without --once the dispatcher polls until SIGTERM, then exits cleanly."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.django.settings",
        "PYTHONPATH": str(ROOT),
        "WAYGRID_TEST_DB_NAME": str(connection.settings_dict["NAME"]),
        "WAYGRID_BASE_URL": waygrid_server.url,
    }
    command = [sys.executable, "-m", "django", "waygrid_dispatch", "--interval", "0.05"]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        for number in range(5):
            Submission.objects.create(spec=SPEC.to_dict(), payload=number)
        deadline = time.monotonic() + 60
        while Submission.objects.filter(status="submitted").count() < 5:
            assert time.monotonic() < deadline, "the dispatcher did not send the rows"
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert out.splitlines()[0].startswith("waygrid_dispatch: database default")
    assert out.splitlines()[1:] == ["waygrid_dispatch: 5 submitted, 0 to retry, 0 failed"]
