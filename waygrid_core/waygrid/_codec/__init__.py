"""The one codec: specs to the server's wire JSON and back, without recursion.

Writing follows the contract's canonical form: ``type`` first, then the server's field order,
optional members omitted when unset, compact separators, ASCII-only output. Reading is as strict
as the server, plus the leniencies the published docs promise (``mode="sdk"``, the default;
``mode="server"`` reads exactly like the server).
"""

from ._read import InfiniteDurationDecodeError, decode_json, decode_spec
from ._tables import EDGES, edge_path, key_segment, render_path, wire_value
from ._write import condition_to_dict, spec_to_dict, spec_to_json

__all__ = [
    "EDGES",
    "InfiniteDurationDecodeError",
    "condition_to_dict",
    "decode_json",
    "decode_spec",
    "edge_path",
    "key_segment",
    "render_path",
    "spec_to_dict",
    "spec_to_json",
    "wire_value",
]
