"""One document reader (`waygrid.documents.SpecDocument`) behind every command that reads a spec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from waygrid import Node, Spec, SpecDecodeError
from waygrid.cli import main, read_spec_file
from waygrid.documents import SpecDocument
from waygrid.problems import problem_for

SPEC = Spec.single(
    Node.standard("waygrid://origin/http").on_success(Node.standard("waygrid://processor/a"))
)
BAD_GRAPH = {
    "entryPoints": [{"type": "standard", "address": 5}],
    "repeatPolicy": {"type": "NoRepeat"},
}


def write(tmp_path: Path, name: str, document: object) -> str:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return str(path)


def test_a_bare_spec_and_an_ingest_body_read_the_same_spec(tmp_path: Path) -> None:
    """The spec alone, or {"graph": ..., "payload": ...}: the same spec, the body's payload."""
    bare = SpecDocument.from_file(write(tmp_path, "bare.json", SPEC.to_dict()))
    body = {"graph": SPEC.to_dict(), "payload": {"orderId": 42}}
    wrapped = SpecDocument.from_file(write(tmp_path, "body.json", body))
    assert bare == SpecDocument(SPEC)
    assert wrapped == SpecDocument(SPEC, {"orderId": 42}, has_payload=True)
    null = SpecDocument.from_json(json.dumps({"graph": SPEC.to_dict(), "payload": None}))
    assert (null.payload, null.has_payload) == (None, True)


def test_the_server_mode_drops_the_documented_leniencies() -> None:
    """A missing retryPolicy reads in the SDK mode and fails at its path in the server mode."""
    graph = SPEC.to_dict()
    del graph["entryPoints"][0]["retryPolicy"]
    text = json.dumps({"graph": graph})
    assert SpecDocument.from_json(text).spec == SPEC
    with pytest.raises(SpecDecodeError, match=r"\$\.entryPoints\[0\]\.retryPolicy"):
        SpecDocument.from_json(text, mode="server")


def test_errors_name_the_file_and_the_path_inside_the_spec(tmp_path: Path) -> None:
    """Unreadable and non-JSON files are ValueErrors naming the file; a bad spec keeps its path."""
    missing = str(tmp_path / "missing.json")
    with pytest.raises(ValueError, match=f"^{missing}: cannot read: ") as unreadable:
        SpecDocument.from_file(missing)
    assert not isinstance(unreadable.value, SpecDecodeError)
    with pytest.raises(ValueError, match=r"dup\.json: not valid JSON: .*duplicate key") as bad:
        SpecDocument.from_file(write(tmp_path, "dup.json", '{"a": 1, "a": 2}'))
    assert not isinstance(bad.value, SpecDecodeError)
    with pytest.raises(SpecDecodeError) as caught:
        SpecDocument.from_file(write(tmp_path, "bad.json", {"graph": BAD_GRAPH}))
    assert caught.value.path == "$.entryPoints[0].address"


def test_the_cli_read_spec_file_is_the_same_reader(tmp_path: Path) -> None:
    """waygrid.cli.read_spec_file, kept for older code, gives what SpecDocument gives."""
    path = write(tmp_path, "body.json", {"graph": SPEC.to_dict(), "payload": [1]})
    assert read_spec_file(path) == (SPEC, [1])
    with pytest.raises(SpecDecodeError):
        read_spec_file(write(tmp_path, "bad.json", BAD_GRAPH), as_server=True)


def test_a_decode_error_is_one_issue_code_everywhere(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The CLI's commands and the HTTP problem document report a decode error as code 'decode'."""
    path = write(tmp_path, "bad.json", {"graph": BAD_GRAPH, "payload": 1})
    with pytest.raises(SpecDecodeError) as caught:
        SpecDocument.from_file(path)
    issue = caught.value.issue
    assert (issue.severity, issue.code, issue.path) == (
        "error",
        "decode",
        "$.entryPoints[0].address",
    )
    assert problem_for(caught.value).issues == (issue,)
    for command in (["validate"], ["hash"], ["render"], ["submit"], ["simulate"]):
        assert main([*command, path]) != 0
        out, err = capsys.readouterr()
        assert str(issue) in out + err, command


@pytest.mark.parametrize("command", ["validate", "hash", "render", "simulate"])
def test_every_command_reads_an_ingest_body(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    """Each command that reads a spec file accepts a whole ingest body."""
    path = write(tmp_path, "body.json", {"graph": SPEC.to_dict(), "payload": {"a": 1}})
    assert main([command, path]) == 0
    out, _ = capsys.readouterr()
    assert out
