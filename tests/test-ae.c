/* The FLUX autoencoder against the reference code's golden tensors (every module output),
 * tiled against exact decoding, and its loader and inputs against broken checkpoints,
 * bad sizes and cancellation. */
#define G_LOG_DOMAIN "sinopia-test"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "sinopia-ae.h"
#include "sinopia-test-golden.h"
#include "sinopia-test-vk.h"

#define GOLDEN "flux-reference"
#define WEIGHTS "ae_a_weights.safetensors"
#define IO "ae_a_io.safetensors"

/* Module outputs by name, as the inspect callback hands them over. */
static void
collect (const char *name, const float *data, uint32_t c, uint32_t h, uint32_t w, gpointer user)
{
  GHashTable *got = user;
  g_hash_table_replace (got, g_strdup (name), g_bytes_new (data, (gsize) c * h * w * sizeof (float)));
}

static GHashTable *
tensors_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_bytes_unref);
}

static void
add_tensor (GHashTable *got, const char *name, const float *data, gsize n)
{
  g_hash_table_replace (got, g_strdup (name), g_bytes_new (data, n * sizeof (float)));
}

static SinopiaAeModel *
load_golden (SinopiaVkContext *ctx, const char *path)
{
  g_autoptr (GError) error = NULL;
  SinopiaAeModel *m = sinopia_ae_load (ctx, path, &error);
  g_assert_no_error (error);
  return m;
}

/* Compares every tensor of `got` that the golden file has; `required` must all be there. */
static void
compare (GHashTable *got, SinopiaSafetensors *io, const char *const *required)
{
  guint compared = 0;
  for (gsize i = 0; i < sinopia_safetensors_n_tensors (io); i++) {
    const char *name = sinopia_safetensors_tensor (io, i)->name;
    GBytes *ours = g_hash_table_lookup (got, name);
    if (!ours || g_str_has_prefix (name, "input."))
      continue;
    gsize n = 0, n_ours = 0;
    g_autofree float *want = sinopia_test_golden_tensor (io, name, &n);
    const float *data = g_bytes_get_data (ours, &n_ours);
    g_assert_cmpuint (n_ours / sizeof (float), ==, n);
    double atol = sinopia_test_golden_atol (GOLDEN, IO, name);
    double err = sinopia_test_max_abs_diff (data, want, n);
    g_test_message ("%s: max abs error %.3g (tolerance %.3g)", name, err, atol);
    if (err > atol)
      g_error ("%s: max abs error %.3g exceeds the golden tolerance %.3g", name, err, atol);
    compared++;
  }
  for (guint i = 0; required[i]; i++)
    if (!g_hash_table_contains (got, required[i]))
      g_error ("the autoencoder did not produce %s", required[i]);
  g_assert_cmpuint (compared, >=, g_strv_length ((char **) required));
}

static void
test_golden (void)
{
  static const char *const required[] = {
    "encode.moments", "encode.mean", "encode.latent", "decode.image", "forward.image",
    "inter.enc.down.2.downsample", "inter.enc.down.3.block.0", "inter.enc.mid.block_1", "inter.enc.mid.attn_1",
    "inter.enc.mid.block_2", "inter.dec.conv_in", "inter.dec.mid.block_1", "inter.dec.mid.attn_1",
    "inter.dec.mid.block_2", NULL,
  };
  g_autoptr (GError) error = NULL;
  g_autofree char *weights = sinopia_test_golden_path (GOLDEN, WEIGHTS);
  if (!weights)
    return;
  g_autofree char *io_path = sinopia_test_golden_path (GOLDEN, IO);
  g_autoptr (SinopiaSafetensors) io = sinopia_safetensors_open (io_path, &error);
  g_assert_no_error (error);
  SinopiaAeModel *m = load_golden (sinopia_test_context (), weights);
  const SinopiaAeConfig *cfg = sinopia_ae_config (m);
  g_assert_cmpuint (cfg->ch, ==, 32);
  g_assert_cmpuint (cfg->n_levels, ==, 4);
  g_assert_cmpuint (cfg->num_res_blocks, ==, 1);
  g_assert_cmpuint (cfg->z_channels, ==, 16);
  g_assert_cmpuint (sinopia_ae_factor (cfg), ==, 8);

  GHashTable *got = tensors_new ();
  sinopia_ae_set_inspect (m, collect, got);
  g_autofree float *image = sinopia_test_golden_tensor (io, "input.image", NULL);
  g_autofree float *latent_in = sinopia_test_golden_tensor (io, "input.latent", NULL);
  float mean[16 * 16], latent[16 * 16], out[3 * 32 * 32], round_trip[3 * 32 * 32];

  sinopia_ae_encode (m, image, 32, 32, mean, latent, NULL, NULL, &error);
  g_assert_no_error (error);
  add_tensor (got, "encode.mean", mean, G_N_ELEMENTS (mean));
  add_tensor (got, "encode.latent", latent, G_N_ELEMENTS (latent));
  sinopia_ae_decode (m, latent_in, 4, 4, out, NULL, NULL, &error);
  g_assert_no_error (error);
  add_tensor (got, "decode.image", out, G_N_ELEMENTS (out));
  /* the decoder's intermediates above are those of input.latent; the round trip's would
   * replace them, so it runs without inspection */
  sinopia_ae_set_inspect (m, NULL, NULL);
  sinopia_ae_decode (m, latent, 4, 4, round_trip, NULL, NULL, &error);
  g_assert_no_error (error);
  add_tensor (got, "forward.image", round_trip, G_N_ELEMENTS (round_trip));
  compare (got, io, required);

  g_hash_table_unref (got);
  sinopia_ae_free (m);
}

/* ---- tiled decoding ------------------------------------------------------------------ */

#define TILE 16
#define OVERLAP 4

/* The tile layout sinopia-ae.h promises: the fewest tiles that overlap by at least OVERLAP,
 * of equal length (rounded up to a multiple of 4 within TILE), evenly spaced (rounded). */
static void
tile_layout (uint32_t size, uint32_t *n, uint32_t *len, uint32_t *starts)
{
  *n = size <= TILE ? 1 : (size - OVERLAP + TILE - OVERLAP - 1) / (TILE - OVERLAP);
  *len = *n == 1 ? size : (size + (*n - 1) * OVERLAP + *n - 1) / *n;
  if (*n > 1 && (*len + 3) / 4 * 4 <= TILE)
    *len = (*len + 3) / 4 * 4;
  for (uint32_t k = 0; k < *n; k++)
    starts[k] = *n == 1 ? 0 : (2 * k * (size - *len) + *n - 1) / (2 * (*n - 1));
}

/* A non-square latent (so rows and columns cannot be mixed up) decoded exactly and in
 * tiles. Where one tile alone covers a pixel, the tiled result must be that tile's own
 * exact decode; where tiles overlap, a convex blend of theirs. Against the exact decode of
 * the whole latent the tiles differ everywhere, not only at seams: every GroupNorm and the
 * mid attention see one tile instead of the image. With this random-weight model (whose
 * near-uniform attention mixes every position) that is measured at max 0.63 / mean 0.055
 * (values up to 3.0); the bounds below leave ~1.25× room. */
static void
test_tiled (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *weights = sinopia_test_golden_path (GOLDEN, WEIGHTS);
  if (!weights)
    return;
  SinopiaAeModel *m = load_golden (sinopia_test_context (), weights);
  const uint32_t h = 24, w = 40, z = 16, H = 8 * h, W = 8 * w;
  g_autofree float *latent = sinopia_test_random (41, (gsize) z * h * w, -1.5f, 1.5f);
  g_autofree float *exact = g_new (float, 3 * H * W), *tiled = g_new (float, 3 * H * W);

  sinopia_ae_decode (m, latent, h, w, exact, NULL, NULL, &error);
  g_assert_no_error (error);
  sinopia_ae_decode_tiled (m, latent, h, w, TILE, OVERLAP, tiled, NULL, NULL, &error);
  g_assert_no_error (error);

  uint32_t ny, nx, ly, lx, sy[8], sx[8];
  tile_layout (h, &ny, &ly, sy);
  tile_layout (w, &nx, &lx, sx);
  g_assert_cmpuint (ny, ==, 2);
  g_assert_cmpuint (nx, ==, 3);
  /* per pixel: how many tiles cover it, and the range of their values */
  g_autofree guint8 *cover = g_new0 (guint8, H * W);
  g_autofree float *lo = g_new (float, 3 * H * W), *hi = g_new (float, 3 * H * W);
  g_autofree float *sub = g_new (float, (gsize) z * ly * lx), *part = g_new (float, 3 * 64 * ly * lx);
  for (uint32_t ty = 0; ty < ny; ty++)
    for (uint32_t tx = 0; tx < nx; tx++) {
      for (uint32_t c = 0; c < z; c++)
        for (uint32_t y = 0; y < ly; y++)
          memcpy (sub + (c * ly + y) * lx, latent + (c * h + sy[ty] + y) * w + sx[tx], lx * sizeof (float));
      sinopia_ae_decode (m, sub, ly, lx, part, NULL, NULL, &error);
      g_assert_no_error (error);
      for (uint32_t y = 0; y < 8 * ly; y++)
        for (uint32_t x = 0; x < 8 * lx; x++) {
          uint32_t p = (8 * sy[ty] + y) * W + 8 * sx[tx] + x;
          for (uint32_t c = 0; c < 3; c++) {
            float v = part[(c * 8 * ly + y) * 8 * lx + x];
            lo[c * H * W + p] = cover[p] ? MIN (lo[c * H * W + p], v) : v;
            hi[c * H * W + p] = cover[p] ? MAX (hi[c * H * W + p], v) : v;
          }
          cover[p]++;
        }
    }
  guint single = 0, blended = 0;
  for (uint32_t p = 0; p < H * W; p++) {
    g_assert_cmpuint (cover[p], >=, 1);
    for (uint32_t c = 0; c < 3; c++) {
      float v = tiled[c * H * W + p];
      if (cover[p] == 1)
        g_assert_cmpfloat (v, ==, lo[c * H * W + p]);
      else
        g_assert_true (v >= lo[c * H * W + p] - 1e-5f && v <= hi[c * H * W + p] + 1e-5f);
    }
    if (cover[p] == 1)
      single++;
    else
      blended++;
  }
  g_assert_cmpuint (single, >, 0);
  g_assert_cmpuint (blended, >, 0);

  double max_err = 0, sum = 0, peak = 0;
  for (gsize i = 0; i < 3 * (gsize) H * W; i++) {
    g_assert_true (isfinite (tiled[i]));
    double d = fabs ((double) tiled[i] - exact[i]);
    max_err = MAX (max_err, d);
    sum += d;
    peak = MAX (peak, fabs (exact[i]));
  }
  g_test_message ("tiled (%ux%u latent, tile %u, overlap %u) vs exact: max %.3g, mean %.3g (exact values up to %.3g)",
                  w, h, TILE, OVERLAP, max_err, sum / (3.0 * H * W), peak);
  g_assert_cmpfloat (max_err, <, 0.8);
  g_assert_cmpfloat (sum / (3.0 * H * W), <, 0.07);

  /* a latent no larger than the tile decodes exactly */
  g_autofree float *again = g_new (float, 3 * H * W);
  sinopia_ae_decode_tiled (m, latent, h, w, MAX (h, w), 8, again, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (again, 3 * H * W * sizeof (float), exact, 3 * H * W * sizeof (float));
  sinopia_ae_free (m);
}

/* The memory plan: tiling keeps a 1024² decode of the FLUX autoencoder at the cost of a
 * 512² one; smaller tiles need less. */
static void
test_memory_estimates (void)
{
  g_autoptr (GError) error = NULL;
  SinopiaAeConfig flux;
  sinopia_ae_config_from_json ("{\"resolution\": 256, \"in_channels\": 3, \"ch\": 128, \"out_ch\": 3, "
                               "\"ch_mult\": [1, 2, 4, 4], \"num_res_blocks\": 2, \"z_channels\": 16, "
                               "\"scale_factor\": 0.3611, \"shift_factor\": 0.1159}", &flux, &error);
  g_assert_no_error (error);
  uint64_t exact512 = sinopia_ae_decode_bytes (&flux, 64, 64), tiled1024 = sinopia_ae_decode_bytes (&flux, 128, 128);
  uint64_t small = sinopia_ae_decode_tiled_bytes (&flux, 128, 128, 32, 8);
  g_test_message ("FLUX AE activations: 512px exact %.0f MiB, 1024px tiled %.0f MiB, 1024px in tiles of 32: "
                  "%.0f MiB, encode 1024px %.0f MiB", exact512 / 1048576.0, tiled1024 / 1048576.0, small / 1048576.0,
                  sinopia_ae_encode_bytes (&flux, 1024, 1024) / 1048576.0);
  /* the last upsampling reads and writes 256 channels at full resolution */
  g_assert_cmpuint (exact512, >=, (uint64_t) 2 * 256 * 512 * 512 * sizeof (float));
  g_assert_cmpuint (tiled1024, <=, exact512);
  g_assert_cmpuint (small, <, tiled1024);
  g_assert_cmpuint (sinopia_ae_encode_bytes (&flux, 256, 256), >, 0);
  g_assert_cmpuint (sinopia_ae_decode_tiled_bytes (&flux, 64, 64, 8, 8), ==, 0);
}

/* `norm_groups` defaults to BFL's 32 and may be lowered for narrow autoencoders; a count that
 * does not divide every level's width is refused by name. */
static void
test_norm_groups (void)
{
  const char *base = "{\"in_channels\": 3, \"ch\": 32, \"out_ch\": 3, \"ch_mult\": [1, 2, 4, 4], "
                     "\"num_res_blocks\": 1, \"z_channels\": 16";
  SinopiaAeConfig cfg;
  g_autoptr (GError) error = NULL;
  g_autofree char *plain = g_strconcat (base, "}", NULL);
  g_assert_true (sinopia_ae_config_from_json (plain, &cfg, &error));
  g_assert_cmpuint (cfg.norm_groups, ==, 32);
  g_autofree char *eight = g_strconcat (base, ", \"norm_groups\": 8}", NULL);
  g_assert_true (sinopia_ae_config_from_json (eight, &cfg, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (cfg.norm_groups, ==, 8);
  g_autofree char *bad = g_strconcat (base, ", \"norm_groups\": 12}", NULL);
  g_assert_false (sinopia_ae_config_from_json (bad, &cfg, &error));
  g_assert_error (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "multiple of 12"));
  g_clear_error (&error);
  g_autofree char *zero = g_strconcat (base, ", \"norm_groups\": 0}", NULL);
  g_assert_false (sinopia_ae_config_from_json (zero, &cfg, &error));
  g_assert_error (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_CONFIG);
}

/* ---- broken checkpoints ------------------------------------------------------------------ */

typedef struct {
  const char *prefix;     /* put before every name */
  gboolean metadata;      /* keep ae_params */
  const char *drop;       /* leave this tensor out */
  const char *shrink;     /* drop the last element of this 1-D tensor */
  const char *extra;      /* add this tensor (a copy of decoder.conv_out.bias) */
} Variant;

/* Writes a variant of the golden weights into `dir`; returns its path. */
static char *
write_variant (const char *weights, const char *dir, const char *file, const Variant *v)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (weights, &error);
  g_assert_no_error (error);
  g_autoptr (SinopiaSafetensorsWriter) wr = sinopia_safetensors_writer_new ();
  for (gsize i = 0; i < sinopia_safetensors_n_tensors (st); i++) {
    const SinopiaTensorInfo *t = sinopia_safetensors_tensor (st, i);
    if (v->drop && strcmp (t->name, v->drop) == 0)
      continue;
    uint64_t shape[SINOPIA_SAFETENSORS_MAX_DIMS];
    memcpy (shape, t->shape, sizeof shape);
    uint64_t bytes = t->n_bytes;
    if (v->shrink && strcmp (t->name, v->shrink) == 0) {
      shape[0]--;
      bytes -= sizeof (float);
    }
    g_autofree char *name = g_strconcat (v->prefix ? v->prefix : "", t->name, NULL);
    sinopia_safetensors_writer_add (wr, name, t->dtype, t->n_dims, shape, t->data, bytes, &error);
    g_assert_no_error (error);
    if (v->extra && strcmp (t->name, "decoder.conv_out.bias") == 0) {
      sinopia_safetensors_writer_add (wr, v->extra, t->dtype, t->n_dims, shape, t->data, bytes, &error);
      g_assert_no_error (error);
    }
  }
  if (v->metadata) {
    sinopia_safetensors_writer_set_metadata (wr, "ae_params", sinopia_safetensors_metadata (st, "ae_params"), &error);
    g_assert_no_error (error);
  }
  char *path = g_build_filename (dir, file, NULL);
  sinopia_safetensors_writer_write (wr, path, &error);
  g_assert_no_error (error);
  return path;
}

static void
expect_load_error (const char *path, const char *name)
{
  g_autoptr (GError) error = NULL;
  SinopiaAeModel *m = sinopia_ae_load (sinopia_test_context (), path, &error);
  g_assert_null (m);
  g_assert_error (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_TENSORS);
  g_test_message ("%s", error->message);
  if (!strstr (error->message, name))
    g_error ("the error \"%s\" does not name %s", error->message, name);
  g_remove (path);
}

static void
test_broken_checkpoints (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *weights = sinopia_test_golden_path (GOLDEN, WEIGHTS);
  if (!weights)
    return;
  g_autofree char *dir = g_dir_make_tmp ("sinopia-ae-XXXXXX", &error);
  g_assert_no_error (error);

  Variant missing = { .metadata = TRUE, .drop = "decoder.mid.attn_1.k.weight" };
  g_autofree char *p1 = write_variant (weights, dir, "missing.safetensors", &missing);
  expect_load_error (p1, "\"decoder.mid.attn_1.k.weight\"");

  Variant misshapen = { .metadata = TRUE, .shrink = "encoder.down.1.block.0.norm2.bias" };
  g_autofree char *p2 = write_variant (weights, dir, "misshapen.safetensors", &misshapen);
  expect_load_error (p2, "\"encoder.down.1.block.0.norm2.bias\" has shape [63], the model needs [64]");

  Variant extra = { .metadata = TRUE, .extra = "decoder.up.0.attn.0.norm.bias" };
  g_autofree char *p3 = write_variant (weights, dir, "extra.safetensors", &extra);
  expect_load_error (p3, "unexpected tensor \"decoder.up.0.attn.0.norm.bias\"");

  /* without metadata in a combined checkpoint: the configuration comes from the shapes */
  Variant inferred = { .prefix = "first_stage_model." };
  g_autofree char *p4 = write_variant (weights, dir, "inferred.safetensors", &inferred);
  SinopiaAeModel *m = sinopia_ae_load (sinopia_test_context (), p4, &error);
  g_assert_no_error (error);
  const SinopiaAeConfig *cfg = sinopia_ae_config (m);
  g_assert_cmpuint (cfg->in_channels, ==, 3);
  g_assert_cmpuint (cfg->out_ch, ==, 3);
  g_assert_cmpuint (cfg->ch, ==, 32);
  g_assert_cmpuint (cfg->n_levels, ==, 4);
  g_assert_cmpuint (cfg->ch_mult[0], ==, 1);
  g_assert_cmpuint (cfg->ch_mult[1], ==, 2);
  g_assert_cmpuint (cfg->ch_mult[2], ==, 4);
  g_assert_cmpuint (cfg->ch_mult[3], ==, 4);
  g_assert_cmpuint (cfg->num_res_blocks, ==, 1);
  g_assert_cmpuint (cfg->z_channels, ==, 16);
  g_assert_cmpfloat (cfg->scale_factor, ==, 0.3611f);
  g_assert_cmpfloat (cfg->shift_factor, ==, 0.1159f);
  sinopia_ae_free (m);
  g_remove (p4);

  /* not an autoencoder at all */
  g_autofree char *flux = sinopia_test_golden_path (GOLDEN, "flux_a1_weights.safetensors");
  g_assert_null (sinopia_ae_load (sinopia_test_context (), flux, &error));
  g_assert_error (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_TENSORS);
  g_clear_error (&error);
  g_rmdir (dir);
}

/* ---- inputs and cancellation ------------------------------------------------------------- */

static void
test_bad_sizes (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *weights = sinopia_test_golden_path (GOLDEN, WEIGHTS);
  if (!weights)
    return;
  SinopiaAeModel *m = load_golden (sinopia_test_context (), weights);
  g_autofree float *image = g_new0 (float, 3 * 40 * 40);
  float out[16 * 25], img[3 * 64];

  g_assert_false (sinopia_ae_encode (m, image, 30, 32, out, NULL, NULL, NULL, &error));
  g_assert_error (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_INPUT);
  g_assert_nonnull (strstr (error->message, "multiples of 8"));
  g_clear_error (&error);
  g_assert_false (sinopia_ae_encode (m, image, 40, 36, out, NULL, NULL, NULL, &error));
  g_assert_error (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_INPUT);
  g_clear_error (&error);
  g_assert_false (sinopia_ae_encode (m, image, 0, 0, out, NULL, NULL, NULL, &error));
  g_assert_error (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_INPUT);
  g_clear_error (&error);
  g_assert_false (sinopia_ae_decode (m, out, 0, 1, img, NULL, NULL, &error));
  g_assert_error (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_INPUT);
  g_clear_error (&error);
  g_assert_false (sinopia_ae_decode_tiled (m, out, 1, 1, 4, 4, img, NULL, NULL, &error));
  g_assert_error (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_INPUT);
  g_clear_error (&error);
  /* a 40×40 image works: sizes need not be powers of two */
  sinopia_ae_encode (m, image, 40, 40, out, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  sinopia_ae_free (m);
}

typedef struct {
  guint polls, stop_at;
} CancelState;

static gboolean
cancel_after (gpointer user)
{
  CancelState *s = user;
  return ++s->polls >= s->stop_at;
}

static void
test_cancel (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *weights = sinopia_test_golden_path (GOLDEN, WEIGHTS);
  if (!weights)
    return;
  g_autofree char *io_path = sinopia_test_golden_path (GOLDEN, IO);
  g_autoptr (SinopiaSafetensors) io = sinopia_safetensors_open (io_path, &error);
  g_assert_no_error (error);
  SinopiaAeModel *m = load_golden (sinopia_test_context (), weights);
  g_autofree float *image = sinopia_test_golden_tensor (io, "input.image", NULL);
  g_autofree float *latent = sinopia_test_golden_tensor (io, "input.latent", NULL);
  g_autofree float *want = sinopia_test_golden_tensor (io, "decode.image", NULL);
  float mean[16 * 16], out[3 * 32 * 32];

  /* count the polls of a whole decode: one per submission, a few per image */
  CancelState never = { 0, G_MAXUINT };
  sinopia_ae_decode (m, latent, 4, 4, out, cancel_after, &never, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (never.polls, >=, 3);
  g_assert_cmpuint (never.polls, <=, 8);

  for (guint stop = 1; stop <= never.polls; stop++) {
    CancelState s = { 0, stop };
    g_assert_false (sinopia_ae_decode (m, latent, 4, 4, out, cancel_after, &s, &error));
    g_assert_error (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_CANCELLED);
    g_assert_cmpuint (s.polls, ==, stop);
    g_clear_error (&error);
  }
  CancelState first = { 0, 1 };
  g_assert_false (sinopia_ae_encode (m, image, 32, 32, mean, NULL, cancel_after, &first, &error));
  g_assert_error (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_CANCELLED);
  g_clear_error (&error);
  CancelState tiles = { 0, 5 };
  g_autofree float *big_latent = g_new0 (float, 16 * 20 * 20);
  g_autofree float *big = g_new (float, 3 * 160 * 160);
  g_assert_false (sinopia_ae_decode_tiled (m, big_latent, 20, 20, 12, 4, big, cancel_after, &tiles, &error));
  g_assert_error (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_CANCELLED);
  g_clear_error (&error);

  /* the model is still usable */
  sinopia_ae_decode (m, latent, 4, 4, out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (sinopia_test_max_abs_diff (out, want, G_N_ELEMENTS (out)), <=,
                     sinopia_test_golden_atol (GOLDEN, IO, "decode.image"));
  sinopia_ae_free (m);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ae/golden", test_golden);
  g_test_add_func ("/ae/tiled", test_tiled);
  g_test_add_func ("/ae/memory-estimates", test_memory_estimates);
  g_test_add_func ("/ae/norm-groups", test_norm_groups);
  g_test_add_func ("/ae/broken-checkpoints", test_broken_checkpoints);
  g_test_add_func ("/ae/bad-sizes", test_bad_sizes);
  g_test_add_func ("/ae/cancel", test_cancel);
  int rc = g_test_run ();
  sinopia_test_context_finish ();
  return rc;
}
