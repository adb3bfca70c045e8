#!/usr/bin/python3
"""Writes the seed corpus of the PNG fuzz target (tests/fuzz/corpus/png): small PNGs of every colour
type and bit depth, palettes with tRNS, Adam7 interlacing, all five row filters, text chunks
(tEXt, zTXt, iTXt) before and after the image data, and several IDAT chunks. The encoder here is
independent of libpng (zlib + struct), so tests/test-png.c also checks that libpng reads them.

Usage: tools/make-png-corpus.py [OUT_DIR]   (default tests/fuzz/corpus/png)
"""

import os
import struct
import sys
import zlib

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def sample(x, y, c, depth):
    return ((x * 7 + y * 13 + c * 101 + x * y * 3) * 2654435761 >> 9) & ((1 << depth) - 1)


def pack_row(samples, depth):
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    if depth == 8:
        return bytes(samples)
    per = 8 // depth
    out = bytearray()
    for i in range(0, len(samples), per):
        b = 0
        for k in range(per):
            s = samples[i + k] if i + k < len(samples) else 0
            b |= s << (8 - depth * (k + 1))
        out.append(b)
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def filter_rows(rows, bpp, first_filter):
    """Filters each row with filter (first_filter + row) % 5, so every filter type occurs."""
    out = bytearray()
    prev = bytes(len(rows[0])) if rows else b""
    for r, row in enumerate(rows):
        f = (first_filter + r) % 5
        line = bytearray()
        for i, v in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            pred = [0, a, b, (a + b) >> 1, paeth(a, b, c)][f]
            line.append((v - pred) & 255)
        out += bytes([f]) + line
        prev = row
    return bytes(out)


def image_data(w, h, ctype, depth, interlace, palette_size):
    ch = CHANNELS[ctype]
    bpp = max(1, ch * depth // 8)

    def px(x, y):
        if ctype == 3:
            return [sample(x, y, 0, depth) % palette_size]
        return [sample(x, y, c, depth) for c in range(ch)]

    if not interlace:
        rows = [pack_row([s for x in range(w) for s in px(x, y)], depth) for y in range(h)]
        return filter_rows(rows, bpp, 0)
    raw = b""
    for p, (x0, y0, dx, dy) in enumerate(ADAM7):
        xs, ys = range(x0, w, dx), range(y0, h, dy)
        if not xs or not ys:
            continue
        rows = [pack_row([s for x in xs for s in px(x, y)], depth) for y in ys]
        raw += filter_rows(rows, bpp, p)
    return raw


def png(w, h, ctype, depth, interlace=0, trns=False, texts_before=(), texts_after=(), idat_parts=1):
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, interlace))
    palette_size = min(1 << depth, 256)
    if ctype == 3:
        pal = b"".join(bytes([(i * 37) & 255, (i * 91 + 5) & 255, (255 - i * 53) & 255]) for i in range(palette_size))
        out += chunk(b"PLTE", pal)
        if trns:
            out += chunk(b"tRNS", bytes((i * 29) & 255 for i in range(palette_size // 2 + 1)))
    elif trns and ctype == 0:
        out += chunk(b"tRNS", struct.pack(">H", sample(0, 0, 0, depth)))
    elif trns and ctype == 2:
        out += chunk(b"tRNS", struct.pack(">HHH", *(sample(0, 0, c, depth) for c in range(3))))
    for t in texts_before:
        out += t
    data = zlib.compress(image_data(w, h, ctype, depth, interlace, palette_size), 9)
    step = max(1, -(-len(data) // idat_parts))
    for i in range(0, len(data), step):
        out += chunk(b"IDAT", data[i:i + step])
    for t in texts_after:
        out += t
    return out + chunk(b"IEND", b"")


def text(key, value):
    return chunk(b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1"))


def ztext(key, value):
    return chunk(b"zTXt", key.encode("latin-1") + b"\0\0" + zlib.compress(value.encode("latin-1")))


def itext(key, value, compressed=False):
    body = value.encode("utf-8")
    if compressed:
        body = zlib.compress(body)
    return chunk(b"iTXt", key.encode("latin-1") + b"\0" + bytes([int(compressed), 0]) + b"en\0" + b"\0" + body)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "fuzz",
                                                                  "corpus", "png")
    os.makedirs(out_dir, exist_ok=True)
    files = {
        "grey1.png": png(11, 5, 0, 1),
        "grey2-interlaced.png": png(9, 9, 0, 2, interlace=1),
        "grey4-trns.png": png(7, 6, 0, 4, trns=True),
        "grey8-interlaced.png": png(13, 11, 0, 8, interlace=1),
        "grey16-trns.png": png(6, 5, 0, 16, trns=True),
        "grey-alpha8.png": png(8, 4, 4, 8),
        "grey-alpha16-interlaced.png": png(5, 7, 4, 16, interlace=1),
        "rgb8-texts.png": png(8, 8, 2, 8, texts_before=[text("parameters", "a red circle\nSteps: 20"),
                                                           ztext("Comment", "zz " * 20)],
                              texts_after=[itext("Title", "caf\u00e9 \u2713", compressed=True)]),
        "rgb8-trns-multi-idat.png": png(16, 9, 2, 8, trns=True, idat_parts=3),
        "rgb16-interlaced.png": png(10, 10, 2, 16, interlace=1),
        "rgba8-interlaced.png": png(12, 7, 6, 8, interlace=1),
        "rgba16.png": png(4, 4, 6, 16),
        "palette1.png": png(17, 3, 3, 1),
        "palette2-trns-interlaced.png": png(9, 8, 3, 2, interlace=1, trns=True),
        "palette4.png": png(6, 6, 3, 4),
        "palette8-trns.png": png(15, 5, 3, 8, trns=True),
        "one-pixel.png": png(1, 1, 2, 8),
    }
    for name, data in files.items():
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(files)} files to {out_dir}")


if __name__ == "__main__":
    main()
