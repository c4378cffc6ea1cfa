"""One TLS context for every httpx client of the process, its CA bundle read on the first handshake.

httpx builds a fresh `ssl.create_default_context(cafile=certifi.where())` for every client (and
every proxy it mounts), and reading that bundle costs 30–60 ms each time on a small machine. Our
clients share this one context instead. It verifies exactly as httpx's default does (same CA
sources, `SSL_CERT_FILE` / `SSL_CERT_DIR` honoured, same options), but the bundle is read only when
the first TLS connection starts: a run that only talks to http:// servers never reads it at all.
"""

from __future__ import annotations

import os
import ssl
import sys
import threading
from typing import Optional

_lock = threading.Lock()
_shared: Optional["_DeferredCAContext"] = None


def shared_tls_context() -> ssl.SSLContext:
    """The process-wide client context: pass it as `verify=` to every httpx client we build."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = _DeferredCAContext.create()
        return _shared


class _DeferredCAContext(ssl.SSLContext):
    """A client context as `ssl.create_default_context()` makes it, minus the CA loading, which
    happens before the first `wrap_bio` (asyncio, anyio) or `wrap_socket` (sync clients)."""

    _ca_loaded = False

    @classmethod
    def create(cls) -> "_DeferredCAContext":
        context = cls(ssl.PROTOCOL_TLS_CLIENT)
        context.verify_mode = ssl.CERT_REQUIRED
        context.check_hostname = True
        if sys.version_info >= (3, 13):  # what create_default_context adds since 3.13
            context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN | ssl.VERIFY_X509_STRICT
        keylog = os.environ.get("SSLKEYLOGFILE")
        if keylog and hasattr(context, "keylog_filename") and not sys.flags.ignore_environment:
            context.keylog_filename = keylog
        return context

    @property
    def ca_loaded(self) -> bool:
        return self._ca_loaded

    def load_ca(self) -> None:
        """Read the CA certificates once, from where httpx would (its trust_env default)."""
        if self._ca_loaded:
            return
        with _lock:
            if self._ca_loaded:
                return
            if os.environ.get("SSL_CERT_FILE"):
                self.load_verify_locations(cafile=os.environ["SSL_CERT_FILE"])
            elif os.environ.get("SSL_CERT_DIR"):
                self.load_verify_locations(capath=os.environ["SSL_CERT_DIR"])
            else:
                import certifi  # httpx's own dependency and its default bundle

                self.load_verify_locations(cafile=certifi.where())
            self._ca_loaded = True

    def wrap_bio(self, *args, **kwargs):
        self.load_ca()
        return super().wrap_bio(*args, **kwargs)

    def wrap_socket(self, *args, **kwargs):
        self.load_ca()
        return super().wrap_socket(*args, **kwargs)
