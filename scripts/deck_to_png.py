"""Draw each slide of a .pptx as a PNG, from what python-pptx holds (no office suite needed):
the slide background, every picture at its place and size, and the text boxes' text.

    .venv/bin/python scripts/deck_to_png.py deck.pptx OUT_DIR [--width 1600] [--outline]
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _background(slide: object) -> str:
    fill = slide.background.fill  # type: ignore[attr-defined]
    try:
        return f"#{fill.fore_color.rgb}"
    except (AttributeError, TypeError):
        return "#ffffff"


def slide_images(path: Path, width: int = 1600, outline: bool = False) -> list[Image.Image]:
    """Every slide drawn at `width` pixels wide (pictures outlined in magenta with `outline`)."""
    deck = Presentation(str(path))
    scale = width / deck.slide_width
    height = round(deck.slide_height * scale)
    images = []
    for slide in deck.slides:
        canvas = Image.new("RGB", (width, height), _background(slide))
        draw = ImageDraw.Draw(canvas)
        for shape in slide.shapes:
            box = [round(v * scale) for v in (shape.left, shape.top, shape.width, shape.height)]
            if shape.shape_type == MSO_SHAPE_TYPE.PICTURE:
                picture = Image.open(io.BytesIO(shape.image.blob)).convert("RGBA")
                picture = picture.resize((max(box[2], 1), max(box[3], 1)), Image.LANCZOS)
                canvas.paste(picture, (box[0], box[1]), picture)
                if outline:
                    draw.rectangle([box[0], box[1], box[0] + box[2], box[1] + box[3]],
                                   outline="#ff00ff")
            elif shape.has_text_frame:
                y = box[1]
                for paragraph in shape.text_frame.paragraphs:
                    runs = paragraph.runs
                    size = runs[0].font.size.pt if runs and runs[0].font.size else 18
                    color = f"#{runs[0].font.color.rgb}" if runs else "#000000"
                    font = ImageFont.truetype(FONT, round(size * 12700 * scale * 1.0))
                    draw.text((box[0], y), paragraph.text, fill=color, font=font)
                    y += round(size * 12700 * scale * 1.3)
        images.append(canvas)
    return images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("deck", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--outline", action="store_true", help="outline each picture")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for number, image in enumerate(slide_images(args.deck, args.width, args.outline), start=1):
        image.save(args.out / f"slide{number:02d}.png")
    print(f"wrote {number} slides into {args.out}")


if __name__ == "__main__":
    main()
