"""Bad option values and environment settings: one line naming the option, exit status 2."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from waygrid import Node, Spec
from waygrid.cli import main

SPEC = Spec.single(Node.standard("waygrid://processor/a")).to_json()


def _usage_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    (line,) = err.splitlines()
    return line


@pytest.fixture
def spec_file(tmp_path: Path) -> str:
    path = tmp_path / "spec.json"
    path.write_text(SPEC)
    return str(path)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["dev", "--port", "99999"], "argument --port: must be a TCP port from 0 to 65535"),
        (["dev", "--port", "-1"], "argument --port: must be a TCP port from 0 to 65535"),
        (["dev", "--port", "1e3"], "argument --port: must be an integer"),
        (["dev", "--port", "9" * 5000], "argument --port: must be an integer"),
        (["dev", "--max-body-bytes", "-5"], "argument --max-body-bytes: must be an integer >= 1"),
        (["dev", "--api-key", "a b"], "argument --api-key: the key must be non-empty printable"),
        (["submit", "F", "--base-url", "localhost:1337"], "argument --base-url: must be an abs"),
        (["submit", "F", "--base-url", "ftp://x"], "argument --base-url: must be an absolute"),
        (["submit", "F", "--max-retries", "-1"], "argument --max-retries: must be an integer >= 0"),
        (["submit", "F", "--timeout", "0"], "argument --timeout: must be a number of seconds"),
        (["submit", "F", "--timeout", "-1"], "argument --timeout: must be a number of seconds"),
        (["submit", "F", "--timeout", "nan"], "argument --timeout: must be a number of seconds"),
        (["submit", "F", "--timeout", "1e300"], "argument --timeout: must be a number of seconds"),
        (["submit", "F", "--idempotency-key", "a\nb"], "argument --idempotency-key: must be"),
    ],
)
def test_bad_option_values(
    capsys: pytest.CaptureFixture[str], spec_file: str, argv: list[str], expected: str
) -> None:
    """Each bad value is one error line that names the option; exit status 2."""
    argv = [spec_file if arg == "F" else arg for arg in argv]
    line = _usage_error(capsys, argv)
    assert expected in line, line


def test_the_api_key_is_never_repeated(capsys: pytest.CaptureFixture[str], spec_file: str) -> None:
    """A refused key is not echoed back (it may be a real secret with a typo)."""
    line = _usage_error(capsys, ["submit", spec_file, "--api-key", "sk-secret value"])
    assert "sk-secret" not in line


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("WAYGRID_BASE_URL", "localhost:1337", "environment variable WAYGRID_BASE_URL: must be"),
        ("WAYGRID_API_KEY", "two words", "environment variable WAYGRID_API_KEY: the key must"),
    ],
)
def test_bad_environment_settings(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    spec_file: str,
    name: str,
    value: str,
    expected: str,
) -> None:
    """The environment stands in for an option and is checked like it, before any work."""
    monkeypatch.setenv(name, value)
    line = _usage_error(capsys, ["submit", spec_file])
    assert expected in line, line
    assert "two words" not in line


def test_dev_db_that_cannot_be_used(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A missing directory, a directory or a file that is not SQLite: one line about --db."""
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a database\n" * 100)
    for path in [tmp_path / "missing" / "x.db", tmp_path, text_file]:
        line = _usage_error(capsys, ["dev", "--db", str(path), "--port", "0"])
        assert "argument --db: cannot use" in line, line


def test_dev_db_with_a_nul_byte(capsys: pytest.CaptureFixture[str]) -> None:
    """A path no file system accepts is a usage error too."""
    line = _usage_error(capsys, ["dev", "--db", "a\x00b", "--port", "0"])
    assert "argument --db" in line


def test_a_valid_db_still_works(tmp_path: Path) -> None:
    """The check does not refuse a good SQLite file (made here, read by the dev server)."""
    path = tmp_path / "dev.db"
    sqlite3.connect(path).close()
    from waygrid.devserver import create_app

    create_app(db_path=path)


def test_as_a_program_no_traceback(tmp_path: Path) -> None:
    """The installed command prints the same single line, with no traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "waygrid.cli", "dev", "--port", "99999"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr


_OPTIONS = {
    "dev": ["--port", "--max-body-bytes", "--api-key", "--host", "--log-level"],
    "submit": ["--base-url", "--max-retries", "--timeout", "--idempotency-key", "--api-key"],
    "validate": ["--strict", "--as-server"],
    "render": ["--format", "--as-server"],
    "hash": ["--as-server"],
}
_values = st.one_of(
    st.text(max_size=30),
    st.integers().map(str),
    st.floats().map(str),
    st.sampled_from(["", "-", "0", "-0", "1e309", "inf", "nan", "http://", "https://[::1", "\x00"]),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(sorted(_OPTIONS)),
    st.lists(st.tuples(st.integers(0, 4), _values), max_size=3),
    st.data(),
)
def test_fuzzed_arguments_never_crash(
    capsys: pytest.CaptureFixture[str],
    spec_file: str,
    command: str,
    options: list[tuple[int, str]],
    data: st.DataObject,
) -> None:
    """Arbitrary option values give exit status 0, 1 or 2 and a one-line error, never a traceback.

    Nothing can start a server or reach one: `dev` always ends with a port out of range, and
    `submit` with a closed loopback port, no retries and a short timeout.
    """
    names = _OPTIONS[command]
    argv = [command]
    if command != "dev":
        argv.append(data.draw(st.sampled_from(["/nonexistent/spec.json", spec_file, "-"])))
    for index, value in options:
        name = names[index % len(names)]
        argv.append(name)
        if name not in ("--strict", "--as-server"):
            argv.append(value)
    if command == "dev":
        argv += ["--port", "99999"]  # last one wins: dev never starts listening
    if command == "submit":
        argv += ["--base-url", "http://127.0.0.1:9", "--max-retries", "0", "--timeout", "1"]
    status: int | str | None
    try:
        status = main(argv)
    except SystemExit as exited:
        status = exited.code
    out, err = capsys.readouterr()
    assert status in (0, 1, 2), (argv, status, err)
    assert "Traceback" not in out + err
    if status == 2:
        assert len(err.splitlines()) == 1, err
    json.dumps(err)  # printable as one JSON string: no surrogates


@pytest.mark.parametrize("host", ["x" * 300, "a\x00b", "\u00e9" * 70])
def test_dev_host_that_cannot_be_used(capsys: pytest.CaptureFixture[str], host: str) -> None:
    """A host that cannot even be looked up is one line about --host (no DNS query is made)."""
    line = _usage_error(capsys, ["dev", "--host", host, "--port", "0"])
    assert "argument --host: cannot listen on" in line, line


def test_validate_a_duration_with_thousands_of_digits(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Issue 9: `waygrid validate` on a 5,000-digit duration names the path, no traceback."""
    document = json.loads(SPEC)
    document["entryPoints"][0]["deliveryStrategy"] = {
        "type": "ScheduleAfter",
        "delay": "9" * 5000 + "s",
    }
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(document))
    for extra in ([], ["--as-server"]):
        status = main(["validate", str(path), *extra])
        out, err = capsys.readouterr()
        assert status == 1
        assert "Traceback" not in out + err
        assert "$.entryPoints[0].deliveryStrategy.delay" in out
        assert "out of the server's range" in out
        assert len(out) < 1000
