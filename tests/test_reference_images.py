"""Reference images from the chat: every source form, the caps, the real-format check, first frame of
an animation, EXIF orientation, metadata stripped, downscaling, and safe downloads (no private
address, no URL secret in an error or the log). Remote-looking hosts are respx mocks behind a fake
resolver; nothing leaves 127.0.0.1."""

from __future__ import annotations

import base64
import io
import logging
import struct
import threading
import zlib

import httpx
import pytest
import respx
from PIL import Image, PngImagePlugin

from llm2pic.errors import ImagingError, ReferenceImageError
from llm2pic.imaging.reference import (MAX_REFERENCE_SIDE, ReferenceLimits, clean_reference, load_reference,
                                       load_references)
from llm2pic.imaging.workers import ImageWorkers
from llm2pic.backends.reference_fetch import reference_fetcher

HOSTS = {"img.example": "93.184.216.34", "evil.example": "10.0.0.1", "meta.example": "169.254.169.254"}


async def resolver(host: str, port: int) -> list[str]:
    if host not in HOSTS:
        raise OSError(f"no such host {host}")
    return [HOSTS[host]]


def encoded(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def photo(size=(64, 32), color=(200, 30, 30)) -> Image.Image:
    image = Image.new("RGB", size, color)
    image.paste((20, 20, 220), (0, 0, size[0] // 4, size[1]))  # a blue band on the left: shows rotation
    return image


def jpeg_with_everything() -> bytes:
    """A 64x32 JPEG whose EXIF says "rotate 90° clockwise" (orientation 6) and carries GPS and a camera
    name, with an ICC profile and a comment."""
    from PIL import ImageCms

    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 0.0)}  # GPS IFD
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return encoded(photo(), "JPEG", exif=exif, icc_profile=icc, comment=b"private note")


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height and whose data is a few bytes: a decompression bomb's shape."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + \
        chunk(b"IEND", b"")


# --- cleaning -------------------------------------------------------------------------------------


async def test_exif_orientation_is_applied_and_all_metadata_is_gone():
    source = jpeg_with_everything()
    assert b"SecretCam" in source and b"private note" in source
    cleaned = await load_reference(source)
    assert cleaned.mime == "image/jpeg" and (cleaned.width, cleaned.height) == (32, 64)  # turned upright
    assert b"SecretCam" not in cleaned.data and b"private note" not in cleaned.data
    out = Image.open(io.BytesIO(cleaned.data))
    assert out.format == "JPEG" and not out.getexif() and "icc_profile" not in out.info and "exif" not in out.info
    # The blue band that was on the left is at the top after a 90° clockwise turn.
    top, bottom = out.getpixel((16, 2)), out.getpixel((16, 60))
    assert top[2] > 150 and bottom[0] > 150


async def test_transparency_keeps_png_and_text_chunks_are_dropped():
    image = Image.new("RGBA", (40, 40), (0, 255, 0, 0))
    image.paste((255, 0, 0, 255), (10, 10, 30, 30))
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "where I live: secret street 1")
    info.add_text("parameters", "a prompt with seed 42")
    source = encoded(image, "PNG", pnginfo=info)
    cleaned = await load_reference(source)
    out = Image.open(io.BytesIO(cleaned.data))
    assert cleaned.mime == "image/png" and out.mode == "RGBA" and out.getpixel((0, 0))[3] == 0
    assert b"secret street" not in cleaned.data and b"seed 42" not in cleaned.data and not out.text


async def test_opaque_rgba_and_palette_and_grey_become_plain_jpeg():
    for image in (Image.new("RGBA", (20, 20), (1, 2, 3, 255)), Image.new("P", (20, 20), 3),
                  Image.new("L", (20, 20), 128), Image.new("CMYK", (20, 20), (0, 100, 100, 0)),
                  Image.new("I;16", (20, 20), 30000)):
        source = encoded(image, "JPEG" if image.mode == "CMYK" else "PNG")
        cleaned = await load_reference(source)
        assert cleaned.mime == "image/jpeg", image.mode
        assert Image.open(io.BytesIO(cleaned.data)).mode == "RGB"


async def test_an_animation_gives_its_first_frame_only():
    frames = [Image.new("RGB", (30, 30), color) for color in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    for fmt in ("GIF", "WEBP"):
        source = encoded(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
        assert getattr(Image.open(io.BytesIO(source)), "n_frames", 1) == 3
        cleaned = await load_reference(source)
        out = Image.open(io.BytesIO(cleaned.data))
        assert getattr(out, "n_frames", 1) == 1 and out.format == "JPEG"
        red, green, blue = out.convert("RGB").getpixel((15, 15))
        assert red > 200 and green < 60 and blue < 60, fmt


async def test_large_images_are_downscaled_to_the_max_side_keeping_the_shape():
    cleaned = await load_reference(encoded(photo((3000, 1000)), "PNG"))
    assert (cleaned.width, cleaned.height) == (MAX_REFERENCE_SIDE, 683)
    smaller = await load_reference(encoded(photo((3000, 1000)), "PNG"), limits=ReferenceLimits(max_side=300))
    assert (smaller.width, smaller.height) == (300, 100)
    small = await load_reference(encoded(photo((100, 50)), "PNG"))
    assert (small.width, small.height) == (100, 50)  # never enlarged


# --- refusals -------------------------------------------------------------------------------------


async def test_too_many_bytes_is_refused_before_decoding():
    source = encoded(photo((200, 200)), "PNG")
    with pytest.raises(ReferenceImageError) as caught:
        await load_reference(source, limits=ReferenceLimits(max_bytes=len(source) - 1))
    assert caught.value.reason == "too_big" and "太大" in caught.value.user_message
    assert isinstance(caught.value, ImagingError)  # one family with the other imaging errors


async def test_a_bomb_is_refused_from_its_header_without_decompressing():
    with pytest.raises(ReferenceImageError) as caught:
        clean_reference(png_header_only(9000, 9000))
    assert caught.value.reason == "too_many_pixels" and "9000x9000" in caught.value.detail
    with pytest.raises(ReferenceImageError) as caught:
        clean_reference(encoded(photo((300, 300)), "PNG"), ReferenceLimits(max_pixels=300 * 299))
    assert caught.value.reason == "too_many_pixels"


@pytest.mark.parametrize("source", [
    b"just some text, not a picture",
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 200,  # a PNG signature and nothing that decodes
    b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    b"<!doctype html><html><body>login page</body></html>",
    b"",
], ids=["text", "png-magic-only", "svg", "html", "empty"])
async def test_what_is_not_a_decodable_image_is_refused_whatever_it_claims(source):
    with pytest.raises(ReferenceImageError) as caught:
        await load_reference(source)
    assert caught.value.reason == "not_image" and "图片" in caught.value.user_message


async def test_a_truncated_image_and_an_unaccepted_format_are_refused():
    whole = encoded(photo((300, 300)), "JPEG")
    for source in (whole[: len(whole) // 2], encoded(photo(), "BMP"), encoded(photo(), "TIFF")):
        with pytest.raises(ReferenceImageError) as caught:
            await load_reference(source)
        assert caught.value.reason == "not_image"


async def test_too_many_references():
    png = encoded(photo(), "PNG")
    assert len(await load_references([png, png])) == 2
    with pytest.raises(ReferenceImageError) as caught:
        await load_references([png] * 3, limits=ReferenceLimits(max_count=2))
    assert caught.value.reason == "too_many" and "2 张" in caught.value.user_message


# --- source forms ---------------------------------------------------------------------------------


async def test_base64_in_every_form_a_chat_host_sends():
    raw = encoded(photo(), "JPEG")
    text = base64.b64encode(raw).decode()
    assert text.startswith("/9j/")  # bare JPEG base64 starts with a slash: not a path
    for source in (text, f"base64://{text}", f"data:image/jpeg;base64,{text}", text[:40] + "\n" + text[40:]):
        cleaned = await load_reference(source)
        assert (cleaned.width, cleaned.height) == (64, 32)
    with pytest.raises(ReferenceImageError) as caught:
        await load_reference("not base64 at all!!")
    assert caught.value.reason == "not_image"
    big = base64.b64encode(b"\x00" * 3000).decode()
    with pytest.raises(ReferenceImageError) as caught:
        await load_reference(big, limits=ReferenceLimits(max_bytes=1000))
    assert caught.value.reason == "too_big"


async def test_a_url_without_a_downloader_is_refused_and_imaging_never_touches_the_network():
    with pytest.raises(ReferenceImageError) as caught:
        await load_reference("https://img.example/a.png?k=SECRET1234")
    assert caught.value.reason == "download_failed" and "SECRET1234" not in caught.value.detail


@pytest.mark.parametrize("source", ["file:///etc/passwd", "ftp://img.example/a.png", "gopher://x/1"])
async def test_local_files_and_other_schemes_are_refused(source):
    with pytest.raises(ReferenceImageError) as caught:
        await load_reference(source)
    assert caught.value.reason == "unsafe_url"


async def test_an_http_url_is_downloaded_and_cleaned():
    source = jpeg_with_everything()
    async with httpx.AsyncClient() as client:
        with respx.mock() as router:
            router.get("https://img.example/cat.jpg").respond(200, content=source,
                                                              headers={"content-type": "image/jpeg"})
            cleaned = await load_reference("https://img.example/cat.jpg?rkey=abc",
                                           fetch=reference_fetcher(client, resolver=resolver))
    assert (cleaned.width, cleaned.height) == (32, 64) and b"SecretCam" not in cleaned.data


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/a.png", "http://[::1]/a.png", "http://evil.example/a.png",
    "http://meta.example/latest/meta-data/", "http://169.254.169.254/latest/meta-data/",
    "http://10.1.2.3/a.png", "http://localhost/a.png",
])
async def test_private_addresses_are_never_fetched(url):
    async with httpx.AsyncClient() as client:
        with respx.mock(assert_all_called=False) as router:
            anything = router.route().respond(200, content=encoded(photo(), "PNG"))
            with pytest.raises(ReferenceImageError) as caught:
                await load_reference(url, fetch=reference_fetcher(
                    client, resolver=lambda host, port: resolver("evil.example" if host == "localhost" else host,
                                                                 port)))
    assert caught.value.reason == "unsafe_url" and anything.call_count == 0
    assert "不安全" in caught.value.user_message


async def test_a_redirect_into_the_private_network_is_refused():
    async with httpx.AsyncClient() as client:
        with respx.mock(assert_all_called=False) as router:
            router.get("https://img.example/a.png").respond(302, headers={"location": "http://10.0.0.7/admin.png"})
            inside = router.get("http://10.0.0.7/admin.png").respond(200, content=encoded(photo(), "PNG"))
            with pytest.raises(ReferenceImageError) as caught:
                await load_reference("https://img.example/a.png",
                                     fetch=reference_fetcher(client, resolver=resolver))
    assert caught.value.reason == "unsafe_url" and inside.call_count == 0


async def test_download_size_cap_non_image_and_failure(caplog):
    caplog.set_level(logging.DEBUG)
    secret_url = "https://user:hunter22@img.example/p/a.png?token=SECRETVALUE123#frag"
    limits = ReferenceLimits(max_bytes=10_000)
    async with httpx.AsyncClient() as client:
        fetch = reference_fetcher(client, resolver=resolver)
        with respx.mock() as router:
            route = router.get("https://img.example/p/a.png")
            route.respond(200, content=b"\x89PNG\r\n\x1a\n" + bytes(50_000), headers={"content-type": "image/png"})
            with pytest.raises(ReferenceImageError) as too_big:
                await load_reference(secret_url, fetch=fetch, limits=limits)
            route.respond(200, content=b"<html>sign in</html>", headers={"content-type": "text/html"})
            with pytest.raises(ReferenceImageError) as not_image:
                await load_reference(secret_url, fetch=fetch, limits=limits)
            route.respond(503)
            with pytest.raises(ReferenceImageError) as failed:
                await load_reference(secret_url, fetch=fetch, limits=limits)
            route.side_effect = httpx.ConnectError("connection refused")
            with pytest.raises(ReferenceImageError) as lost:
                await load_reference(secret_url, fetch=fetch, limits=limits)
    assert [too_big.value.reason, not_image.value.reason, failed.value.reason, lost.value.reason] == \
        ["too_big", "not_image", "download_failed", "download_failed"]
    for error in (too_big.value, not_image.value, failed.value, lost.value):
        text = f"{error} {error.detail} {error.user_message}"
        assert "img.example/p/a.png" in error.detail
        assert "SECRETVALUE123" not in text and "hunter22" not in text and "frag" not in text
    assert "SECRETVALUE123" not in caplog.text and "hunter22" not in caplog.text


async def test_pillow_runs_in_the_job_owners_workers_not_on_the_event_loop(monkeypatch):
    import llm2pic.imaging.reference as reference

    loop_thread = threading.get_ident()
    seen: list[int] = []
    real = reference.clean_reference

    def recording(data, limits):
        seen.append(threading.get_ident())
        return real(data, limits)

    monkeypatch.setattr(reference, "clean_reference", recording)
    workers = ImageWorkers(1)
    await load_reference(encoded(photo(), "PNG"), workers=workers)
    await load_reference(encoded(photo(), "PNG"))
    assert len(seen) == 2 and loop_thread not in seen
