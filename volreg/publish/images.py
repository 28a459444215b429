"""Strip metadata from photos before they are published: EXIF can hold a GPS position (an address), a date
of birth in a caption, the camera owner's name. Only what draws the picture is kept.

JPEG: every APPn segment except APP0 (JFIF) and APP14 (Adobe colour transform), and comments, are dropped.
PNG: only critical chunks and the colour chunks (``PLTE``, ``tRNS``, ``gAMA``, ``cHRM``, ``sRGB``, ``iCCP``,
``pHYs``) are kept. WebP: ``EXIF`` and ``XMP `` chunks are dropped. GIF has no metadata blocks a camera writes;
its comment extensions are not parsed, so it is copied as it is.
"""

from __future__ import annotations

import struct

from ..errors import InvalidValue

__all__ = ["clean_image"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_KEEP = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"pHYs"}


def clean_image(data: bytes, ext: str) -> bytes:
    """The image without its metadata.

    Raises:
        InvalidValue: the bytes are not an image of the type its name says.
    """
    try:
        if ext in (".jpg", ".jpeg"):
            return _jpeg(data)
        if ext == ".png":
            return _png(data)
        if ext == ".webp":
            return _webp(data)
        if ext == ".gif" and data[:6] in (b"GIF87a", b"GIF89a"):
            return data
    except (IndexError, struct.error, ValueError):
        pass
    raise InvalidValue("photo", f"must be a readable {ext[1:].upper()} image", f"{len(data)} bytes")


def _jpeg(data: bytes) -> bytes:
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    out, i = [b"\xff\xd8"], 2
    while i < len(data):
        if data[i] != 0xFF:
            raise ValueError("bad marker")
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: the compressed picture follows to the end
            out.append(data[i:])
            return b"".join(out)
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        segment = data[i:i + 2 + length]
        if not (0xE1 <= marker <= 0xEF and marker != 0xEE or marker == 0xFE):
            out.append(segment)
        i += 2 + length
    raise ValueError("no image data")


def _png(data: bytes) -> bytes:
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG")
    out, i = [_PNG_SIGNATURE], len(_PNG_SIGNATURE)
    while i < len(data):
        length = struct.unpack(">I", data[i:i + 4])[0]
        kind = data[i + 4:i + 8]
        chunk = data[i:i + 12 + length]
        if len(chunk) != 12 + length:
            raise ValueError("truncated")
        if kind in _PNG_KEEP:
            out.append(chunk)
        i += 12 + length
        if kind == b"IEND":
            return b"".join(out)
    raise ValueError("no IEND")


def _webp(data: bytes) -> bytes:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a WebP")
    chunks, i = [], 12
    while i < len(data):
        kind = data[i:i + 4]
        length = struct.unpack("<I", data[i + 4:i + 8])[0]
        end = i + 8 + length + (length & 1)
        if kind == b"VP8X":
            flags = data[i + 8] & ~0x0C  # no EXIF (0x08) or XMP (0x04) any more
            chunks.append(data[i:i + 8] + bytes([flags]) + data[i + 9:end])
        elif kind not in (b"EXIF", b"XMP "):
            chunks.append(data[i:end])
        i = end
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body
