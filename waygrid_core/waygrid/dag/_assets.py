"""The vendored Mermaid bundle that pages drawing DAGs serve (works offline)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

__all__ = ["MERMAID_VERSION", "mermaid_script"]

MERMAID_VERSION = "11.17.2"
"""The version of the vendored ``mermaid.min.js``."""


@lru_cache(maxsize=1)
def mermaid_script() -> bytes:
    """The Mermaid UMD bundle (``mermaid.min.js``, MIT licensed) shipped inside the package.

    Serve it as ``text/javascript`` and load it with a ``<script>`` tag; it defines the global
    ``mermaid``. The bytes are read once and cached.

    Example:
        >>> mermaid_script()[:12]
        b'"use strict"'
    """
    return (resources.files("waygrid.dag") / "static" / "mermaid.min.js").read_bytes()
