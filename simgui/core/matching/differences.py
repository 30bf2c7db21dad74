"""Where two photos differ, drawn: the verify.difference_grid cells as rectangles on the first photo."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

DIFFERS_RGBA = (255, 0, 200, 120)  # translucent magenta: seen on red and green photos alike, which stay visible


def cell_rectangles(width: int, height: int, box: tuple[float, float, float, float],
                    grid: np.ndarray) -> list[tuple[float, float, float, float]]:
    """(x0, y0, x1, y1) in picture pixels of every cell marked -1; the grid covers the photo inside its
    bars (`box`, fractions of the picture), squeezed to a square like the model saw it."""
    left, top, right, bottom = box[0] * width, box[1] * height, box[2] * width, box[3] * height
    rows, cols = grid.shape
    cell_w, cell_h = (right - left) / cols, (bottom - top) / rows
    return [(left + c * cell_w, top + r * cell_h, left + (c + 1) * cell_w, top + (r + 1) * cell_h)
            for r, c in zip(*np.nonzero(grid < 0))]


def draw_differences(picture: Image.Image, box: tuple[float, float, float, float], grid: np.ndarray) -> Image.Image:
    shade = Image.new("RGBA", picture.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(shade)
    for rectangle in cell_rectangles(picture.width, picture.height, box, grid):
        draw.rectangle(rectangle, fill=DIFFERS_RGBA)
    return Image.alpha_composite(picture.convert("RGBA"), shade).convert("RGB")
