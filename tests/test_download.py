"""fetch_image: schemes, SSRF guard hop by hop, byte cap while streaming, sniffing, faults.
No test touches any address but 127.0.0.1: remote-looking hosts are respx mocks and a fake resolver."""

from __future__ import annotations

import asyncio
import base64
import http.server
import io
import threading

import httpx
import pytest
import respx
from PIL import Image

from llm2pic.errors import ConfigurationError, ProtocolError, TransientError
from llm2pic.backends.addresses import is_public_address, origin_of, system_resolver
from llm2pic.errors import UnsafeURLError
from llm2pic.backends.download import fetch_image


def png_bytes(size=(32, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize(size).save(buffer, "PNG")
    return buffer.getvalue()


PNG = png_bytes()
PUBLIC = {"img.example": "93.184.216.34", "cdn.example": "151.101.1.1", "evil.example": "10.0.0.1",
          "meta.example": "169.254.169.254", "six.example": "::ffff:127.0.0.1", "shared.example": "100.100.100.200"}


class FakeResolver:
    """DNS without the network: a fixed table, and a record of what was asked."""

    def __init__(self, table=PUBLIC):
        self.table = table
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host not in self.table:
            raise OSError(f"no such host {host}")
        return [self.table[host]]


@pytest.fixture
async def client():
    async with httpx.AsyncClient() as client:
        yield client


async def fetch(url, client, **kwargs):
    kwargs.setdefault("resolver", FakeResolver())
    return await fetch_image(url, client=client, **kwargs)


# --- the happy path and sniffing -----------------------------------------------------------


@respx.mock
async def test_downloads_and_sniffs_the_type_from_bytes_not_headers(client):
    respx.get("https://img.example/a.png").respond(200, content=PNG, headers={"content-type": "text/plain"})
    fetched = await fetch("https://img.example/a.png", client)
    assert fetched.data == PNG and fetched.mime == "image/png" and fetched.url == "https://img.example/a.png"


@respx.mock
async def test_html_with_an_image_content_type_is_refused(client):
    respx.get("https://img.example/a.png").respond(200, content=b"<html>login</html>",
                                                    headers={"content-type": "image/png"})
    with pytest.raises(ProtocolError, match="not a PNG/JPEG/WebP/GIF"):
        await fetch("https://img.example/a.png", client)


@respx.mock
async def test_byte_cap_stops_the_stream_instead_of_reading_it_all(client):
    served = []

    async def body():
        for index in range(1000):
            served.append(index)
            yield PNG[:8] + b"\x00" * 1016 if index == 0 else b"\x00" * 1024

    respx.get("https://img.example/big.png").mock(return_value=httpx.Response(200, content=body()))
    with pytest.raises(ProtocolError, match="exceeded 10240 bytes"):
        await fetch("https://img.example/big.png", client, max_bytes=10 * 1024)
    assert len(served) < 20


@respx.mock
async def test_declared_oversize_is_refused_before_reading(client):
    respx.get("https://img.example/big.png").respond(200, content=PNG, headers={"content-length": "99999999"})
    with pytest.raises(ProtocolError, match="refused"):
        await fetch("https://img.example/big.png", client, max_bytes=1024 * 1024)


# --- SSRF ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://img.example/a.png", "gopher://x/", "javascript:1"])
async def test_only_http_and_https(url, client):
    with pytest.raises(UnsafeURLError, match="only http"):
        await fetch(url, client)


@respx.mock
@pytest.mark.parametrize("host", ["evil.example", "meta.example", "six.example", "shared.example"])
async def test_host_resolving_to_a_non_public_address_is_refused(host, client):
    route = respx.get(f"http://{host}/a.png").respond(200, content=PNG)
    with pytest.raises(UnsafeURLError, match="non-public address"):
        await fetch(f"http://{host}/a.png", client)
    assert not route.called


@respx.mock
@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/a.png", "http://[::1]/a.png", "http://169.254.169.254/x",
                                 "http://192.168.1.10/a.png", "http://0.0.0.0/a.png", "http://[fd00:ec2::254]/"])
async def test_ip_literals_are_checked_without_dns(url, client):
    resolver = FakeResolver()
    with pytest.raises(UnsafeURLError):
        await fetch(url, client, resolver=resolver)
    assert resolver.asked == []


@respx.mock
async def test_redirect_into_a_private_address_is_refused_hop_by_hop(client):
    respx.get("https://img.example/a.png").respond(302, headers={"location": "http://evil.example/internal"})
    internal = respx.get("http://evil.example/internal").respond(200, content=PNG)
    with pytest.raises(UnsafeURLError, match="10.0.0.1"):
        await fetch("https://img.example/a.png", client)
    assert not internal.called


@respx.mock
async def test_redirects_are_followed_up_to_the_limit(client):
    respx.get("https://img.example/0").respond(301, headers={"location": "/1"})
    respx.get("https://img.example/1").respond(302, headers={"location": "https://cdn.example/2"})
    respx.get("https://cdn.example/2").respond(200, content=PNG)
    fetched = await fetch("https://img.example/0", client, max_redirects=2)
    assert fetched.url == "https://cdn.example/2"
    with pytest.raises(UnsafeURLError, match="more than 1 redirects"):
        await fetch("https://img.example/0", client, max_redirects=1)


@respx.mock
async def test_redirect_loop_is_bounded(client):
    route = respx.get("https://img.example/loop").respond(302, headers={"location": "/loop"})
    with pytest.raises(UnsafeURLError, match="redirects"):
        await fetch("https://img.example/loop", client)
    assert route.call_count == 4


@respx.mock
async def test_configured_backend_origin_may_be_private(client):
    respx.get("http://evil.example:7860/file=a.png").respond(200, content=PNG)
    fetched = await fetch("http://evil.example:7860/file=a.png", client,
                          allowed_origins=["http://EVIL.example:7860/some/base"])
    assert fetched.data == PNG
    with pytest.raises(UnsafeURLError):  # same host, other port: another origin
        await fetch("http://evil.example:7861/file=a.png", client, allowed_origins=["http://evil.example:7860"])


@respx.mock
async def test_credentials_only_reach_trusted_origins(client):
    seen = {}

    def record(request):
        seen[request.url.host] = {k: request.headers.get(k) for k in ("authorization", "x-hf-authorization")}
        return httpx.Response(200, content=PNG)

    respx.get(host="img.example").mock(side_effect=record)
    respx.get(host="cdn.example").mock(side_effect=record)
    async with httpx.AsyncClient(headers={"authorization": "Bearer sk-secret", "x-hf-authorization": "hf_x"}) as c:
        await fetch("https://img.example/a.png", c, credential_origins=["https://img.example"])
        await fetch("https://cdn.example/a.png", c, credential_origins=["https://img.example"])
    assert seen["img.example"] == {"authorization": "Bearer sk-secret", "x-hf-authorization": "hf_x"}
    assert seen["cdn.example"] == {"authorization": None, "x-hf-authorization": None}


# --- faults ------------------------------------------------------------------------------------


@respx.mock
@pytest.mark.parametrize("status, error", [(500, TransientError), (503, TransientError), (429, TransientError),
                                           (404, ConfigurationError), (403, ConfigurationError),
                                           (418, ProtocolError)])
async def test_http_status_maps_to_the_taxonomy(status, error, client):
    respx.get("https://img.example/a.png").respond(status)
    with pytest.raises(error):
        await fetch("https://img.example/a.png", client)


@respx.mock
async def test_network_faults_are_transient(client):
    respx.get("https://img.example/t").mock(side_effect=httpx.ReadTimeout("slow"))
    respx.get("https://img.example/c").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(TransientError, match="timed out"):
        await fetch("https://img.example/t", client)
    with pytest.raises(TransientError, match="ConnectError"):
        await fetch("https://img.example/c", client)


async def test_unresolvable_host_is_transient(client):
    with pytest.raises(TransientError, match="cannot resolve"):
        await fetch("https://nowhere.example/a.png", client)


@respx.mock
async def test_total_timeout(client):
    async def slow(request):
        await asyncio.sleep(5)
        return httpx.Response(200, content=PNG)

    respx.get("https://img.example/slow").mock(side_effect=slow)
    with pytest.raises(TransientError, match="longer than 0.2s"):
        await fetch("https://img.example/slow", client, total_timeout=0.2)


# --- data: URLs --------------------------------------------------------------------------------


async def test_data_url_from_gradio_3(client):
    url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    fetched = await fetch(url, client)
    assert fetched.data == PNG and fetched.mime == "image/png"


@pytest.mark.parametrize("url, fragment", [
    ("data:text/html;base64,PGh0bWw+", "not an image"),
    ("data:image/png;base64,@@@@", "not valid base64"),
    ("data:image/png;base64," + base64.b64encode(b"GIF? no").decode(), "does not hold"),
    ("data:image/png;base64," + "A" * 40_000, "larger than"),
])
async def test_bad_data_urls(url, fragment, client):
    with pytest.raises(ProtocolError, match=fragment):
        await fetch(url, client, max_bytes=20_000)


# --- a real server on loopback ----------------------------------------------------------------


@pytest.fixture
def loopback_server():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/hop":
                self.send_response(302)
                self.send_header("Location", "/file=out.png")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_self_hosted_webui_on_loopback_is_allowed_when_configured(loopback_server, client):
    fetched = await fetch_image(f"{loopback_server}/hop", client=client, allowed_origins=[loopback_server])
    assert fetched.data == PNG and fetched.url.endswith("/file=out.png")
    with pytest.raises(UnsafeURLError):
        await fetch_image(f"{loopback_server}/hop", client=client)


async def test_system_resolver_uses_the_loop_and_localhost_is_refused(client):
    assert "127.0.0.1" in await system_resolver("localhost", 80) or "::1" in await system_resolver("localhost", 80)
    with pytest.raises(UnsafeURLError):
        await fetch_image("http://localhost:9/a.png", client=client)


def test_address_helpers():
    assert is_public_address("93.184.216.34") and is_public_address("2606:4700::1111")
    for address in ("127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.0.1", "169.254.169.254", "100.64.0.1",
                    "::1", "fe80::1", "fc00::1", "::ffff:10.0.0.1", "224.0.0.1", "0.0.0.0", "not-an-ip"):
        assert not is_public_address(address), address
    assert origin_of("HTTPS://Img.Example/x") == ("https", "img.example", 443)
    assert origin_of("ftp://x/") is None


async def test_a_name_that_resolves_differently_when_connecting_is_refused(loopback_server, client, monkeypatch):
    """DNS rebinding: our lookup says public, httpx's own lookup at connect time says loopback. The
    address the connection really reached is checked before any byte of the answer is read."""
    for variable in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    port = loopback_server.rsplit(":", 1)[1]
    rebinding = FakeResolver({"localhost": "93.184.216.34"})  # the first answer: a public address
    with pytest.raises(UnsafeURLError, match="connection went to non-public address"):
        await fetch_image(f"http://localhost:{port}/a.png", client=client, resolver=rebinding)
    assert rebinding.asked == ["localhost"]
    # the backend's own origin stays allowed, whatever it resolves to
    fetched = await fetch_image(f"http://localhost:{port}/a.png", client=client, resolver=rebinding,
                                allowed_origins=[f"http://localhost:{port}"])
    assert fetched.data == PNG
