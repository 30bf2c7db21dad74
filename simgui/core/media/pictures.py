"""The picture that stands for a file on screen: a photo as decoded, a clip by its poster frame (video.py)."""
from __future__ import annotations

from PIL import Image

from simgui.core.media.decode import decode_file
from simgui.core.media.formats import is_video_name
from simgui.core.media.video import poster


def picture_to_show(path: str) -> Image.Image:
    """Upright, full size for a photo; DecodeError when the file cannot be read."""
    return poster(path) if is_video_name(path) else decode_file(path).picture
