/* PNG reader and writer: every colour type, bit depth and interlacing (fixtures written here with
 * libpng), text chunks, round trips, truncated, corrupt and oversized files. */
#define G_LOG_DOMAIN "sinopia-test"

#include <glib/gstdio.h>
#include <png.h>
#include <setjmp.h>
#include <string.h>

#include "sinopia-png.h"

/* ---- Fixtures ------------------------------------------------------------------------------- */

typedef struct {
  const char *name;
  int colour_type;
  int depth;
  gboolean trns;
} Format;

static const Format formats[] = {
  { "grey1", PNG_COLOR_TYPE_GRAY, 1, FALSE },
  { "grey2", PNG_COLOR_TYPE_GRAY, 2, FALSE },
  { "grey4", PNG_COLOR_TYPE_GRAY, 4, FALSE },
  { "grey8", PNG_COLOR_TYPE_GRAY, 8, FALSE },
  { "grey16", PNG_COLOR_TYPE_GRAY, 16, FALSE },
  { "grey4-trns", PNG_COLOR_TYPE_GRAY, 4, TRUE },
  { "grey16-trns", PNG_COLOR_TYPE_GRAY, 16, TRUE },
  { "grey-alpha8", PNG_COLOR_TYPE_GRAY_ALPHA, 8, FALSE },
  { "grey-alpha16", PNG_COLOR_TYPE_GRAY_ALPHA, 16, FALSE },
  { "rgb8", PNG_COLOR_TYPE_RGB, 8, FALSE },
  { "rgb16", PNG_COLOR_TYPE_RGB, 16, FALSE },
  { "rgb8-trns", PNG_COLOR_TYPE_RGB, 8, TRUE },
  { "rgba8", PNG_COLOR_TYPE_RGB_ALPHA, 8, FALSE },
  { "rgba16", PNG_COLOR_TYPE_RGB_ALPHA, 16, FALSE },
  { "palette1", PNG_COLOR_TYPE_PALETTE, 1, FALSE },
  { "palette2-trns", PNG_COLOR_TYPE_PALETTE, 2, TRUE },
  { "palette4", PNG_COLOR_TYPE_PALETTE, 4, FALSE },
  { "palette8-trns", PNG_COLOR_TYPE_PALETTE, 8, TRUE },
};

static guint
channels_of (int colour_type)
{
  switch (colour_type) {
  case PNG_COLOR_TYPE_GRAY_ALPHA:
    return 2;
  case PNG_COLOR_TYPE_RGB:
    return 3;
  case PNG_COLOR_TYPE_RGB_ALPHA:
    return 4;
  default:
    return 1;
  }
}

/* A sample of `depth` bits, scrambled so that every value occurs in small images. */
static guint
sample (guint x, guint y, guint c, int depth)
{
  guint v = ((x * 7 + y * 13 + c * 101 + x * y * 3) * 2654435761u) >> 9;
  return v & ((1u << depth) - 1);
}

static guint8
to8 (guint v, int depth)
{
  if (depth == 16)
    return (guint8) ((2 * v + 257) / 514); /* v / 257 rounded */
  return (guint8) (v * 255 / ((1u << depth) - 1));
}

static guint
palette_size (const Format *f)
{
  return MIN (1u << f->depth, 256u);
}

static void
palette_entry (guint i, png_color *c, guint8 *alpha, const Format *f)
{
  c->red = (png_byte) (i * 37);
  c->green = (png_byte) (i * 91 + 5);
  c->blue = (png_byte) (255 - i * 53);
  /* tRNS covers the first half of the palette; the rest is opaque. */
  *alpha = f->trns && i < palette_size (f) / 2 + 1 ? (guint8) (i * 29) : 255;
}

static void
write_bytes (png_structp png, png_bytep data, png_size_t n)
{
  g_byte_array_append (png_get_io_ptr (png), data, (guint) n);
}

static void
flush_nothing (png_structp png)
{
}

static gboolean
write_guarded (png_structp png, png_infop info, png_bytepp rows, gboolean packing, png_textp after, int n_after)
{
  if (setjmp (png_jmpbuf (png)))
    return FALSE;
  png_write_info (png, info);
  if (packing)
    png_set_packing (png);
  png_write_image (png, rows);
  if (n_after > 0)
    png_set_text (png, info, after, n_after);
  png_write_end (png, info);
  return TRUE;
}

/* A w × h PNG of format `f` and the RGBA8 the reader must return for it. */
static GBytes *
make_fixture (const Format *f, guint w, guint h, gboolean interlaced, png_textp before, int n_before,
              png_textp after, int n_after, guint8 **expected)
{
  guint ch = channels_of (f->colour_type);
  gsize bytes_per_sample = f->depth == 16 ? 2 : 1;
  guint8 *data = g_new0 (guint8, (gsize) w * h * ch * bytes_per_sample);
  png_bytep *rows = g_new (png_bytep, h);
  guint8 *rgba = g_new (guint8, (gsize) w * h * 4);
  guint trns_x = 0, trns_y = 0; /* pixel (0, 0) is the transparent colour */
  for (guint y = 0; y < h; y++) {
    rows[y] = data + (gsize) y * w * ch * bytes_per_sample;
    for (guint x = 0; x < w; x++) {
      guint v[4];
      for (guint c = 0; c < ch; c++) {
        v[c] = f->colour_type == PNG_COLOR_TYPE_PALETTE ? sample (x, y, c, f->depth) % palette_size (f)
                                                         : sample (x, y, c, f->depth);
        guint8 *dst = rows[y] + ((gsize) x * ch + c) * bytes_per_sample;
        if (f->depth == 16) {
          dst[0] = (guint8) (v[c] >> 8);
          dst[1] = (guint8) v[c];
        } else {
          dst[0] = (guint8) v[c];
        }
      }
      guint8 *e = rgba + ((gsize) y * w + x) * 4;
      gboolean transparent = FALSE;
      if (f->trns && f->colour_type != PNG_COLOR_TYPE_PALETTE) {
        transparent = TRUE;
        for (guint c = 0; c < ch; c++)
          transparent = transparent && v[c] == sample (trns_x, trns_y, c, f->depth);
      }
      switch (f->colour_type) {
      case PNG_COLOR_TYPE_GRAY:
      case PNG_COLOR_TYPE_GRAY_ALPHA:
        e[0] = e[1] = e[2] = to8 (v[0], f->depth);
        e[3] = ch == 2 ? to8 (v[1], f->depth) : transparent ? 0 : 255;
        break;
      case PNG_COLOR_TYPE_RGB:
      case PNG_COLOR_TYPE_RGB_ALPHA:
        for (guint c = 0; c < 3; c++)
          e[c] = to8 (v[c], f->depth);
        e[3] = ch == 4 ? to8 (v[3], f->depth) : transparent ? 0 : 255;
        break;
      default: {
        png_color pc;
        palette_entry (v[0], &pc, &e[3], f);
        e[0] = pc.red;
        e[1] = pc.green;
        e[2] = pc.blue;
      }
      }
    }
  }

  png_structp png = png_create_write_struct (PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct (png);
  GByteArray *out = g_byte_array_new ();
  png_set_write_fn (png, out, write_bytes, flush_nothing);
  png_set_IHDR (png, info, w, h, f->depth, f->colour_type, interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_color palette[256];
  png_byte trans[256];
  png_color_16 trans_value = { 0 };
  if (f->colour_type == PNG_COLOR_TYPE_PALETTE) {
    for (guint i = 0; i < palette_size (f); i++)
      palette_entry (i, &palette[i], &trans[i], f);
    png_set_PLTE (png, info, palette, (int) palette_size (f));
    if (f->trns)
      png_set_tRNS (png, info, trans, (int) palette_size (f) / 2 + 1, NULL);
  } else if (f->trns) {
    trans_value.gray = (png_uint_16) sample (trns_x, trns_y, 0, f->depth);
    trans_value.red = (png_uint_16) sample (trns_x, trns_y, 0, f->depth);
    trans_value.green = (png_uint_16) sample (trns_x, trns_y, 1, f->depth);
    trans_value.blue = (png_uint_16) sample (trns_x, trns_y, 2, f->depth);
    png_set_tRNS (png, info, NULL, 0, &trans_value);
  }
  if (n_before > 0)
    png_set_text (png, info, before, n_before);
  g_assert_true (write_guarded (png, info, rows, f->depth < 8, after, n_after));
  png_destroy_write_struct (&png, &info);
  g_free (rows);
  g_free (data);
  *expected = rgba;
  return g_byte_array_free_to_bytes (out);
}

static SinopiaPngImage *
decode_exact (GBytes *bytes, uint64_t max_pixels, GError **error)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  /* An exact-size heap copy, so a read past the end is caught by AddressSanitizer. */
  g_autofree guint8 *copy = g_memdup2 (data, len);
  return sinopia_png_decode (copy, len, max_pixels, "fixture.png", error);
}

/* ---- Formats -------------------------------------------------------------------------------- */

static void
test_formats (void)
{
  const guint sizes[][2] = { { 1, 1 }, { 13, 7 }, { 33, 17 } };
  for (gsize fi = 0; fi < G_N_ELEMENTS (formats); fi++)
    for (int interlaced = 0; interlaced < 2; interlaced++)
      for (gsize si = 0; si < G_N_ELEMENTS (sizes); si++) {
        guint w = sizes[si][0], h = sizes[si][1];
        g_autofree guint8 *expected = NULL;
        g_autoptr (GBytes) file = make_fixture (&formats[fi], w, h, interlaced, NULL, 0, NULL, 0, &expected);
        g_autoptr (GError) error = NULL;
        g_autoptr (SinopiaPngImage) image = decode_exact (file, 0, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (image->width, ==, w);
        g_assert_cmpuint (image->height, ==, h);
        g_assert_cmpuint (image->n_texts, ==, 0);
        for (gsize i = 0; i < (gsize) w * h * 4; i++)
          if (image->rgba[i] != expected[i])
            g_error ("%s %s %ux%u: pixel %zu channel %zu is %u, expected %u", formats[fi].name,
                     interlaced ? "interlaced" : "progressive", w, h, i / 4, i % 4, image->rgba[i], expected[i]);
      }
}

static void
test_to_rgb (void)
{
  g_autofree guint8 *expected = NULL;
  g_autoptr (GBytes) file = make_fixture (&formats[12] /* rgba8 */, 9, 5, FALSE, NULL, 0, NULL, 0, &expected);
  g_autoptr (SinopiaPngImage) image = decode_exact (file, 0, NULL);
  g_assert_nonnull (image);
  const guint8 bg[3] = { 10, 200, 255 };
  g_autofree guint8 *over = sinopia_png_image_to_rgb (image, bg);
  g_autofree guint8 *dropped = sinopia_png_image_to_rgb (image, NULL);
  for (gsize i = 0; i < 9 * 5; i++)
    for (int k = 0; k < 3; k++) {
      guint a = expected[i * 4 + 3];
      g_assert_cmpuint (dropped[i * 3 + k], ==, expected[i * 4 + k]);
      g_assert_cmpuint (over[i * 3 + k], ==, (expected[i * 4 + k] * a + bg[k] * (255 - a) + 127) / 255);
    }
}

/* ---- Texts and round trips ------------------------------------------------------------------ */

static void
test_texts_read (void)
{
  /* tEXt and zTXt are Latin-1 (0xe9 = é), iTXt UTF-8; texts may also follow the image data. */
  png_text before[3] = {
    { .compression = PNG_TEXT_COMPRESSION_NONE, .key = "Title", .text = "caf\xe9" },
    { .compression = PNG_TEXT_COMPRESSION_zTXt, .key = "Long", .text = "zz zz zz zz zz zz zz zz zz zz zz zz zz" },
    { .compression = PNG_ITXT_COMPRESSION_zTXt, .key = "Unicode", .text = "\xe2\x9c\x93 ok", .lang = "en" },
  };
  png_text after[1] = {
    { .compression = PNG_TEXT_COMPRESSION_NONE, .key = "After", .text = "late" },
  };
  g_autofree guint8 *expected = NULL;
  g_autoptr (GBytes) file = make_fixture (&formats[9], 4, 4, FALSE, before, 3, after, 1, &expected);
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaPngImage) image = decode_exact (file, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (image->n_texts, ==, 4);
  g_assert_cmpstr (sinopia_png_image_get_text (image, "Title"), ==, "caf\xc3\xa9");
  g_assert_cmpstr (sinopia_png_image_get_text (image, "Long"), ==, before[1].text);
  g_assert_cmpstr (sinopia_png_image_get_text (image, "Unicode"), ==, "\xe2\x9c\x93 ok");
  g_assert_cmpstr (sinopia_png_image_get_text (image, "After"), ==, "late");
  g_assert_null (sinopia_png_image_get_text (image, "Missing"));
  g_assert_cmpmem (image->rgba, 4 * 4 * 4, expected, 4 * 4 * 4);
}

static guint8 *
random_rgb (guint w, guint h, guint32 seed)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  guint8 *rgb = g_new (guint8, (gsize) w * h * 3);
  for (gsize i = 0; i < (gsize) w * h * 3; i++)
    rgb[i] = (guint8) g_rand_int_range (rand, 0, 256);
  return rgb;
}

static void
test_round_trip (void)
{
  g_autofree char *dir = g_dir_make_tmp ("sinopia-png-XXXXXX", NULL);
  g_assert_nonnull (dir);
  g_autofree char *path = g_build_filename (dir, "out.png", NULL);
  const guint w = 37, h = 23;
  g_autofree guint8 *rgb = random_rgb (w, h, 7);
  const char *params = "a red circle at the top left\nNegative prompt: \nSteps: 20, Seed: 42, Size: 128x128";
  const char *texts[] = { "parameters", params, "Comment", "caf\xc3\xa9 \xe2\x9c\x93", "Empty", "", NULL };

  g_autoptr (GError) error = NULL;
  g_assert_true (sinopia_png_save_rgb (path, rgb, w, h, texts, &error));
  g_assert_no_error (error);
  g_autoptr (SinopiaPngImage) image = sinopia_png_load (path, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (image->width, ==, w);
  g_assert_cmpuint (image->height, ==, h);
  g_autofree guint8 *back = sinopia_png_image_to_rgb (image, NULL);
  g_assert_cmpmem (back, w * h * 3, rgb, w * h * 3);
  for (gsize i = 0; i < (gsize) w * h; i++)
    g_assert_cmpuint (image->rgba[i * 4 + 3], ==, 255);
  g_assert_cmpuint (image->n_texts, ==, 3);
  g_assert_cmpstr (image->texts[0].key, ==, "parameters");
  g_assert_cmpstr (image->texts[0].value, ==, params);
  g_assert_cmpstr (sinopia_png_image_get_text (image, "Comment"), ==, texts[3]);
  g_assert_cmpstr (sinopia_png_image_get_text (image, "Empty"), ==, "");

  /* Same input, same bytes; the file holds exactly what encode returns. */
  g_autoptr (GBytes) a = sinopia_png_encode_rgb (rgb, w, h, texts, NULL);
  g_autoptr (GBytes) b = sinopia_png_encode_rgb (rgb, w, h, texts, NULL);
  g_assert_true (g_bytes_equal (a, b));
  g_autofree char *contents = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_assert_cmpmem (contents, len, g_bytes_get_data (a, NULL), g_bytes_get_size (a));

  /* Overwriting replaces the file and leaves no temporary file behind. */
  g_autofree guint8 *rgb2 = random_rgb (5, 3, 8);
  g_assert_true (sinopia_png_save_rgb (path, rgb2, 5, 3, NULL, &error));
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_assert_cmpstr (g_dir_read_name (d), ==, "out.png");
  g_assert_null (g_dir_read_name (d));
  g_autoptr (SinopiaPngImage) image2 = sinopia_png_load (path, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (image2->width, ==, 5);
  g_assert_cmpuint (image2->n_texts, ==, 0);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_write_errors (void)
{
  g_autofree guint8 *rgb = random_rgb (4, 4, 1);
  const char *bad_keys[] = { "", " lead", "trail ", "dou  ble", "tab\there", "caf\xc3\xa9",
                             "0123456789012345678901234567890123456789012345678901234567890123456789012345678x" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad_keys); i++) {
    const char *texts[] = { bad_keys[i], "v", NULL };
    g_autoptr (GError) error = NULL;
    g_autoptr (GBytes) bytes = sinopia_png_encode_rgb (rgb, 4, 4, texts, &error);
    g_assert_null (bytes);
    g_assert_error (error, SINOPIA_PNG_ERROR, SINOPIA_PNG_ERROR_INVALID_ARGUMENT);
  }
  {
    const char *texts[] = { "key", "\xff\xfe", NULL };
    g_autoptr (GError) error = NULL;
    g_assert_null (sinopia_png_encode_rgb (rgb, 4, 4, texts, &error));
    g_assert_error (error, SINOPIA_PNG_ERROR, SINOPIA_PNG_ERROR_INVALID_ARGUMENT);
  }
  {
    g_autoptr (GError) error = NULL;
    g_assert_null (sinopia_png_encode_rgb (rgb, 0, 4, NULL, &error));
    g_assert_error (error, SINOPIA_PNG_ERROR, SINOPIA_PNG_ERROR_INVALID_ARGUMENT);
  }
  {
    g_autoptr (GError) error = NULL;
    g_assert_false (sinopia_png_save_rgb ("/nonexistent-sinopia-dir/out.png", rgb, 4, 4, NULL, &error));
    g_assert_error (error, SINOPIA_PNG_ERROR, SINOPIA_PNG_ERROR_IO);
    g_assert_nonnull (strstr (error->message, "out.png"));
  }
}

/* ---- Broken files --------------------------------------------------------------------------- */

static guint32
crc32 (const guint8 *p, gsize n)
{
  guint32 c = 0xffffffffu;
  for (gsize i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++)
      c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
  }
  return c ^ 0xffffffffu;
}

static void
put_be32 (guint8 *p, guint32 v)
{
  p[0] = (guint8) (v >> 24);
  p[1] = (guint8) (v >> 16);
  p[2] = (guint8) (v >> 8);
  p[3] = (guint8) v;
}

static void
decode_fails (const guint8 *data, gsize len, uint64_t max_pixels, SinopiaPngErrorCode code, const char *what)
{
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *copy = g_memdup2 (data, len);
  g_autoptr (SinopiaPngImage) image = sinopia_png_decode (copy, len, max_pixels, "broken.png", &error);
  if (image != NULL)
    g_error ("%s: decoded", what);
  g_assert_error (error, SINOPIA_PNG_ERROR, (gint) code);
  g_assert_true (g_str_has_prefix (error->message, "broken.png: "));
}

static void
test_broken (void)
{
  g_autofree guint8 *expected = NULL;
  g_autoptr (GBytes) file = make_fixture (&formats[9], 40, 30, FALSE, NULL, 0, NULL, 0, &expected);
  gsize len;
  const guint8 *data = g_bytes_get_data (file, &len);

  decode_fails (data, 0, 0, SINOPIA_PNG_ERROR_NOT_PNG, "empty");
  decode_fails ((const guint8 *) "GIF89a........", 14, 0, SINOPIA_PNG_ERROR_NOT_PNG, "GIF");
  decode_fails (data, 7, 0, SINOPIA_PNG_ERROR_NOT_PNG, "7 bytes");
  /* Every cut, down to the last byte of IEND's CRC, is an error. */
  for (gsize cut = 8; cut < len; cut += cut < 64 ? 1 : 37) {
    g_autofree char *what = g_strdup_printf ("cut at %zu of %zu", cut, len);
    decode_fails (data, cut, 0, SINOPIA_PNG_ERROR_CORRUPT, what);
  }
  decode_fails (data, len - 1, 0, SINOPIA_PNG_ERROR_CORRUPT, "IEND CRC cut");

  g_autofree guint8 *bad = g_memdup2 (data, len);
  bad[16] ^= 1; /* IHDR width, CRC left stale */
  decode_fails (bad, len, 0, SINOPIA_PNG_ERROR_CORRUPT, "IHDR CRC");

  /* IDAT with garbage in the zlib stream and a correct CRC. */
  memcpy (bad, data, len);
  gsize pos = 8;
  while (pos + 8 <= len && memcmp (bad + pos + 4, "IDAT", 4) != 0)
    pos += 12 + ((gsize) bad[pos] << 24 | (gsize) bad[pos + 1] << 16 | (gsize) bad[pos + 2] << 8 | bad[pos + 3]);
  g_assert_cmpuint (pos + 8, <=, len);
  gsize idat_len = (gsize) bad[pos] << 24 | (gsize) bad[pos + 1] << 16 | (gsize) bad[pos + 2] << 8 | bad[pos + 3];
  for (gsize i = 2; i < idat_len; i += 3)
    bad[pos + 8 + i] ^= 0x5a;
  put_be32 (bad + pos + 8 + idat_len, crc32 (bad + pos + 4, idat_len + 4));
  decode_fails (bad, len, 0, SINOPIA_PNG_ERROR_CORRUPT, "IDAT garbage");

  /* Oversized: the header claims 100000 × 100000 pixels; refused before any pixel memory. */
  memcpy (bad, data, len);
  put_be32 (bad + 16, 100000);
  put_be32 (bad + 20, 100000);
  put_be32 (bad + 29, crc32 (bad + 12, 17));
  decode_fails (bad, len, 0, SINOPIA_PNG_ERROR_TOO_LARGE, "100000²");
  /* The caller's limit: 40 × 30 = 1200 pixels. */
  decode_fails (data, len, 1199, SINOPIA_PNG_ERROR_TOO_LARGE, "limit 1199");
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *copy = g_memdup2 (data, len);
  g_autoptr (SinopiaPngImage) ok = sinopia_png_decode (copy, len, 1200, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ok->width * ok->height, ==, 1200);

  g_autoptr (SinopiaPngImage) none = sinopia_png_load ("/nonexistent-sinopia-file.png", 0, &error);
  g_assert_null (none);
  g_assert_error (error, SINOPIA_PNG_ERROR, SINOPIA_PNG_ERROR_IO);
}

/* The fuzz seed corpus, written by tools/make-png-corpus.py with its own encoder (zlib + struct,
 * all five row filters, its own Adam7 layout) and the sample and palette formulas used here:
 * every file decodes to what the libpng-written fixture of the same format decodes to. */
static void
test_corpus (void)
{
  static const struct {
    const char *file, *format;
  } files[] = {
    { "grey1.png", "grey1" }, { "grey2-interlaced.png", "grey2" }, { "grey4-trns.png", "grey4-trns" },
    { "grey8-interlaced.png", "grey8" }, { "grey16-trns.png", "grey16-trns" }, { "grey-alpha8.png", "grey-alpha8" },
    { "grey-alpha16-interlaced.png", "grey-alpha16" }, { "rgb8-texts.png", "rgb8" },
    { "rgb8-trns-multi-idat.png", "rgb8-trns" }, { "rgb16-interlaced.png", "rgb16" },
    { "rgba8-interlaced.png", "rgba8" }, { "rgba16.png", "rgba16" }, { "palette1.png", "palette1" },
    { "palette2-trns-interlaced.png", "palette2-trns" }, { "palette4.png", "palette4" },
    { "palette8-trns.png", "palette8-trns" }, { "one-pixel.png", "rgb8" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (files); i++) {
    g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fuzz", "corpus", "png", files[i].file, NULL);
    g_autoptr (GError) error = NULL;
    g_autoptr (SinopiaPngImage) image = sinopia_png_load (path, 0, &error);
    g_assert_no_error (error);
    const Format *f = NULL;
    for (gsize k = 0; k < G_N_ELEMENTS (formats); k++)
      if (strcmp (formats[k].name, files[i].format) == 0)
        f = &formats[k];
    g_assert_nonnull (f);
    g_autofree guint8 *expected = NULL;
    g_autoptr (GBytes) fixture = make_fixture (f, image->width, image->height, FALSE, NULL, 0, NULL, 0, &expected);
    g_assert_nonnull (fixture);
    if (memcmp (image->rgba, expected, (gsize) image->width * image->height * 4) != 0)
      g_error ("%s decodes to other pixels than the %s fixture", files[i].file, files[i].format);
    if (strcmp (files[i].file, "rgb8-texts.png") == 0) {
      g_assert_cmpuint (image->n_texts, ==, 3);
      g_assert_cmpstr (sinopia_png_image_get_text (image, "parameters"), ==, "a red circle\nSteps: 20");
      g_assert_cmpstr (sinopia_png_image_get_text (image, "Title"), ==, "caf\xc3\xa9 \xe2\x9c\x93");
    }
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/png/formats", test_formats);
  g_test_add_func ("/png/to-rgb", test_to_rgb);
  g_test_add_func ("/png/texts-read", test_texts_read);
  g_test_add_func ("/png/round-trip", test_round_trip);
  g_test_add_func ("/png/write-errors", test_write_errors);
  g_test_add_func ("/png/broken", test_broken);
  g_test_add_func ("/png/corpus", test_corpus);
  return g_test_run ();
}
