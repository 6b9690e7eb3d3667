#!/usr/bin/python3
"""Render a terminal capture with ANSI colours (`tmux capture-pane -e -p`) to a PNG, cell by
cell, with DejaVu Sans Mono. Needs Debian's python3-pil and fonts-dejavu-core.
   ansi2png.py CAPTURE.txt OUT.png [COLUMNS ROWS]
"""
import re
import sys

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu/"
SIZE = 15
# a dark theme close to common terminal defaults
DEFAULT_FG, DEFAULT_BG = (204, 204, 204), (24, 24, 27)
BASE16 = [(0, 0, 0), (205, 49, 49), (13, 188, 121), (229, 229, 16), (36, 114, 200), (188, 63, 188),
          (17, 168, 205), (229, 229, 229), (102, 102, 102), (241, 76, 76), (35, 209, 139),
          (245, 245, 67), (59, 142, 234), (214, 112, 214), (41, 184, 219), (255, 255, 255)]


def xterm256(n):
    if n < 16:
        return BASE16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[n // 6 % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return (v, v, v)


class Style:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = self.bg = None
        self.bold = self.dim = self.italic = self.underline = self.reverse = False

    def apply(self, params):
        ps = [int(p) if p else 0 for p in params.split(";")] if params else [0]
        i = 0
        while i < len(ps):
            p = ps[i]
            if p == 0:
                self.reset()
            elif p == 1:
                self.bold = True
            elif p == 2:
                self.dim = True
            elif p == 3:
                self.italic = True
            elif p == 4:
                self.underline = True
            elif p == 7:
                self.reverse = True
            elif p == 22:
                self.bold = self.dim = False
            elif p == 23:
                self.italic = False
            elif p == 24:
                self.underline = False
            elif p == 27:
                self.reverse = False
            elif 30 <= p <= 37:
                self.fg = BASE16[p - 30]
            elif 90 <= p <= 97:
                self.fg = BASE16[p - 90 + 8]
            elif 40 <= p <= 47:
                self.bg = BASE16[p - 40]
            elif 100 <= p <= 107:
                self.bg = BASE16[p - 100 + 8]
            elif p == 39:
                self.fg = None
            elif p == 49:
                self.bg = None
            elif p in (38, 48) and i + 1 < len(ps):
                if ps[i + 1] == 5 and i + 2 < len(ps):
                    c = xterm256(ps[i + 2])
                    i += 2
                elif ps[i + 1] == 2 and i + 4 < len(ps):
                    c = tuple(ps[i + 2:i + 5])
                    i += 4
                else:
                    c = None
                if p == 38:
                    self.fg = c
                else:
                    self.bg = c
                i += 1
            i += 1

    def colours(self):
        fg, bg = self.fg or DEFAULT_FG, self.bg or DEFAULT_BG
        if self.reverse:
            fg, bg = bg, fg
        if self.dim:
            fg = tuple((a + b) // 2 for a, b in zip(fg, bg))
        return fg, bg


def parse(text, cols, rows):
    grid = [[(" ", DEFAULT_FG, DEFAULT_BG, False, False, False)] * cols for _ in range(rows)]
    style = Style()
    for y, line in enumerate(text.split("\n")[:rows]):
        x = 0
        for tok in re.split(r"(\x1b\[[0-9;:]*[A-Za-z])", line):
            if tok.startswith("\x1b["):
                if tok.endswith("m"):
                    style.apply(tok[2:-1].replace(":", ";"))
                continue
            for ch in tok:
                if x < cols:
                    fg, bg = style.colours()
                    grid[y][x] = (ch, fg, bg, style.bold, style.italic, style.underline)
                x += 1
        # tmux ends each line's attributes itself; colours carry over only within a line
    return grid


def render(grid, out):
    fonts = {(b, i): ImageFont.truetype(FONT_DIR + name, SIZE) for (b, i), name in {
        (False, False): "DejaVuSansMono.ttf", (True, False): "DejaVuSansMono-Bold.ttf",
        (False, True): "DejaVuSansMono-Oblique.ttf", (True, True): "DejaVuSansMono-BoldOblique.ttf"}.items()}
    # symbols the monospace face lacks (it draws them as its "missing" box) come from DejaVu Sans
    fallback = ImageFont.truetype(FONT_DIR + "DejaVuSans.ttf", SIZE)
    def shape(c):
        m = fonts[(False, False)].getmask(c)
        return m.size, bytes(m)
    notdef = shape("\U0010fffd")
    missing = {}
    cw = round(fonts[(False, False)].getlength("M"))
    ch = round(SIZE * 1.25)
    rows, cols = len(grid), len(grid[0])
    pad = 12
    img = Image.new("RGB", (cols * cw + 2 * pad, rows * ch + 2 * pad), DEFAULT_BG)
    d = ImageDraw.Draw(img)
    for y, row in enumerate(grid):
        for x, (c, fg, bg, bold, italic, underline) in enumerate(row):
            px, py = pad + x * cw, pad + y * ch
            if bg != DEFAULT_BG:
                d.rectangle([px, py, px + cw - 1, py + ch - 1], fill=bg)
            if "\u2500" <= c <= "\u257f":
                box(d, c, px, py, cw, ch, fg)
            elif c != " ":
                if c not in missing:
                    missing[c] = ord(c) > 0x7f and shape(c) == notdef
                font = fallback if missing[c] else fonts[(bold, italic)]
                d.text((px, py + (ch - SIZE) // 2 - 1), c, font=font, fill=fg)
            if underline:
                d.line([px, py + ch - 2, px + cw - 1, py + ch - 2], fill=fg)
    img.save(out, optimize=True)


def box(d, c, x, y, w, h, fg):
    """Box-drawing characters drawn as lines, so that borders join exactly between cells."""
    mx, my = x + w // 2, y + h // 2
    r, b = x + w - 1, y + h - 1
    light = {"─": "lr", "│": "tb", "┌": "rb", "┐": "lb", "└": "rt", "┘": "lt", "├": "tbr",
             "┤": "tbl", "┬": "lrb", "┴": "lrt", "┼": "lrtb", "╭": "rb", "╮": "lb", "╰": "rt", "╯": "lt"}
    arms = light.get(c)
    if arms is None:
        return
    if "l" in arms:
        d.line([x, my, mx, my], fill=fg)
    if "r" in arms:
        d.line([mx, my, r, my], fill=fg)
    if "t" in arms:
        d.line([mx, y, mx, my], fill=fg)
    if "b" in arms:
        d.line([mx, my, mx, b], fill=fg)


def main():
    src, out = sys.argv[1], sys.argv[2]
    cols = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    rows = int(sys.argv[4]) if len(sys.argv) > 4 else 32
    render(parse(open(src, encoding="utf-8").read(), cols, rows), out)


if __name__ == "__main__":
    main()
