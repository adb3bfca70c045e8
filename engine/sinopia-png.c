/* sinopia-png.c — PNG reading into RGBA8 and atomic RGB8 writing with text chunks, on libpng. */
#define G_LOG_DOMAIN "sinopia-png"

#include "sinopia-png.h"

#include <png.h>
#include <setjmp.h>
#include <string.h>

G_DEFINE_QUARK (sinopia-png-error-quark, sinopia_png_error)

/* Decompressed text chunks and other ancillary chunk data above this are libpng errors. */
#define MAX_CHUNK_BYTES (1u << 20)
/* Ancillary chunks kept (text, sPLT, unknown); more are dropped with a warning. */
#define MAX_CHUNKS 64u

/* State shared by a libpng call sequence and the callbacks; the setjmp target lives in libpng's
 * struct, so nothing here changes meaning across a longjmp. */
typedef struct {
  png_structp png;
  png_infop info;
  char message[256];
  /* Reading: the input. */
  const guint8 *data;
  gsize len;
  gsize pos;
  /* Reading: the output; writing: the input. */
  guint width;
  guint height;
  guint8 *pixels;
  png_bytepp rows;
  /* Writing. */
  GByteArray *out;
  png_textp texts;
  int n_texts;
} Codec;

static void
on_error (png_structp png, png_const_charp message)
{
  Codec *c = png_get_error_ptr (png);
  g_strlcpy (c->message, message, sizeof c->message);
  png_longjmp (png, 1);
}

static void
on_warning (png_structp png, png_const_charp message)
{
  /* Warnings are about chunks libpng skips (bad ancillary CRC, unknown profile); they do not
   * change the pixels, and G_DEBUG=fatal-warnings must not abort on a user's odd file. */
  g_debug ("libpng: %s", message);
}

/* Runs `body` with libpng's error handling armed: the only setjmp in Sinopia's PNG code. Every
 * value `body` produces is stored in `c`, never in this frame, so a longjmp loses nothing. */
static gboolean
run_guarded (Codec *c, void (*body) (Codec *c))
{
  if (setjmp (png_jmpbuf (c->png)))
    return FALSE;
  body (c);
  return TRUE;
}

/* ---- Reading -------------------------------------------------------------------------------- */

static void
read_bytes (png_structp png, png_bytep dest, png_size_t n)
{
  Codec *c = png_get_io_ptr (png);
  if (n > c->len - c->pos)
    png_error (png, "the file ends early");
  memcpy (dest, c->data + c->pos, n);
  c->pos += n;
}

static void
read_header (Codec *c)
{
  png_set_read_fn (c->png, c, read_bytes);
  png_set_sig_bytes (c->png, 0);
  png_read_info (c->png, c->info);
  c->width = png_get_image_width (c->png, c->info);
  c->height = png_get_image_height (c->png, c->info);
}

static void
read_pixels (Codec *c)
{
  png_set_expand (c->png);      /* palette → RGB, 1/2/4-bit grey → 8-bit, tRNS → alpha */
  png_set_scale_16 (c->png);    /* rounds; png_set_strip_16 would truncate */
  png_set_gray_to_rgb (c->png);
  png_set_add_alpha (c->png, 0xff, PNG_FILLER_AFTER);
  png_set_interlace_handling (c->png);
  png_read_update_info (c->png, c->info);
  if (png_get_rowbytes (c->png, c->info) != (png_size_t) c->width * 4)
    png_error (c->png, "unexpected row layout after conversion to RGBA");
  png_read_image (c->png, c->rows);
  png_read_end (c->png, c->info);
}

static char *
latin1_to_utf8 (const char *s, gsize len)
{
  GString *out = g_string_sized_new (len);
  for (gsize i = 0; i < len && s[i]; i++) {
    guint8 b = (guint8) s[i];
    if (b < 0x80) {
      g_string_append_c (out, (char) b);
    } else {
      g_string_append_c (out, (char) (0xc0 | (b >> 6)));
      g_string_append_c (out, (char) (0x80 | (b & 0x3f)));
    }
  }
  return g_string_free (out, FALSE);
}

static void
collect_texts (Codec *c, SinopiaPngImage *image)
{
  png_textp texts = NULL;
  int n = png_get_text (c->png, c->info, &texts, NULL);
  if (n <= 0 || texts == NULL)
    return;
  image->texts = g_new0 (SinopiaPngText, n);
  for (int i = 0; i < n; i++) {
    const png_text *t = &texts[i];
    SinopiaPngText *dst = &image->texts[image->n_texts++];
    dst->key = latin1_to_utf8 (t->key, strlen (t->key));
    const char *value = t->text ? t->text : "";
    if (t->compression == PNG_ITXT_COMPRESSION_NONE || t->compression == PNG_ITXT_COMPRESSION_zTXt) {
      gsize len = t->text ? strnlen (value, t->itxt_length) : 0;
      dst->value = g_utf8_make_valid (value, (gssize) len);
    } else {
      dst->value = latin1_to_utf8 (value, t->text ? t->text_length : 0);
    }
  }
}

/* The chunk layout, before libpng sees it: libpng allocates (and clears) a chunk's stated length
 * before reading it, and only warns when that exceeds its limits, so a few bytes claiming a 2 GiB
 * text chunk would cost 2 GiB. Here every chunk must fit in the bytes that remain. */
static gboolean
check_chunks (const guint8 *data, gsize len, const char *shown, GError **error)
{
  gsize pos = 8;
  while (pos < len) {
    if (len - pos < 12)
      break;
    uint32_t n = (uint32_t) data[pos] << 24 | (uint32_t) data[pos + 1] << 16 | (uint32_t) data[pos + 2] << 8 |
                 data[pos + 3];
    char type[5] = { 0 };
    for (int k = 0; k < 4; k++)
      type[k] = g_ascii_isalpha (data[pos + 4 + k]) ? (char) data[pos + 4 + k] : '?';
    if (n > PNG_UINT_31_MAX || n > len - pos - 12) {
      g_set_error (error, SINOPIA_PNG_ERROR, SINOPIA_PNG_ERROR_CORRUPT,
                   "%s: the file ends early (chunk %s at byte %zu claims %u bytes, %zu remain)", shown, type, pos, n,
                   len - pos - 12);
      return FALSE;
    }
    pos += 12 + (gsize) n;
    if (memcmp (type, "IEND", 4) == 0)
      return TRUE;
  }
  g_set_error (error, SINOPIA_PNG_ERROR, SINOPIA_PNG_ERROR_CORRUPT, "%s: the file ends early (no IEND chunk)", shown);
  return FALSE;
}

static void
codec_free_read (Codec *c)
{
  png_destroy_read_struct (&c->png, &c->info, NULL);
  g_free (c->pixels);
  g_free (c->rows);
}

SinopiaPngImage *
sinopia_png_decode (const guint8 *data, gsize len, uint64_t max_pixels, const char *name, GError **error)
{
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  const char *shown = name ? name : "PNG";
  if (max_pixels == 0)
    max_pixels = SINOPIA_PNG_DEFAULT_MAX_PIXELS;
  if (len < 8 || png_sig_cmp ((png_const_bytep) data, 0, 8) != 0) {
    g_set_error (error, SINOPIA_PNG_ERROR, SINOPIA_PNG_ERROR_NOT_PNG, "%s: not a PNG file", shown);
    return NULL;
  }
  if (!check_chunks (data, len, shown, error))
    return NULL;

  Codec c = { .data = data, .len = len };
  c.png = png_create_read_struct (PNG_LIBPNG_VER_STRING, &c, on_error, on_warning);
  if (c.png)
    c.info = png_create_info_struct (c.png);
  if (c.info == NULL) {
    codec_free_read (&c);
    g_set_error (error, SINOPIA_PNG_ERROR, SINOPIA_PNG_ERROR_CORRUPT, "%s: out of memory", shown);
    return NULL;
  }
  png_set_chunk_malloc_max (c.png, MAX_CHUNK_BYTES);
  png_set_chunk_cache_max (c.png, MAX_CHUNKS);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  /* Mutated inputs would otherwise almost all stop at a checksum. */
  png_set_crc_action (c.png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);
  png_set_option (c.png, PNG_IGNORE_ADLER32, PNG_OPTION_ON);
#endif

  if (!run_guarded (&c, read_header)) {
    g_set_error (error, SINOPIA_PNG_ERROR, SINOPIA_PNG_ERROR_CORRUPT, "%s: %s", shown, c.message);
    codec_free_read (&c);
    return NULL;
  }
  uint64_t pixels = (uint64_t) c.width * c.height;
  if (pixels > max_pixels) {
    g_set_error (error, SINOPIA_PNG_ERROR, SINOPIA_PNG_ERROR_TOO_LARGE,
                 "%s: the image is %u×%u pixels, more than the limit of %" G_GUINT64_FORMAT " pixels", shown,
                 c.width, c.height, max_pixels);
    codec_free_read (&c);
    return NULL;
  }
  c.pixels = g_try_malloc ((gsize) pixels * 4);
  c.rows = g_try_new (png_bytep, c.height);
  if (c.pixels == NULL || c.rows == NULL) {
    g_set_error (error, SINOPIA_PNG_ERROR, SINOPIA_PNG_ERROR_TOO_LARGE,
                 "%s: not enough memory for %u×%u pixels", shown, c.width, c.height);
    codec_free_read (&c);
    return NULL;
  }
  for (guint y = 0; y < c.height; y++)
    c.rows[y] = c.pixels + (gsize) y * c.width * 4;
  if (!run_guarded (&c, read_pixels)) {
    g_set_error (error, SINOPIA_PNG_ERROR, SINOPIA_PNG_ERROR_CORRUPT, "%s: %s", shown, c.message);
    codec_free_read (&c);
    return NULL;
  }

  SinopiaPngImage *image = g_new0 (SinopiaPngImage, 1);
  image->width = c.width;
  image->height = c.height;
  image->rgba = g_steal_pointer (&c.pixels);
  collect_texts (&c, image);
  codec_free_read (&c);
  return image;
}

SinopiaPngImage *
sinopia_png_load (const char *path, uint64_t max_pixels, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  g_autofree char *shown = g_filename_display_name (path);
  g_autoptr (GError) local = NULL;
  GMappedFile *file = g_mapped_file_new (path, FALSE, &local);
  if (file == NULL) {
    g_set_error (error, SINOPIA_PNG_ERROR, SINOPIA_PNG_ERROR_IO, "%s", local->message);
    return NULL;
  }
  SinopiaPngImage *image = sinopia_png_decode ((const guint8 *) g_mapped_file_get_contents (file),
                                               g_mapped_file_get_length (file), max_pixels, shown, error);
  g_mapped_file_unref (file);
  return image;
}

void
sinopia_png_image_free (SinopiaPngImage *image)
{
  if (image == NULL)
    return;
  for (guint i = 0; i < image->n_texts; i++) {
    g_free (image->texts[i].key);
    g_free (image->texts[i].value);
  }
  g_free (image->texts);
  g_free (image->rgba);
  g_free (image);
}

const char *
sinopia_png_image_get_text (const SinopiaPngImage *image, const char *key)
{
  g_return_val_if_fail (image != NULL && key != NULL, NULL);
  for (guint i = 0; i < image->n_texts; i++)
    if (strcmp (image->texts[i].key, key) == 0)
      return image->texts[i].value;
  return NULL;
}

guint8 *
sinopia_png_image_to_rgb (const SinopiaPngImage *image, const guint8 *background)
{
  g_return_val_if_fail (image != NULL, NULL);
  gsize n = (gsize) image->width * image->height;
  guint8 *rgb = g_malloc (n * 3);
  for (gsize i = 0; i < n; i++) {
    const guint8 *p = image->rgba + i * 4;
    for (int k = 0; k < 3; k++) {
      guint a = p[3];
      rgb[i * 3 + k] = background ? (guint8) ((p[k] * a + background[k] * (255 - a) + 127) / 255) : p[k];
    }
  }
  return rgb;
}

/* ---- Writing -------------------------------------------------------------------------------- */

static void
write_bytes (png_structp png, png_bytep src, png_size_t n)
{
  Codec *c = png_get_io_ptr (png);
  g_byte_array_append (c->out, src, (guint) n);
}

static void
flush_bytes (png_structp png)
{
}

static void
write_all (Codec *c)
{
  png_set_write_fn (c->png, c, write_bytes, flush_bytes);
  png_set_IHDR (c->png, c->info, c->width, c->height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (c->n_texts > 0)
    png_set_text (c->png, c->info, c->texts, c->n_texts);
  png_write_info (c->png, c->info);
  png_write_image (c->png, c->rows);
  png_write_end (c->png, NULL);
}

/* PNG keywords: 1–79 Latin-1 printable characters, no leading, trailing or double spaces; we
 * keep to ASCII so that the key reads back identically as UTF-8. */
static gboolean
valid_key (const char *key)
{
  gsize n = strlen (key);
  if (n < 1 || n > 79 || key[0] == ' ' || key[n - 1] == ' ')
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (key[i] < 0x20 || key[i] > 0x7e || (key[i] == ' ' && key[i + 1] == ' '))
      return FALSE;
  return TRUE;
}

GBytes *
sinopia_png_encode_rgb (const guint8 *rgb, guint width, guint height, const char *const *texts, GError **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  if (rgb == NULL || width == 0 || height == 0 || width > PNG_UINT_31_MAX || height > PNG_UINT_31_MAX ||
      (uint64_t) width * 3 > G_MAXUINT32) {
    g_set_error (error, SINOPIA_PNG_ERROR, SINOPIA_PNG_ERROR_INVALID_ARGUMENT,
                 "cannot write a PNG of %u×%u pixels%s", width, height, rgb ? "" : " without pixels");
    return NULL;
  }
  gsize n_texts = 0;
  while (texts && texts[n_texts * 2]) {
    const char *key = texts[n_texts * 2];
    const char *value = texts[n_texts * 2 + 1];
    if (!valid_key (key)) {
      g_set_error (error, SINOPIA_PNG_ERROR, SINOPIA_PNG_ERROR_INVALID_ARGUMENT,
                   "invalid PNG text key \"%s\": it needs 1–79 printable ASCII characters without leading, "
                   "trailing or double spaces", key);
      return NULL;
    }
    if (value == NULL || !g_utf8_validate (value, -1, NULL)) {
      g_set_error (error, SINOPIA_PNG_ERROR, SINOPIA_PNG_ERROR_INVALID_ARGUMENT,
                   "the value of PNG text \"%s\" is %s", key, value ? "not valid UTF-8" : "missing");
      return NULL;
    }
    n_texts++;
  }
  if (n_texts > G_MAXINT) {
    g_set_error (error, SINOPIA_PNG_ERROR, SINOPIA_PNG_ERROR_INVALID_ARGUMENT, "too many PNG texts");
    return NULL;
  }

  Codec c = { .width = width, .height = height, .n_texts = (int) n_texts };
  c.png = png_create_write_struct (PNG_LIBPNG_VER_STRING, &c, on_error, on_warning);
  if (c.png)
    c.info = png_create_info_struct (c.png);
  if (c.info == NULL) {
    png_destroy_write_struct (&c.png, NULL);
    g_set_error (error, SINOPIA_PNG_ERROR, SINOPIA_PNG_ERROR_INVALID_ARGUMENT, "out of memory");
    return NULL;
  }
  c.out = g_byte_array_new ();
  c.rows = g_new (png_bytep, height);
  for (guint y = 0; y < height; y++)
    c.rows[y] = (png_bytep) rgb + (gsize) y * width * 3;
  c.texts = g_new0 (png_text, n_texts + 1);
  for (gsize i = 0; i < n_texts; i++) {
    const char *value = texts[i * 2 + 1];
    gboolean ascii = TRUE;
    for (const char *p = value; *p; p++)
      ascii = ascii && (guint8) *p < 0x80;
    /* libpng copies the strings; it never writes through these pointers. */
    c.texts[i].key = (png_charp) texts[i * 2];
    c.texts[i].text = (png_charp) value;
    c.texts[i].compression = ascii ? PNG_TEXT_COMPRESSION_NONE : PNG_ITXT_COMPRESSION_NONE;
  }

  gboolean ok = run_guarded (&c, write_all);
  png_destroy_write_struct (&c.png, &c.info);
  g_free (c.rows);
  g_free (c.texts);
  if (!ok) {
    g_byte_array_unref (c.out);
    g_set_error (error, SINOPIA_PNG_ERROR, SINOPIA_PNG_ERROR_INVALID_ARGUMENT, "cannot encode the PNG: %s",
                 c.message);
    return NULL;
  }
  return g_byte_array_free_to_bytes (c.out);
}

gboolean
sinopia_png_save_rgb (const char *path, const guint8 *rgb, guint width, guint height, const char *const *texts,
                      GError **error)
{
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  g_autoptr (GBytes) bytes = sinopia_png_encode_rgb (rgb, width, height, texts, error);
  if (bytes == NULL)
    return FALSE;
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  g_autoptr (GError) local = NULL;
  /* CONSISTENT: a temporary file in the same folder, fsync, then rename over `path`. */
  if (!g_file_set_contents_full (path, data, (gssize) len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0666, &local)) {
    g_autofree char *shown = g_filename_display_name (path);
    g_set_error (error, SINOPIA_PNG_ERROR, SINOPIA_PNG_ERROR_IO, "%s: cannot write the PNG: %s", shown,
                 local->message);
    return FALSE;
  }
  return TRUE;
}
