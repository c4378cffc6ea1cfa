"""Imaging errors. They extend the backend taxonomy (backends/base.py) rather than starting a second
one: a bad or unsafe image from a backend is that backend's ProtocolError, so callers that catch
BackendError already handle them, and the fallback chain moves on to the next backend."""

from __future__ import annotations

from ..backends.base import ProtocolError


class ImagingError(ProtocolError):
    """The image cannot be made ready for chat: corrupt or truncated, too many pixels, cannot fit the budget."""

    default_user_message = "图片处理失败了，稍后再试试吧。"


class UnsafeURLError(ProtocolError):
    """A download was refused: not http(s), or the host is loopback/private/link-local/metadata, or too many redirects."""

    default_user_message = "图片地址不安全，已拒绝下载。"
