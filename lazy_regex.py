"""Regular expressions compiled on first use rather than at import.

A few of our patterns (a CJK character class, long alternations with IGNORECASE) take milliseconds
each to compile, which every start of the CLI and the plugin paid even when they were never used.
"""

from __future__ import annotations

import re
from typing import Any, Optional


class LazyPattern:
    """Stands in for `re.compile(pattern, flags)`: the same methods, compiled on the first call."""

    __slots__ = ("_source", "_flags", "_compiled")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._source = pattern
        self._flags = flags
        self._compiled: Optional[re.Pattern] = None

    @property
    def compiled(self) -> re.Pattern:
        if self._compiled is None:
            self._compiled = re.compile(self._source, self._flags)
        return self._compiled

    def __getattr__(self, name: str) -> Any:  # search, match, sub, finditer, pattern, flags …
        return getattr(self.compiled, name)

    def __repr__(self) -> str:
        return f"LazyPattern({self._source!r}, {self._flags!r})"


def lazy_compile(pattern: str, flags: int = 0) -> LazyPattern:
    return LazyPattern(pattern, flags)
