"""One-line reasons: server text made fit for a log line, a CLI stderr line and doctor output.

Relays add their own paragraphs to upstream errors (LiteLLM appends "\\n\\nLiteLLM: model group …
failed …"), apps print tracebacks, and a hostile server can send megabytes or terminal escapes.
Every reason built from such text goes through `one_line` once, where it is made.
"""

from __future__ import annotations

import re

# Longest reason kept; the server text inside one is bounded more tightly where it is read.
REASON_LIMIT = 600
ELLIPSIS = "…"
# C0/C1 controls (escape sequences, NUL, bell), line and paragraph separators, and the bidi
# overrides that can make a terminal line read differently from what it holds.
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def one_line(text: object, limit: int = REASON_LIMIT) -> str:
    """The text with every run of whitespace or control characters made one space, cut to `limit`
    characters (an ellipsis marks the cut)."""
    flat = " ".join(_INVISIBLE.sub(" ", str(text)).split())
    if len(flat) <= limit:
        return flat
    return flat[:max(0, limit - len(ELLIPSIS))].rstrip() + ELLIPSIS
