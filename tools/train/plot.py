#!/usr/bin/python3
"""Loss curves as a PNG, without matplotlib: numpy rasterisation + shapes.write_png.

  plot.py --work WORK --out loss.png     panels: AE reconstruction MSE, DiT flow-matching loss
  plot.py --csv FILE --column NAME --out loss.png [--title TEXT]

x axis: training minutes; y axis: logarithmic. Raw values in a light colour, an exponential moving
average on top. Labels use a built-in 3x5 pixel font.
"""

import argparse
import csv
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import shapes  # noqa: E402

_FONT = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001001001001",
    "8": "111101111101111", "9": "111101111001111", ".": "000000000000010", "-": "000000111000000",
    "A": "010101111101101", "B": "110101110101110", "C": "111100100100111", "D": "110101101101110",
    "E": "111100110100111", "F": "111100110100100", "G": "111100101101111", "H": "101101111101101",
    "I": "111010010010111", "K": "101101110101101", "L": "100100100100111", "M": "101111111101101",
    "N": "110101101101101", "O": "111101101101111", "P": "110101110100100", "R": "110101110101101",
    "S": "111100111001111", "T": "111010010010010", "U": "101101101101111", "W": "101101111111101",
    "X": "101101010101101", "Y": "101101010010010", "(": "010100100100010", ")": "010001001001010",
    "/": "001001010100100", ":": "000010000010000", " ": "000000000000000", "=": "000111000111000",
}


def text(canvas, x, y, s, colour=(40, 40, 40), scale=2):
    """Draw s with its top-left corner at (x, y)."""
    for ch in s.upper():
        g = _FONT.get(ch, _FONT[" "])
        for i, bit in enumerate(g):
            if bit == "1":
                r, c = divmod(i, 3)
                y0, x0 = y + r * scale, x + c * scale
                canvas[max(y0, 0):max(y0 + scale, 0), max(x0, 0):max(x0 + scale, 0)] = colour
        x += 4 * scale
    return x


def line(canvas, x0, y0, x1, y1, colour, width=1):
    n = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
    xs = np.rint(np.linspace(x0, x1, n)).astype(int)
    ys = np.rint(np.linspace(y0, y1, n)).astype(int)
    h, w, _ = canvas.shape
    for dy in range(-(width // 2), width - width // 2):
        for dx in range(-(width // 2), width - width // 2):
            xx, yy = xs + dx, ys + dy
            ok = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h)
            canvas[yy[ok], xx[ok]] = colour


def _fmt(v):
    if v >= 1:
        return f"{v:.3g}"
    e = int(math.floor(math.log10(v)))
    m = v / 10 ** e
    return f"{m:.2g}E{e}" if abs(m - 1) > 1e-6 else f"1E{e}"


def panel(xs, ys, title, xlabel="MINUTES", w=640, h=320):
    """One plot panel as uint8 [h, w, 3]."""
    c = np.full((h, w, 3), 255, np.uint8)
    L, R, T, B = 70, 16, 28, 34
    text(c, L, 8, title)
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    ok = np.isfinite(ys) & (ys > 0)
    xs, ys = xs[ok], ys[ok]
    if len(xs) < 2:
        text(c, L, h // 2, "NO DATA")
        return c
    ly = np.log10(ys)
    lo, hi = np.percentile(ly, 0.5), ly.max()
    if hi - lo < 0.1:
        lo, hi = lo - 0.05, hi + 0.05
    x_lo, x_hi = xs.min(), xs.max() if xs.max() > xs.min() else xs.min() + 1

    def px(x):
        return L + (x - x_lo) / (x_hi - x_lo) * (w - L - R)

    def py(v):
        return T + (hi - np.clip(v, lo, hi)) / (hi - lo) * (h - T - B)

    # y grid: 1, 2, 5 x 10^k
    for k in range(int(math.floor(lo)) - 1, int(math.ceil(hi)) + 1):
        for m in (1, 2, 5):
            v = math.log10(m) + k
            if lo <= v <= hi:
                yy = py(v)
                line(c, L, yy, w - R, yy, (225, 225, 225))
                text(c, 4, int(yy) - 5, _fmt(m * 10.0 ** k))
    # x grid
    step = 10 ** math.floor(math.log10(max(x_hi - x_lo, 1e-9)))
    if (x_hi - x_lo) / step < 4:
        step /= 2
    v = math.ceil(x_lo / step) * step
    while v <= x_hi + 1e-9:
        xx = px(v)
        line(c, xx, T, xx, h - B, (225, 225, 225))
        text(c, int(xx) - 6, h - B + 6, f"{v:g}")
        v += step
    text(c, w - R - 4 * 2 * len(xlabel), h - 12, xlabel)
    line(c, L, T, L, h - B, (90, 90, 90))
    line(c, L, h - B, w - R, h - B, (90, 90, 90))
    # raw and smoothed
    pts_x, pts_y = px(xs), py(ly)
    for i in range(len(xs) - 1):
        line(c, pts_x[i], pts_y[i], pts_x[i + 1], pts_y[i + 1], (170, 200, 235))
    a = min(1.0, 20.0 / len(xs))
    sm = np.empty_like(ys)
    acc = ys[0]
    for i, v in enumerate(ys):
        acc = (1 - a) * acc + a * v
        sm[i] = acc
    sy = py(np.log10(sm))
    for i in range(len(xs) - 1):
        line(c, pts_x[i], sy[i], pts_x[i + 1], sy[i + 1], (200, 60, 40), width=2)
    text(c, w - R - 150, 8, "LAST " + _fmt(sm[-1]), (200, 60, 40))
    return c


def read_csv(path, xcol, ycol):
    xs, ys = [], []
    with open(path) as f:
        for row in csv.DictReader(f):
            xs.append(float(row[xcol]) / 60.0)
            ys.append(float(row[ycol]))
    return xs, ys


def main(argv=None):
    ap = argparse.ArgumentParser(prog="plot.py", description="Loss curves as a PNG (no matplotlib).")
    ap.add_argument("--work", metavar="DIR")
    ap.add_argument("--csv", metavar="FILE")
    ap.add_argument("--column", default="loss")
    ap.add_argument("--title", default="LOSS")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    panels = []
    if args.work:
        for rel, col, title in (("ae/loss.csv", "mse", "AUTOENCODER RECONSTRUCTION MSE"),
                                ("dit/loss.csv", "loss", "TRANSFORMER FLOW MATCHING LOSS")):
            p = os.path.join(args.work, rel)
            if os.path.exists(p):
                panels.append(panel(*read_csv(p, "elapsed_s", col), title))
    if args.csv:
        panels.append(panel(*read_csv(args.csv, "elapsed_s", args.column), args.title))
    if not panels:
        print("plot.py: nothing to plot", file=sys.stderr)
        return 1
    shapes.write_png(args.out, np.concatenate(panels, 0))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
