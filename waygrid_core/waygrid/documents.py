"""Spec documents: a bare spec or a whole ingest body, read one way by every command."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ._codec import decode_spec
from ._gc import gc_paused
from ._json import json_reason, loads_strict
from .errors import SpecDecodeError

if TYPE_CHECKING:
    from .spec import Spec
    from .types import JsonValue

__all__ = ["ReadMode", "SpecDocument"]

ReadMode = Literal["sdk", "server"]
"""``"sdk"`` reads what the published docs promise; ``"server"`` exactly what the server reads."""


@dataclass(frozen=True, slots=True)
class SpecDocument:
    """A spec read from a document, with the payload when the document was an ingest body.

    A document is either the spec itself (the value of ``"graph"``) or a whole request body
    ``{"graph": <spec>, "payload": <payload>}``: an object with ``"graph"`` and without
    ``"entryPoints"``. Other members of the body are ignored.

    Example:
        >>> doc = SpecDocument.from_json(
        ...     '{"graph": {"entryPoints": [{"type": "standard", "address": "waygrid://p/a"}],'
        ...     ' "repeatPolicy": {"type": "NoRepeat"}}, "payload": {"orderId": 42}}'
        ... )
        >>> doc.payload, doc.has_payload
        ({'orderId': 42}, True)
    """

    spec: Spec
    """The spec."""
    payload: JsonValue = None
    """The body's ``"payload"`` (None when the document has none)."""
    has_payload: bool = False
    """Whether the document had a ``"payload"`` member (it may be ``null``)."""

    @staticmethod
    def from_json(
        text: str | bytes, *, mode: ReadMode = "sdk", name: str = "the document"
    ) -> SpecDocument:
        """Read a document from JSON text.

        Args:
            text: The JSON text of a spec or of a whole ingest body.
            mode: ``"sdk"`` (the default) accepts what the published docs promise: missing
                policies, ``times`` for ``time``, JSON-pointer conditions. ``"server"`` reads
                exactly like today's server (the CLI's and ``manage.py``'s ``--as-server``).
            name: How error messages name the document (a file name, say).

        Raises:
            ValueError: The text is not JSON (or has duplicate keys); the message starts with
                ``name``. A plain ``ValueError``, not a `SpecDecodeError`.
            SpecDecodeError: The JSON is not a spec, with the path of the offending value.
        """
        try:
            document = loads_strict(text)
        except SpecDecodeError as exc:
            reason = json_reason(exc)
            raise ValueError(f"{name}: not valid JSON: {reason}") from None
        graph, payload, has_payload = document, None, False
        if isinstance(document, dict) and "graph" in document and "entryPoints" not in document:
            graph, payload = document["graph"], document.get("payload")
            has_payload = "payload" in document
        with gc_paused():
            spec = decode_spec(graph, mode=mode, json_conditions=mode == "sdk", acyclic=True)
        return SpecDocument(spec, payload, has_payload)

    @staticmethod
    def from_file(path: str, *, mode: ReadMode = "sdk") -> SpecDocument:
        """Read a document from a file; ``-`` reads the standard input. See `from_json`.

        Raises:
            ValueError: The file cannot be read or is not JSON; the message starts with ``path``.
            SpecDecodeError: The JSON is not a spec, with the path of the offending value.
        """
        return SpecDocument.from_json(_read_bytes(path), mode=mode, name=path)


def _read_bytes(path: str) -> bytes:
    """The bytes of ``path``, or of the standard input for ``-``.

    Raises:
        ValueError: The file cannot be read; the message names it and says why.
    """
    if path == "-":
        try:
            return sys.stdin.buffer.read()
        except (AttributeError, OSError, ValueError) as exc:  # no stdin, or a closed one
            raise ValueError(f"cannot read the standard input: {exc}") from None
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc.strerror or exc}") from None
