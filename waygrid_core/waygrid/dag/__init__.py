"""Compilation as the server does it: node ids, edges, dagHash, validation, Mermaid."""

from ._assets import MERMAID_VERSION, mermaid_script
from ._compiler import MAX_DEPTH, CompiledDag, CompiledEdge, CompiledNode, compile_spec
from ._mermaid import to_mermaid
from ._validate import validate_spec
from ._views import dag_to_dict

__all__ = [
    "MAX_DEPTH",
    "MERMAID_VERSION",
    "CompiledDag",
    "CompiledEdge",
    "CompiledNode",
    "compile_spec",
    "dag_to_dict",
    "mermaid_script",
    "to_mermaid",
    "validate_spec",
]
