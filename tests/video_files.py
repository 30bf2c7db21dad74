"""Video clips made from real photos: a camera move over a still (pan and zoom, as a phone's slow pan over a
scene), encoded with the H.264 encoder that PyAV's wheels ship. No real footage can be had here, so the
tests and benchmarks/video.py use these; every edit a real library holds (re-encode, resize, trim, letterbox,
watermark) is then made from the clip's own frames, as a messenger or an editor would.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import av
from PIL import Image, ImageDraw


@dataclass(frozen=True)
class CameraMove:
    """A path over a still: the view's centre (as a share of the photo) and its zoom, from start to end."""
    start: tuple[float, float, float] = (0.35, 0.45, 1.0)  # x, y, zoom (1.0: the view is 60 % of the photo)
    end: tuple[float, float, float] = (0.65, 0.55, 1.35)

    def view(self, photo: Image.Image, t: float, size: tuple[int, int]) -> Image.Image:
        x, y, zoom = (a + (b - a) * t for a, b in zip(self.start, self.end))
        w, h = photo.size
        view_w = min(w, h * size[0] / size[1]) * 0.6 / zoom
        view_h = view_w * size[1] / size[0]
        cx = min(max(x * w, view_w / 2), w - view_w / 2)
        cy = min(max(y * h, view_h / 2), h - view_h / 2)
        box = (cx - view_w / 2, cy - view_h / 2, cx + view_w / 2, cy + view_h / 2)
        return photo.resize(size, Image.BILINEAR, box=box)


def camera_frames(photo: Image.Image, seconds: float, fps: int, size: tuple[int, int],
                  move: CameraMove = CameraMove()) -> Iterator[Image.Image]:
    count = max(1, round(seconds * fps))
    for n in range(count):
        yield move.view(photo, n / max(1, count - 1), size)


def black_frames(seconds: float, fps: int, size: tuple[int, int]) -> Iterator[Image.Image]:
    for _ in range(round(seconds * fps)):
        yield Image.new("RGB", size)


def logo_frames(seconds: float, fps: int, size: tuple[int, int], text: str = "STUDIO") -> Iterator[Image.Image]:
    """A channel's intro card: a still logo on a dark ground."""
    card = Image.new("RGB", size, (20, 24, 60))
    draw = ImageDraw.Draw(card)
    w, h = size
    draw.ellipse((w * 0.4, h * 0.3, w * 0.6, h * 0.3 + w * 0.2), outline=(240, 200, 40), width=max(2, w // 80))
    draw.text((w * 0.44, h * 0.75), text, fill=(240, 240, 240))
    for _ in range(round(seconds * fps)):
        yield card


def write_clip(path: Path, frames: Iterator[Image.Image], fps: int = 25, bit_rate: int | None = None,
               crf: int = 23, keyframe_seconds: float | None = None) -> Path:
    """Encodes frames to H.264 in an MP4 (or MOV/MKV by the name). keyframe_seconds: a phone's fixed
    keyframe interval; None leaves it to the encoder (x264's default: at most 10 s, and at scene cuts)."""
    with av.open(str(path), "w") as container:
        stream = None
        for frame in frames:
            if stream is None:
                stream = container.add_stream("libx264", rate=fps)
                stream.width, stream.height = frame.size[0] // 2 * 2, frame.size[1] // 2 * 2
                stream.pix_fmt = "yuv420p"
                options = {"preset": "ultrafast" if max(frame.size) <= 720 else "veryfast"}
                if bit_rate:
                    stream.bit_rate = bit_rate
                else:
                    options["crf"] = str(crf)
                if keyframe_seconds:
                    options["x264-params"] = f"keyint={max(1, round(keyframe_seconds * fps))}:scenecut=0"
                stream.options = options
            if frame.size != (stream.width, stream.height):
                frame = frame.crop((0, 0, stream.width, stream.height))
            for packet in stream.encode(av.VideoFrame.from_image(frame)):
                container.mux(packet)
        if stream is not None:
            for packet in stream.encode(None):
                container.mux(packet)
    return path


def decoded_frames(path: Path, edit: Callable[[Image.Image, float], Image.Image] = lambda f, t: f,
                   start: float = 0.0, end: float | None = None) -> tuple[Iterator[Image.Image], int]:
    """Every frame of a clip (its fps too), edited: what a re-encode of it starts from."""
    container = av.open(str(path))
    stream = container.streams.video[0]
    fps = round(float(stream.average_rate or 25))

    def frames() -> Iterator[Image.Image]:
        with container:
            for frame in container.decode(stream):
                t = float(frame.time or 0.0)
                if t < start - 1e-6 or (end is not None and t >= end):
                    continue
                yield edit(frame.to_image(), t)
    return frames(), fps


def reencode(source: Path, target: Path, edit: Callable[[Image.Image, float], Image.Image] = lambda f, t: f,
             start: float = 0.0, end: float | None = None, **encoding) -> Path:
    frames, fps = decoded_frames(source, edit, start, end)
    return write_clip(target, frames, fps=fps, **encoding)


def resized(height: int) -> Callable[[Image.Image, float], Image.Image]:
    def edit(frame: Image.Image, t: float) -> Image.Image:
        return frame.resize((round(frame.width * height / frame.height / 2) * 2, height), Image.BILINEAR)
    return edit


def letterboxed(frame: Image.Image, t: float) -> Image.Image:
    """A 16:9 clip inside a 4:3 frame with black bars, as a re-post to a square-ish format does."""
    w, h = frame.size
    canvas = Image.new("RGB", (w, w * 3 // 4 // 2 * 2))
    canvas.paste(frame, (0, (canvas.height - h) // 2))
    return canvas


def cropped_to(box: tuple[float, float, float, float], keep_size: bool = True) -> Callable[[Image.Image, float], Image.Image]:
    """A part of the picture (a box of shares of its sides), scaled back up to the frame's size ("zoom to fill",
    a re-frame in an editor) or, keep_size False, to its own shape (a 16:9 clip cut to 4:3 for a feed)."""
    def edit(frame: Image.Image, t: float) -> Image.Image:
        w, h = frame.size
        pixels = (w * box[0], h * box[1], w * box[2], h * box[3])
        size = (w, h) if keep_size else (round((pixels[2] - pixels[0]) / 2) * 2, round((pixels[3] - pixels[1]) / 2) * 2)
        return frame.resize(size, Image.BILINEAR, box=pixels)
    return edit


def watermarked(frame: Image.Image, t: float) -> Image.Image:
    frame = frame.copy()
    draw = ImageDraw.Draw(frame)
    w, h = frame.size
    draw.rectangle((w * 0.68, h * 0.86, w * 0.97, h * 0.96), fill=(255, 255, 255))
    draw.text((w * 0.70, h * 0.88), "@shared_clips", fill=(0, 0, 0))
    return frame


def photo_clip(photo: Path, target: Path, seconds: float = 4.0, size: tuple[int, int] = (320, 180),
               move: CameraMove = CameraMove(), fps: int = 25, **encoding) -> Path:
    """A clip of a slow camera move over a real photo."""
    still = Image.open(photo).convert("RGB")
    return write_clip(target, camera_frames(still, seconds, fps, size, move), fps=fps, **encoding)
