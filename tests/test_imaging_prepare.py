"""prepare_for_chat: pass-through, metadata, crop, fit to edge and bytes, formats, broken input."""

from __future__ import annotations

import base64
import io
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin

from llm2pic.errors import ProtocolError
from llm2pic.config.output import OutputSection
from llm2pic.imaging.container import inspect, strip_metadata
from llm2pic.errors import ImagingError
from llm2pic.imaging.prepare import b64encode, prepare_for_chat


def photo(size=(256, 256), noise=30) -> Image.Image:
    """Gradients plus noise: compresses like a generated picture, not like a flat test card."""
    width, height = size
    return Image.merge("RGB", (
        Image.linear_gradient("L").resize(size),
        Image.effect_noise(size, noise).convert("L"),
        Image.radial_gradient("L").resize(size),
    ))


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# --- pass-through --------------------------------------------------------------------------


async def test_fitting_png_without_crop_is_sent_byte_for_byte():
    data = encode(photo(), "PNG")
    prepared = await prepare_for_chat(data, OutputSection())
    assert prepared.passed_through
    assert prepared.data == data
    assert prepared.mime == "image/png" and (prepared.width, prepared.height) == (256, 256)
    assert base64.b64decode(prepared.base64) == data


async def test_fitting_jpeg_without_crop_is_sent_byte_for_byte():
    data = encode(photo(), "JPEG", quality=85)
    prepared = await prepare_for_chat(data, OutputSection())
    assert prepared.passed_through and prepared.data == data and prepared.mime == "image/jpeg"


async def test_pass_through_never_decodes(monkeypatch):
    from llm2pic.imaging import prepare

    def no_decode(*args, **kwargs):
        raise AssertionError("decoded")

    monkeypatch.setattr(prepare, "decode", no_decode)
    data = encode(photo(), "PNG")
    assert (await prepare_for_chat(data, OutputSection())).data == data


async def test_base64_is_plain_without_data_prefix():
    prepared = await prepare_for_chat(encode(photo(), "PNG"), OutputSection())
    assert not prepared.base64.startswith("data:")
    assert base64.b64decode(prepared.base64, validate=True) == prepared.data


def test_sliced_base64_equals_one_shot_base64():
    data = bytes(range(256)) * 12_289  # not a multiple of the slice or of 3
    assert b64encode(data) == base64.b64encode(data).decode()


async def test_png_text_chunks_are_cut_out_without_re_encoding():
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a secret prompt, Steps: 8, Seed: 42")
    data = encode(photo(), "PNG", pnginfo=info)
    prepared = await prepare_for_chat(data, OutputSection())
    assert prepared.passed_through
    assert b"secret prompt" in data and b"secret prompt" not in prepared.data
    assert opened(prepared.data).tobytes() == opened(data).tobytes()
    assert not getattr(opened(prepared.data), "text", {})


async def test_strip_metadata_off_keeps_bytes_identical():
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "prompt")
    data = encode(photo(), "PNG", pnginfo=info)
    prepared = await prepare_for_chat(data, OutputSection(strip_metadata=False))
    assert prepared.passed_through and prepared.data == data


async def test_jpeg_comment_is_cut_and_exif_forces_a_clean_re_encode():
    commented = encode(photo(), "JPEG", quality=80, comment=b"made by a secret prompt")
    prepared = await prepare_for_chat(commented, OutputSection())
    assert prepared.passed_through and b"secret prompt" not in prepared.data
    assert opened(prepared.data).tobytes() == opened(commented).tobytes()

    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    exif[0x010E] = "secret description"
    rotated = encode(photo((200, 100)), "JPEG", quality=80, exif=exif.tobytes())
    prepared = await prepare_for_chat(rotated, OutputSection())
    assert not prepared.passed_through
    assert (prepared.width, prepared.height) == (100, 200)  # orientation applied before EXIF was dropped
    assert b"secret description" not in prepared.data
    assert not opened(prepared.data).getexif()


# --- crop ----------------------------------------------------------------------------------


def marked(size=(200, 100)) -> Image.Image:
    """Black image with a white 10-px band at the bottom (the 'watermark')."""
    image = Image.new("RGB", size, (0, 0, 0))
    image.paste((255, 255, 255), (0, size[1] - 10, size[0], size[1]))
    return image


async def test_classic_bottom_crop_removes_the_watermark_band():
    output = OutputSection(crop_enabled=True, crop_position="bottom", crop_pixels=10)
    prepared = await prepare_for_chat(encode(marked(), "PNG"), output)
    assert not prepared.passed_through
    assert (prepared.width, prepared.height) == (200, 90)
    image = opened(prepared.data).convert("RGB")
    assert image.getextrema() == ((0, 0), (0, 0), (0, 0))


async def test_per_side_percent_crop():
    output = OutputSection(crop_enabled=True, crop_left="10%", crop_right="5%", crop_top=4)
    prepared = await prepare_for_chat(encode(photo((200, 100)), "PNG"), output)
    assert (prepared.width, prepared.height) == (170, 96)


async def test_pixel_crop_too_large_for_this_image_is_skipped_with_a_note():
    output = OutputSection(crop_enabled=True, crop_position="top", crop_pixels=500)
    prepared = await prepare_for_chat(encode(photo((100, 100)), "PNG"), output)
    assert (prepared.width, prepared.height) == (100, 100)
    assert prepared.notes and "crop skipped" in prepared.notes[0]


# --- fit -----------------------------------------------------------------------------------


async def test_longest_edge_is_scaled_to_max_edge():
    prepared = await prepare_for_chat(encode(photo((1200, 600)), "PNG"), OutputSection(max_edge=512))
    assert (prepared.width, prepared.height) == (512, 256)
    assert opened(prepared.data).size == (512, 256)


async def test_png_over_budget_becomes_jpeg_within_budget():
    data = encode(photo((1024, 1024), noise=60), "PNG")
    budget = 300 * 1024
    assert len(data) > budget
    prepared = await prepare_for_chat(data, OutputSection(max_bytes=budget))
    assert prepared.mime == "image/jpeg" and len(prepared.data) <= budget
    assert opened(prepared.data).format == "JPEG"


async def test_budget_too_small_for_any_quality_scales_the_image_down():
    data = encode(photo((1024, 1024), noise=120), "PNG")
    budget = 100 * 1024
    prepared = await prepare_for_chat(data, OutputSection(max_bytes=budget, jpeg_quality=80, jpeg_min_quality=70))
    assert len(prepared.data) <= budget
    assert prepared.width < 1024 and prepared.width == prepared.height


async def test_webp_becomes_jpeg_in_auto():
    prepared = await prepare_for_chat(encode(photo(), "WEBP", quality=80), OutputSection())
    assert prepared.mime == "image/jpeg" and not prepared.passed_through
    assert opened(prepared.data).format == "JPEG"


async def test_transparent_png_keeps_alpha_when_it_fits_and_is_flattened_for_jpeg():
    rgba = Image.new("RGBA", (64, 64), (255, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (0, 0, 32, 64))
    kept = await prepare_for_chat(encode(rgba, "PNG"), OutputSection())
    assert kept.mime == "image/png" and kept.passed_through

    as_jpeg = await prepare_for_chat(encode(rgba, "PNG"), OutputSection(format="jpeg", alpha_background="#00ff00"))
    image = opened(as_jpeg.data).convert("RGB")
    assert as_jpeg.mime == "image/jpeg"
    red, green, blue = image.getpixel((60, 32))
    assert green > 200 and red < 60 and blue < 60  # transparent area shows the background, not black
    red, green, blue = image.getpixel((4, 32))
    assert blue > 200


@pytest.mark.parametrize("fmt, mime", [("png", "image/png"), ("webp", "image/webp"), ("jpeg", "image/jpeg")])
async def test_forced_format(fmt, mime):
    prepared = await prepare_for_chat(encode(photo(), "JPEG" if fmt == "png" else "PNG"), OutputSection(format=fmt))
    assert prepared.mime == mime
    assert opened(prepared.data).format == fmt.upper()


async def test_re_encoded_png_has_no_text_metadata():
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "secret prompt")
    prepared = await prepare_for_chat(encode(photo((300, 300)), "PNG", pnginfo=info), OutputSection(max_edge=256))
    assert not prepared.passed_through
    assert b"secret prompt" not in prepared.data and not opened(prepared.data).text


# --- broken and hostile input --------------------------------------------------------------


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR claiming a huge size, with a tiny IDAT: a decompression bomb shape."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
            + chunk(b"IEND", b""))


async def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(ImagingError, match="decompression bomb"):
        await prepare_for_chat(png_header_only(50_000, 50_000), OutputSection())


async def test_pixel_cap_applies_to_the_decoding_path_too():
    data = encode(photo((1500, 1000)), "JPEG")
    with pytest.raises(ImagingError, match="pixels refused"):
        await prepare_for_chat(data, OutputSection(max_pixels=1_000_000))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
async def test_truncated_image_is_an_error_never_sent(fmt):
    data = encode(photo(), fmt)
    with pytest.raises(ImagingError) as caught:
        await prepare_for_chat(data[: len(data) * 2 // 3], OutputSection())
    assert isinstance(caught.value, ProtocolError)
    assert caught.value.user_message


async def test_corrupt_png_with_bad_crc_is_not_passed_through():
    data = bytearray(encode(photo(), "PNG"))
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(ImagingError):
        await prepare_for_chat(bytes(data), OutputSection())


async def test_non_image_is_refused():
    with pytest.raises(ImagingError, match="not a PNG/JPEG/WebP/GIF"):
        await prepare_for_chat(b"<html>502 Bad Gateway</html>", OutputSection())


async def test_gif_first_frame_becomes_jpeg():
    frames = [Image.new("P", (40, 30), color) for color in (1, 2)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    prepared = await prepare_for_chat(buffer.getvalue(), OutputSection())
    assert prepared.mime == "image/jpeg" and (prepared.width, prepared.height) == (40, 30)


# --- container reading ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt, options", [("PNG", {}), ("JPEG", {}), ("JPEG", {"progressive": True}),
                                           ("WEBP", {"lossless": True}), ("WEBP", {"quality": 70}), ("GIF", {})])
def test_container_reads_size_and_integrity(fmt, options):
    data = encode(photo((123, 45)), fmt, **options)
    info = inspect(data)
    assert (info.width, info.height, info.intact) == (123, 45, True)
    assert not inspect(data[:-20]).intact


def test_strip_metadata_returns_the_same_object_when_nothing_to_cut():
    data = encode(photo(), "PNG")
    assert strip_metadata(data, inspect(data)) is data
