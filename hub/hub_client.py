"""The huggingface_hub client for the space commands, with timeouts (its default HTTP client has none)."""

from __future__ import annotations

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
_configured = False


def hub_api(token: str = ""):
    """An HfApi for `token` ("" = anonymous) at huggingface_hub's own endpoint (HF_ENDPOINT)."""
    global _configured
    import httpx2
    from huggingface_hub import HfApi, close_session, set_client_factory
    from huggingface_hub.utils._http import default_client_factory

    if not _configured:
        def bounded() -> httpx2.Client:
            client = default_client_factory()  # keeps the library's own request hook
            client.timeout = httpx2.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)
            return client

        set_client_factory(bounded)
        close_session()
        _configured = True
    # token=False: never fall back to a token saved by `hf auth login` behind the user's back.
    return HfApi(token=token or False)


def hub_errors() -> tuple[type[BaseException], ...]:
    """What a failed Hub call raises: the Hub's HTTP errors, and the transport's (httpx2 is not OSError)."""
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    return (HfHubHTTPError, httpx2.HTTPError, OSError)
