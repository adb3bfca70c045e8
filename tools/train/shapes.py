#!/usr/bin/python3
"""The procedural "shapes world" Sinopia's embedded model is trained on (numpy only).

A sample is a 128x128 RGB image: one plain background colour and 1-3 objects, each a shape (circle,
square, triangle, diamond, star, ring) in a named colour, a size class and a cell of a 3x3 grid, drawn
with anti-aliased edges (4x4 supersampling of each object's box). Every sample comes with its scene
(a dict, and the JSON text the C analyzer reads; schema in docs/shapes-world.md) and a caption.

Determinism: sample `index` of a run with seed `seed` draws everything from
numpy.random.default_rng([seed, index]) (held-out samples from [seed, index, 1]), so any sample can be
regenerated on its own, in any order, on any machine with the same numpy.

Library use:
    import shapes
    s = shapes.make_sample(seed, index)            # {"image", "scene", "json", "caption", "canonical"}
    img = shapes.render_scene(scene)               # uint8 [128, 128, 3]
    cap = shapes.caption(scene, rng, mode)         # mode: canonical | varied | partial | object | None (mixture)
    shapes.write_png(path, img)

Command line:
    shapes.py --seed S --count N --out DIR [--start I] [--held-out]
writes DIR/NNNNNN.png, DIR/NNNNNN.json (the scene, with its captions) and DIR/captions.txt
("NNNNNN.png<TAB>caption" per line, the canonical caption in a third column).
"""

import argparse
import json
import os
import struct
import sys
import zlib

import numpy as np

SIDE = 128
SCHEMA_VERSION = 1

# Colour names and their sRGB prototypes; drawn colours are within +-10 per channel.
COLOURS = {
    "red": (220, 40, 40),
    "orange": (240, 140, 30),
    "yellow": (240, 220, 40),
    "green": (50, 170, 60),
    "cyan": (40, 200, 210),
    "blue": (40, 70, 210),
    "purple": (140, 50, 190),
    "pink": (240, 130, 190),
    "white": (245, 245, 245),
    "black": (20, 20, 20),
}
COLOUR_NAMES = list(COLOURS)
COLOUR_JITTER = 10

SHAPES = ["circle", "square", "triangle", "diamond", "star", "ring"]

# Size class -> object extent (bounding-box width) as a fraction of the image side; drawn +-10%.
SIZES = {"small": 1 / 8, "medium": 1 / 5, "large": 1 / 3}
SIZE_NAMES = list(SIZES)
SIZE_JITTER = 0.10

# 3x3 grid, row-major: index = row * 3 + col.
POSITIONS = ["top left", "top", "top right", "left", "center", "right", "bottom left", "bottom", "bottom right"]
# The centre is drawn within +-CELL_JITTER of a cell's width around the cell centre (so it stays well
# inside the cell), then pulled in where the object would otherwise leave the image.
CELL_JITTER = 0.30

# (colour, shape) combinations never generated for training; --held-out generates them for evaluation.
HELD_OUT = {("purple", "triangle"), ("orange", "ring"), ("cyan", "star")}

RING_INNER = 0.55  # inner radius / outer radius
STAR_INNER = 0.42  # inner vertex radius / outer vertex radius
SUPERSAMPLE = 4    # samples per pixel along each axis
MIN_GAP = 2.0      # pixels between the boxes of two objects


# ------------------------------------------------------------------------------------------------
# Geometry
# ------------------------------------------------------------------------------------------------

def shape_polygon(shape, cx, cy, extent):
    """Vertices (x, y) of the polygonal shapes, centred so that their bounding box centre is (cx, cy)
    and their width is `extent`. None for circle and ring."""
    r = extent / 2
    if shape == "square":
        return np.array([(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)])
    if shape == "diamond":
        return np.array([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)])
    if shape == "triangle":  # equilateral, pointing up
        h = extent * np.sqrt(3) / 2
        return np.array([(cx, cy - h / 2), (cx + r, cy + h / 2), (cx - r, cy + h / 2)])
    if shape == "star":  # five points, one pointing up
        R = extent / (2 * np.sin(np.radians(72)))
        ang = np.radians(-90 + 36 * np.arange(10))
        rad = np.where(np.arange(10) % 2 == 0, R, R * STAR_INNER)
        pts = np.stack([rad * np.cos(ang), rad * np.sin(ang)], axis=1)
        lo, hi = pts.min(0), pts.max(0)
        return pts - (lo + hi) / 2 + np.array([cx, cy])
    return None


def shape_extents(shape, extent):
    """(width, height) of the shape's bounding box for a given extent (width)."""
    if shape == "triangle":
        return extent, extent * np.sqrt(3) / 2
    if shape == "star":
        p = shape_polygon("star", 0.0, 0.0, extent)
        return extent, float(p[:, 1].max() - p[:, 1].min())
    return extent, extent


def _inside_polygon(poly, X, Y):
    """Even-odd point-in-polygon test for arrays of points."""
    inside = np.zeros(X.shape, dtype=bool)
    n = len(poly)
    for i in range(n):
        x1, y1 = poly[i]
        x2, y2 = poly[(i + 1) % n]
        if y1 == y2:
            continue
        crosses = (y1 > Y) != (y2 > Y)
        xint = (x2 - x1) * (Y - y1) / (y2 - y1) + x1
        inside ^= crosses & (X < xint)
    return inside


def coverage(obj, side=SIDE):
    """Anti-aliased coverage of one object: (y0, x0, alpha[h, w] in [0, 1]) for the pixel window
    [y0, y0+h) x [x0, x0+w). Pixel (i, j) is the square [j, j+1) x [i, i+1)."""
    cx, cy = obj["centre"]
    w, h = shape_extents(obj["shape"], obj["extent"])
    x0, x1 = max(int(np.floor(cx - w / 2)) - 1, 0), min(int(np.ceil(cx + w / 2)) + 1, side)
    y0, y1 = max(int(np.floor(cy - h / 2)) - 1, 0), min(int(np.ceil(cy + h / 2)) + 1, side)
    ss = SUPERSAMPLE
    xs = x0 + (np.arange((x1 - x0) * ss) + 0.5) / ss
    ys = y0 + (np.arange((y1 - y0) * ss) + 0.5) / ss
    X, Y = np.meshgrid(xs, ys)
    shape = obj["shape"]
    if shape in ("circle", "ring"):
        d2 = (X - cx) ** 2 + (Y - cy) ** 2
        r = obj["extent"] / 2
        inside = d2 <= r * r
        if shape == "ring":
            inside &= d2 >= (r * RING_INNER) ** 2
    else:
        inside = _inside_polygon(shape_polygon(shape, cx, cy, obj["extent"]), X, Y)
    alpha = inside.reshape(y1 - y0, ss, x1 - x0, ss).mean(axis=(1, 3))
    return y0, x0, alpha


def render_scene(scene):
    """Scene dict -> uint8 image [H, W, 3]. Objects are painted in list order."""
    side = scene.get("width", SIDE)
    img = np.empty((side, side, 3), dtype=np.float32)
    img[:] = np.asarray(scene["background"]["rgb"], dtype=np.float32)
    for obj in scene["objects"]:
        y0, x0, a = coverage(obj, side)
        h, w = a.shape
        a = a[..., None].astype(np.float32)
        win = img[y0:y0 + h, x0:x0 + w]
        win *= 1 - a
        win += a * np.asarray(obj["rgb"], dtype=np.float32)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------------------------
# Scenes
# ------------------------------------------------------------------------------------------------

def _jitter_colour(rng, name):
    base = np.asarray(COLOURS[name])
    return [int(v) for v in np.clip(base + rng.integers(-COLOUR_JITTER, COLOUR_JITTER + 1, 3), 0, 255)]


def _boxes_overlap(a, b, gap=MIN_GAP):
    return not (a[2] + gap <= b[0] or b[2] + gap <= a[0] or a[3] + gap <= b[1] or b[3] + gap <= a[1])


def _float_box(shape, cx, cy, extent):
    w, h = shape_extents(shape, extent)
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def sample_scene(rng, held_out=False, n_objects=None, side=SIDE):
    """Draw a scene. Training scenes (held_out False) never contain a HELD_OUT combination; with
    held_out True the first object drawn is always one (the others are unrestricted)."""
    bg = COLOUR_NAMES[rng.integers(len(COLOUR_NAMES))]
    if n_objects is None:
        n_objects = int(rng.choice([1, 2, 3], p=[0.3, 0.35, 0.35]))
    cell_w = side / 3
    objects, boxes, used = [], [], set()
    held = sorted(HELD_OUT)
    for k in range(n_objects):
        # Shape and colour: never the background's colour; held-out combinations only when asked.
        while True:
            if held_out and k == 0:
                colour, shape = held[rng.integers(len(held))]
            else:
                colour = COLOUR_NAMES[rng.integers(len(COLOUR_NAMES))]
                shape = SHAPES[rng.integers(len(SHAPES))]
            if colour == bg:
                if held_out and k == 0:
                    bg = [c for c in COLOUR_NAMES if c != colour][rng.integers(len(COLOUR_NAMES) - 1)]
                continue
            if (colour, shape) in HELD_OUT and not held_out:
                continue
            break
        # Cell, size and jitter: retry until the box fits the image and keeps clear of the others.
        placed = None
        for _ in range(60):
            free = [c for c in range(9) if c not in used]
            cell = free[rng.integers(len(free))]
            size = SIZE_NAMES[rng.integers(len(SIZE_NAMES))]
            extent = SIZES[size] * side * rng.uniform(1 - SIZE_JITTER, 1 + SIZE_JITTER)
            w, h = shape_extents(shape, extent)
            row, col = divmod(cell, 3)
            cxs, cys = (col + 0.5) * cell_w, (row + 0.5) * cell_w
            cx = cxs + rng.uniform(-CELL_JITTER, CELL_JITTER) * cell_w
            cy = cys + rng.uniform(-CELL_JITTER, CELL_JITTER) * cell_w
            cx = float(np.clip(cx, w / 2 + 1, side - w / 2 - 1))
            cy = float(np.clip(cy, h / 2 + 1, side - h / 2 - 1))
            if not (col * cell_w < cx < (col + 1) * cell_w and row * cell_w < cy < (row + 1) * cell_w):
                continue
            box = _float_box(shape, cx, cy, extent)
            if any(_boxes_overlap(box, b) for b in boxes):
                continue
            placed = (cell, size, extent, cx, cy, box)
            break
        if placed is None:
            break  # no room left: the scene has fewer objects (never happens for the first one)
        cell, size, extent, cx, cy, box = placed
        used.add(cell)
        boxes.append(box)
        objects.append({
            "shape": shape, "colour": colour, "rgb": _jitter_colour(rng, colour),
            "size": size, "extent": round(float(extent), 3),
            "position": POSITIONS[cell], "cell": [cell // 3, cell % 3],
            "centre": [round(cx, 3), round(cy, 3)],
            "held_out": (colour, shape) in HELD_OUT,
        })
    scene = {"version": SCHEMA_VERSION, "width": side, "height": side,
             "background": {"colour": bg, "rgb": _jitter_colour(rng, bg)}, "objects": objects}
    # Pixel boxes from the rendered coverage: every pixel an object touches (end exclusive).
    for obj in objects:
        y0, x0, a = coverage(obj, side)
        ys, xs = np.nonzero(a > 0)
        obj["bbox"] = [int(x0 + xs.min()), int(y0 + ys.min()), int(x0 + xs.max() + 1), int(y0 + ys.max() + 1)]
    return scene


# ------------------------------------------------------------------------------------------------
# Captions
# ------------------------------------------------------------------------------------------------

def _article(word):
    return "an" if word[0] in "aeiou" else "a"


def _with_article(words):
    return f"{_article(words)} {words}"


def reading_order(objects):
    """Objects sorted top-to-bottom, left-to-right by grid cell (the canonical caption's order)."""
    return sorted(objects, key=lambda o: o["cell"][0] * 3 + o["cell"][1])


def canonical_position(pos):
    return "in the center" if pos == "center" else f"at the {pos}"


def canonical_caption(scene):
    """'a large red circle at the top left and a small blue star in the center on a yellow background'"""
    parts = [_with_article(f"{o['size']} {o['colour']} {o['shape']}") + " " + canonical_position(o["position"])
             for o in reading_order(scene["objects"])]
    return " and ".join(parts) + f" on {_with_article(scene['background']['colour'])} background"


_SIZE_WORDS = {"small": ["small", "small", "little", "tiny"], "medium": ["medium", "medium", "medium-sized"],
               "large": ["large", "large", "big", "huge"]}


def _position_phrase(rng, pos):
    if pos == "center":
        opts = ["in the center", "in the center", "in the middle", "at the center"]
    elif " " in pos:  # corners
        opts = [f"at the {pos}", f"in the {pos}", f"in the {pos} corner", f"at the {pos} corner"]
    elif pos in ("left", "right"):
        opts = [f"at the {pos}", f"on the {pos}", f"on the {pos} side"]
    else:  # top, bottom
        opts = [f"at the {pos}", f"at the {pos}", f"along the {pos}"]
    return opts[rng.integers(len(opts))]


def _object_phrase(rng, o, size=True, position=True, varied=True, article=True):
    words = []
    if size:
        syn = _SIZE_WORDS[o["size"]]
        words.append(syn[rng.integers(len(syn))] if varied else o["size"])
    words += [o["colour"], o["shape"]]
    text = " ".join(words)
    if article:
        text = _with_article(text) if not varied or rng.random() < 0.85 else "one " + text
    if position:
        text += " " + (_position_phrase(rng, o["position"]) if varied else canonical_position(o["position"]))
    return text


def _join(rng, parts, varied):
    if len(parts) == 1:
        return parts[0]
    if not varied or rng.random() < 0.6:
        return " and ".join(parts)
    if rng.random() < 0.5:
        return ", ".join(parts[:-1]) + " and " + parts[-1]
    return ", ".join(parts)


def caption(scene, rng, mode=None):
    """A caption for the scene.

    mode: "canonical"; "varied" (every part, other words/orders); "partial" (size, position and/or
    background left out); "object" (one object, colour and shape only, e.g. "a red circle" or "green
    triangle": what a regional prompt looks like; only for one-object scenes, others fall back to
    "partial"); None draws a mode: canonical 35%, varied 25%, partial 30%, object 10%.
    """
    if mode is None:
        mode = ["canonical", "varied", "partial", "object"][int(rng.choice(4, p=[0.35, 0.25, 0.30, 0.10]))]
    objs = scene["objects"]
    if mode == "object" and len(objs) != 1:
        mode = "partial"
    if mode == "canonical":
        return canonical_caption(scene)
    if mode == "object":
        o = objs[0]
        return _object_phrase(rng, o, size=rng.random() < 0.3, position=False, varied=rng.random() < 0.5,
                              article=rng.random() < 0.6)
    varied = mode == "varied" or rng.random() < 0.5
    keep_size, keep_pos, keep_bg = True, True, True
    if mode == "partial":
        while keep_size and keep_pos and keep_bg:
            keep_size, keep_pos, keep_bg = rng.random() < 0.5, rng.random() < 0.5, rng.random() < 0.5
    order = reading_order(objs)
    if varied and rng.random() < 0.3:
        order = [order[i] for i in rng.permutation(len(order))]
    parts = [_object_phrase(rng, o, size=keep_size, position=keep_pos, varied=varied) for o in order]
    text = _join(rng, parts, varied)
    if keep_bg:
        bg = scene["background"]["colour"]
        form = rng.integers(5) if varied else 0
        if form <= 1:
            text += f" on {_with_article(bg)} background"
        elif form == 2:
            text += f" with {_with_article(bg)} background"
        elif form == 3:
            text += f" against {_with_article(bg)} background"
        else:
            text = f"{_with_article(bg)} background with {text}"
    return text


# ------------------------------------------------------------------------------------------------
# Samples
# ------------------------------------------------------------------------------------------------

def sample_rng(seed, index, held_out=False):
    return np.random.default_rng([int(seed), int(index)] + ([1] if held_out else []))


def scene_json(scene):
    return json.dumps(scene, separators=(", ", ": "))


def make_sample(seed, index, held_out=False):
    """Sample `index` of the stream `seed`: image, scene, its JSON, a drawn caption and the canonical one."""
    rng = sample_rng(seed, index, held_out)
    scene = sample_scene(rng, held_out=held_out)
    cap = caption(scene, rng)
    canon = canonical_caption(scene)
    scene_out = dict(scene, seed=int(seed), index=int(index), held_out_set=bool(held_out),
                     caption=cap, canonical_caption=canon)
    return {"image": render_scene(scene), "scene": scene_out, "json": scene_json(scene_out),
            "caption": cap, "canonical": canon}


# ------------------------------------------------------------------------------------------------
# PNG (zlib + struct)
# ------------------------------------------------------------------------------------------------

def png_bytes(img, text=None):
    """uint8 [H, W] (grey), [H, W, 3] (RGB) or [H, W, 4] (RGBA) -> PNG file bytes. text: optional
    {keyword: value} tEXt chunks (Latin-1)."""
    a = np.ascontiguousarray(img, dtype=np.uint8)
    if a.ndim == 2:
        a = a[..., None]
    h, w, c = a.shape
    colour_type = {1: 0, 3: 2, 4: 6}[c]

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    raw = np.zeros((h, 1 + w * c), dtype=np.uint8)  # filter byte 0 (None) per row
    raw[:, 1:] = a.reshape(h, w * c)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0))
    for k, v in (text or {}).items():
        out += chunk(b"tEXt", k.encode("latin-1") + b"\0" + str(v).encode("latin-1", "replace"))
    out += chunk(b"IDAT", zlib.compress(raw.tobytes(), 9)) + chunk(b"IEND", b"")
    return out


def write_png(path, img, text=None):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(png_bytes(img, text))
    os.replace(tmp, path)


def read_png(path):
    """Reader for the PNGs written above (8-bit grey/RGB/RGBA, non-interlaced, any filter)."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, tag = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if tag == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif tag == b"IDAT":
            idat += body
        elif tag == b"IEND":
            break
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or interlace or ctype not in (0, 2, 6):
        raise ValueError(f"{path}: only 8-bit non-interlaced grey/RGB/RGBA PNGs are supported")
    c = {0: 1, 2: 3, 6: 4}[ctype]
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(h, 1 + w * c)
    out = np.zeros((h, w * c), dtype=np.int32)
    prev = np.zeros(w * c, dtype=np.int32)
    for y in range(h):
        f, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        if f == 0:
            cur = line
        elif f == 2:
            cur = (line + prev) & 255
        else:
            cur = np.zeros_like(line)
            for x in range(w * c):
                a = cur[x - c] if x >= c else 0
                b, d = prev[x], prev[x - c] if x >= c else 0
                if f == 1:
                    pred = a
                elif f == 3:
                    pred = (a + b) >> 1
                else:
                    p = a + b - d
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - d)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else d)
                cur[x] = (line[x] + pred) & 255
        out[y] = cur
        prev = cur
    return out.astype(np.uint8).reshape(h, w, c) if c > 1 else out.astype(np.uint8).reshape(h, w)


# ------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(prog="shapes.py", description="Generate shapes-world samples: PNG + scene JSON + captions.")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--out", required=True, metavar="DIR")
    ap.add_argument("--start", type=int, default=0, help="index of the first sample (default 0)")
    ap.add_argument("--held-out", action="store_true",
                    help="evaluation samples: each contains a held-out combination (purple triangle, orange ring, cyan star)")
    args = ap.parse_args(argv)
    if args.count < 0 or args.start < 0:
        ap.error("--count and --start must not be negative")
    os.makedirs(args.out, exist_ok=True)
    lines = []
    for i in range(args.start, args.start + args.count):
        s = make_sample(args.seed, i, args.held_out)
        name = f"{i:06d}"
        write_png(os.path.join(args.out, name + ".png"), s["image"])
        with open(os.path.join(args.out, name + ".json"), "w") as f:
            f.write(s["json"] + "\n")
        lines.append(f"{name}.png\t{s['caption']}\t{s['canonical']}\n")
    with open(os.path.join(args.out, "captions.txt"), "w") as f:
        f.writelines(lines)
    print(f"wrote {args.count} samples to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
