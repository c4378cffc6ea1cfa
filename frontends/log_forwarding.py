"""Routing this package's log records (pipeline, backends, …) into a host's own logger, redacted: every
front end whose host has a logger of its own (MaiBot's plugin logger, NoneBot's loguru) uses it."""

from __future__ import annotations

import logging
from typing import Optional

from ..redaction import RedactingFilter

_PACKAGE_ROOT = __name__.rsplit(".", 2)[0]  # "llm2pic", or the host's synthetic package name (<root>.frontends.log_forwarding)


class _Forward(logging.Handler):
    def __init__(self, target: logging.Logger, secrets: Optional[list[str]] = None) -> None:
        super().__init__()
        self.target = target
        # Log text may carry what a server sent: redacted (traceback included) before it leaves.
        self.addFilter(RedactingFilter(secrets if secrets is not None else []))

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_text:  # set, redacted, by the filter
            text += "\n" + record.exc_text
        self.target.log(record.levelno, "%s", text)


def forward_logs(target: logging.Logger, secrets: Optional[list[str]] = None) -> None:
    """Send this package's log records (pipeline, backends, …) to the plugin's logger, which the
    host shows as `[plugin.<id>]`, redacted with `secrets` (a list the caller keeps current).
    Safe to call again after a reload."""
    source = logging.getLogger(_PACKAGE_ROOT)
    source.handlers = [h for h in source.handlers if not isinstance(h, _Forward)] + [_Forward(target, secrets)]
    source.setLevel(logging.INFO)
    source.propagate = False
