"""Draws simgui's app icon (simgui/resources/simgui.png): two overlapping photos, the front one marked as a copy.

    python tools/make_icon.py
"""
from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 256
TARGET = Path(__file__).resolve().parent.parent / "simgui" / "resources" / "simgui.png"


def photo(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], sky: str, hill: str) -> None:
    x0, y0, x1, y1 = box
    draw.rounded_rectangle(box, radius=18, fill="white", outline="#2b2f36", width=6)
    inner = (x0 + 14, y0 + 14, x1 - 14, y1 - 14)
    draw.rectangle(inner, fill=sky)
    draw.polygon([(inner[0], inner[3]), (inner[0] + (inner[2] - inner[0]) * 0.4, inner[1] + (inner[3] - inner[1]) * 0.45),
                  (inner[2], inner[3])], fill=hill)
    draw.ellipse((inner[2] - 38, inner[1] + 10, inner[2] - 12, inner[1] + 36), fill="#ffd54a")


def main() -> None:
    icon = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(icon)
    photo(draw, (16, 20, 176, 150), "#7fb3e6", "#3d8b4f")
    photo(draw, (80, 96, 240, 226), "#7fb3e6", "#3d8b4f")
    draw.ellipse((176, 160, 244, 228), fill="#e8453c", outline="white", width=5)  # the "found a copy" badge
    draw.line((194, 194, 207, 208), fill="white", width=8)
    draw.line((207, 208, 228, 178), fill="white", width=8)
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    icon.save(TARGET)


if __name__ == "__main__":
    main()
