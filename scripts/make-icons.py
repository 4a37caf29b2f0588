"""Draw the installable app's PNG icons (vault/static/icons/) from the shapes of favicon.svg.

Browsers want PNG at 192 and 512 px for a home-screen icon (the manifest lists the SVG too).
Run once after changing the favicon: .venv/bin/python scripts/make-icons.py
"""

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "vault" / "static" / "icons"
NAVY, BLUE, WHITE = "#10243e", "#0b5394", "#ffffff"


def icon(size: int, maskable: bool) -> Image.Image:
    big = size * 4  # drawn large and scaled down: smooth edges without an SVG renderer
    img = Image.new("RGB", (big, big), NAVY)
    d = ImageDraw.Draw(img)
    # favicon.svg is on a 32-unit grid; a maskable icon keeps its drawing in the inner 80 % (safe zone).
    scale = big / 32 * (0.8 if maskable else 1.0)
    off = (big - 32 * scale) / 2

    def p(x, y):
        return (off + x * scale, off + y * scale)

    if not maskable:
        img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
        d = ImageDraw.Draw(img)
        d.rounded_rectangle([0, 0, big - 1, big - 1], radius=6 * scale, fill=NAVY)
    shield = [p(16, 5), p(7, 8.5), p(7, 15.1), p(8, 19.5), p(10.5, 23.5), p(16, 27), p(21.5, 23.5),
              p(24, 19.5), p(25, 15.1), p(25, 8.5)]
    d.polygon(shield, fill=WHITE)
    d.rounded_rectangle([*p(12, 14.5), *p(20, 21)], radius=1 * scale, fill=BLUE)
    d.arc([*p(13.6, 10.1), *p(18.4, 14.9)], 180, 360, fill=BLUE, width=round(1.6 * scale))
    d.line([p(13.6 + 0.8, 12.5), p(13.6 + 0.8, 14.5)], fill=BLUE, width=round(1.6 * scale))
    d.line([p(18.4 - 0.8, 12.5), p(18.4 - 0.8, 14.5)], fill=BLUE, width=round(1.6 * scale))
    return img.resize((size, size), Image.LANCZOS)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        icon(size, False).save(OUT / f"icon-{size}.png", optimize=True)
    icon(512, True).save(OUT / "maskable-512.png", optimize=True)
    print(f"icons written to {OUT}")
