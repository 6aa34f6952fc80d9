"""The CJK font every chart draws with, so Chinese labels are text, not tofu boxes.

The project installs Debian's fonts-wqy-microhei (`bash .ci/debian-packages fonts`, which the
test command runs and deployments run once as root): 5 MB, Apache-2.0, every GBK Hanzi plus
Latin. Noto Sans CJK SC (fonts-noto-cjk) is used instead where a deployment installed it;
failing both, whatever fontconfig offers for Chinese. Found once per process.
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
from pathlib import Path

from PIL import ImageFont

log = logging.getLogger(__name__)

# (file, face index): the face of a collection that is Simplified Chinese.
CANDIDATES = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
)
INSTALL_HINT = "install Debian's fonts-wqy-microhei: sudo bash .ci/debian-packages fonts"
# A code point no font draws: what a missing glyph (tofu) looks like in this font.
_NO_GLYPH = "\U0010fffd"
_PROBE = "支部党员大会"

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _fontconfig_choice() -> tuple[str, int] | None:
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    try:
        found = subprocess.run(
            [fc_match, "--format=%{file}\t%{index}", ":lang=zh-cn"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    path, _, index = found.partition("\t")
    return (path, int(index or 0)) if path else None


def draws(font: Font, text: str) -> bool:
    """Whether the font has a glyph for every non-space character of `text`."""
    tofu = font.getmask(_NO_GLYPH)
    tofu_pixels = bytes(tofu)
    for char in set(text):
        if char.isspace():
            continue
        mask = font.getmask(char)
        if mask.size == tofu.size and bytes(mask) == tofu_pixels:
            return False
    return True


@functools.cache
def cjk_font_file() -> tuple[str, int] | None:
    """The CJK font file and face to draw with, or None (and a warning) when there is none."""
    candidates = [c for c in CANDIDATES if Path(c[0]).is_file()]
    fallback = _fontconfig_choice()
    if fallback is not None:
        candidates.append(fallback)
    for path, index in candidates:
        try:
            font = ImageFont.truetype(path, 24, index=index)
        except OSError:
            continue
        if draws(font, _PROBE):
            return path, index
    log.warning("no CJK font found: Chinese chart labels would be boxes; %s", INSTALL_HINT)
    return None


@functools.lru_cache(maxsize=16)
def font(size: int) -> Font:
    """The CJK font at `size` pixels (Pillow's own font when none is installed)."""
    found = cjk_font_file()
    if found is None:
        return ImageFont.load_default(size=size)
    path, index = found
    return ImageFont.truetype(path, size, index=index)
