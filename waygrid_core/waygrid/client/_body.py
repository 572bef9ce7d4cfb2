"""The ingest body of a submit: ``{"graph": <spec>, "payload": <payload>}`` as bytes."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from waygrid.errors import SpecError

if TYPE_CHECKING:
    from waygrid.spec import Spec

    from .result import JsonPayload

__all__ = ["ingest_body"]

logger = logging.getLogger("waygrid")
_SERVER_REJECTS = frozenset({"unsupported-by-server"})
"""Warning codes that mean today's server will reject the spec."""
_PAYLOAD_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def ingest_body(spec: Spec, payload: JsonPayload, validate: bool) -> bytes:
    """The request body; with ``validate``, the spec's warnings are logged first.

    Raises:
        TypeError: ``spec`` is not a spec.
        SpecValidationError: ``validate`` is on and the spec has errors.
        SpecError: The spec holds text that is not Unicode, or the payload is not JSON.
    """
    if not callable(getattr(spec, "to_json", None)):
        raise TypeError(f"submit() needs a waygrid.Spec, got {type(spec).__name__}")
    if validate:  # the spec computes its warnings and its JSON once (it is immutable)
        for issue in spec.validate():
            # A warning that today's server will reject the spec is worth a WARNING; the
            # others describe documented limits or runtime behaviour.
            level = logging.WARNING if issue.code in _SERVER_REJECTS else logging.INFO
            logger.log(level, "spec validation: %s", issue)
    try:
        graph = spec.to_json().encode("utf-8")
    except UnicodeEncodeError:
        raise SpecError("the spec contains text that is not valid Unicode") from None
    prefix = b'{"graph":' + graph
    if payload is None:
        return prefix + b"}"
    try:
        encoded = _PAYLOAD_ENCODER.encode(payload)
    except (TypeError, ValueError, RecursionError) as exc:
        raise SpecError(f"payload is not JSON-serializable: {exc}") from None
    return b"".join((prefix, b',"payload":', encoded.encode("ascii"), b"}"))
