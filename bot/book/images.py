"""Photos ready to embed: a printed page needs no more than Telegram's own 1,280 pixels."""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_SIDE = 1280
JPEG_QUALITY = 80
# A photo this small in a format every word processor shows goes in as it is.
MAX_KEPT_BYTES = 1_500_000
# Refuse decompression bombs well before Pillow's own limit: a phone photo is ~12 MP.
MAX_PIXELS = 60_000_000
_ORIENTATION = 0x0112


def for_print(data: bytes) -> tuple[bytes, float] | None:
    """The photo as JPEG or PNG of at most MAX_SIDE pixels a side, and its height/width
    ratio; None when it is not an image we can read."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_PIXELS or not width or not height:
                return None
            upright = image.getexif().get(_ORIENTATION, 1) == 1
            # Telegram sends photos as JPEGs of at most 1,280 pixels: nothing to do.
            if (
                image.format in ("JPEG", "PNG")
                and max(width, height) <= MAX_SIDE
                and len(data) <= MAX_KEPT_BYTES
                and upright
            ):
                return data, height / width
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # a large JPEG decodes at a reduced size
            picture = (image if upright else ImageOps.exif_transpose(image)).convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    picture.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BILINEAR, reducing_gap=2.0)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue(), picture.height / picture.width
