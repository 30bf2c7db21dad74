"""Where two photos differ, drawn: the verify.difference_grid cells as rectangles on the first photo, changed
content apart from content cut away (a crop is a copy: its missing border is not a change)."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from simgui.core.matching.verify import CHANGED, CUT_AWAY

CHANGED_RGBA = (255, 0, 200, 120)  # translucent magenta: seen on red and green photos alike, which stay visible
CUT_AWAY_RGBA = (40, 40, 40, 150)  # dimmed: not in the second photo at all
SHADES = {CHANGED: CHANGED_RGBA, CUT_AWAY: CUT_AWAY_RGBA}


def cell_rectangles(width: int, height: int, box: tuple[float, float, float, float], grid: np.ndarray,
                    value: int = CHANGED) -> list[tuple[float, float, float, float]]:
    """(x0, y0, x1, y1) in picture pixels of every cell marked `value`; the grid covers the photo inside its
    bars (`box`, fractions of the picture), squeezed to a square like the model saw it."""
    left, top, right, bottom = box[0] * width, box[1] * height, box[2] * width, box[3] * height
    rows, cols = grid.shape
    cell_w, cell_h = (right - left) / cols, (bottom - top) / rows
    return [(left + c * cell_w, top + r * cell_h, left + (c + 1) * cell_w, top + (r + 1) * cell_h)
            for r, c in zip(*np.nonzero(grid == value))]


def draw_differences(picture: Image.Image, box: tuple[float, float, float, float], grid: np.ndarray) -> Image.Image:
    shade = Image.new("RGBA", picture.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(shade)
    for value, colour in SHADES.items():
        for rectangle in cell_rectangles(picture.width, picture.height, box, grid, value):
            draw.rectangle(rectangle, fill=colour)
    return Image.alpha_composite(picture.convert("RGBA"), shade).convert("RGB")
