"""The plugin's one error type: what went wrong, with which file, and how to fix it."""
from __future__ import annotations

from typing import Optional


class PluginError(Exception):
    """A problem the user can fix; ``str()`` is the one log line to show them."""

    def __init__(self, what: str, path: Optional[str] = None, fix: Optional[str] = None) -> None:
        self.what, self.path, self.fix = what, path, fix
        parts = [what]
        if path:
            parts.append("file: %s" % path)
        if fix:
            parts.append("fix: %s" % fix)
        super().__init__("; ".join(parts))
