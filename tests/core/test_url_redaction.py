"""Credentials in a base URL never show: redact_url, the client, the CLI and WaygridSettings."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from waygrid import Node, Spec, WaygridConnectionError
from waygrid.cli import main
from waygrid.client import WaygridClient, redact_url

SPEC = Spec.single(Node.standard("waygrid://processor/a"))
USER, PASSWORD = "deploy-bot", "hunter2-Secret"


def free_url(userinfo: str = f"{USER}:{PASSWORD}@") -> str:
    """A loopback URL with credentials and nothing listening on its port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://{userinfo}127.0.0.1:{port}"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pass@api.waygrid.io/x", "https://api.waygrid.io/x"),
        ("https://user:p@ss@api.waygrid.io:8443/gw?a=b@c", "https://api.waygrid.io:8443/gw?a=b@c"),
        ("http://token@127.0.0.1:1337", "http://127.0.0.1:1337"),
        ("http://:only-password@h", "http://h"),
        ("HTTPS://x%40y:p%3A@h/", "HTTPS://h/"),
        ("user:pass@host:1337", "host:1337"),
        ("https://api.waygrid.io/a@b", "https://api.waygrid.io/a@b"),
        ("https://api.waygrid.io?next=a@b", "https://api.waygrid.io?next=a@b"),
        ("http://[::1]:1337/", "http://[::1]:1337/"),
        ("not a url", "not a url"),
        ("", ""),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    """Userinfo goes, everything else stays as written; any text is accepted."""
    assert redact_url(url) == shown


def test_redact_url_accepts_any_object() -> None:
    """Non-text values are shown as str() would, never raising."""
    assert redact_url(None) == "None"
    assert redact_url(1337) == "1337"


@pytest.mark.anyio
async def test_client_errors_and_repr_hide_the_credentials() -> None:
    """Neither the user nor the password shows in the client's repr, base_url or errors."""
    client = WaygridClient(free_url(), max_retries=0)
    with pytest.raises(WaygridConnectionError) as caught:
        await client.submit(SPEC)
    await client.aclose()
    for text in (repr(client), client.base_url, str(caught.value)):
        assert PASSWORD not in text
        assert USER not in text


def test_cli_cannot_reach_error_hides_the_credentials(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The CLI's "cannot reach" message shows the address without user and password."""
    path = tmp_path / "spec.json"
    path.write_text(SPEC.to_json())
    url = free_url()
    status = main(["submit", str(path), "--base-url", url, "--max-retries", "0"])
    out, err = capsys.readouterr()
    assert status == 1
    assert f"cannot reach the Waygrid server at {redact_url(url)}" in err
    assert PASSWORD not in out + err
    assert USER not in out + err
    assert json.dumps(PASSWORD) not in err
