/* The T5 encoder and the CLIP text model against the Hugging Face golden tensors (outputs
 * and every intermediate, the relative-position bucket table, both pooling rules), their
 * input limits, the loader's naming variants and broken checkpoints, and `sinopia-cli
 * text-encode` on the golden files. */
#define G_LOG_DOMAIN "sinopia-test"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "sinopia-clip.h"
#include "sinopia-t5.h"
#include "sinopia-test-golden.h"
#include "sinopia-test-vk.h"

#define GOLDEN "text-encoders"
#define T5_WEIGHTS "t5_a_weights.safetensors"
#define T5_FORWARD "t5_a_forward.safetensors"
#define CLIP_WEIGHTS "clip_a_weights.safetensors"
#define CLIP_FORWARD "clip_a_forward.safetensors"

static const char *const t5_cases[] = { "len9", "len37", "len20_masked", "len150", NULL };
static const char *const clip_cases[] = { "text20", "full75", "empty", NULL };

static SinopiaSafetensors *
open_golden (const char *file)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = sinopia_test_golden_path (GOLDEN, file);
  if (!path)
    return NULL;
  SinopiaSafetensors *st = sinopia_safetensors_open (path, &error);
  g_assert_no_error (error);
  return st;
}

/* An integer golden tensor as int32 (the values are small, so f32 carries them exactly).
 * NULL when absent. (transfer full) */
static int32_t *
golden_ints (SinopiaSafetensors *st, const char *name, uint32_t *n)
{
  if (!sinopia_safetensors_lookup (st, name))
    return NULL;
  gsize count = 0;
  g_autofree float *f = sinopia_test_golden_tensor (st, name, &count);
  int32_t *v = g_new (int32_t, count);
  for (gsize i = 0; i < count; i++)
    v[i] = (int32_t) f[i];
  if (n)
    *n = (uint32_t) count;
  return v;
}

/* Max |ours − golden| of `name` within the golden tolerance; integer tensors exactly. */
static void
check_tensor (SinopiaSafetensors *io, const char *file, const char *name, const float *ours, gsize n)
{
  gsize n_gold = 0;
  g_autofree float *want = sinopia_test_golden_tensor (io, name, &n_gold);
  g_assert_cmpuint (n, ==, n_gold);
  double err = sinopia_test_max_abs_diff (ours, want, n);
  if (sinopia_safetensors_lookup (io, name)->dtype == SINOPIA_ST_I32) {
    g_test_message ("%s %s: max abs error %.3g (exact)", file, name, err);
    if (err != 0)
      g_error ("%s %s differs from the golden integers (max abs error %g)", file, name, err);
    return;
  }
  double atol = sinopia_test_golden_atol (GOLDEN, file, name);
  g_test_message ("%s %s: max abs error %.3g (tolerance %.3g)", file, name, err, atol);
  if (err > atol)
    g_error ("%s %s: max abs error %.3g exceeds the golden tolerance %.3g", file, name, err, atol);
}

/* Every "<case>.inter.*" golden tensor against the dump, which must hold all of them. */
static void
check_dump (SinopiaDump *dump, SinopiaSafetensors *io, const char *file, const char *c)
{
  g_autofree char *head = g_strdup_printf ("%s.inter.", c);
  guint compared = 0;
  for (gsize i = 0; i < sinopia_safetensors_n_tensors (io); i++) {
    const char *name = sinopia_safetensors_tensor (io, i)->name;
    if (!g_str_has_prefix (name, head))
      continue;
    GBytes *ours = g_hash_table_lookup (dump->tensors, name + strlen (c) + 1);
    if (!ours)
      g_error ("the encode did not produce %s", name);
    gsize bytes = 0;
    const float *data = g_bytes_get_data (ours, &bytes);
    check_tensor (io, file, name, data, bytes / sizeof (float));
    compared++;
  }
  g_assert_cmpuint (compared, >=, 20);
}

/* ---- T5 ------------------------------------------------------------------------------ */

static void
test_t5_bucket_table (void)
{
  g_autoptr (SinopiaSafetensors) io = open_golden (T5_FORWARD);
  if (!io)
    return;
  uint32_t n = 0, n2 = 0;
  g_autofree int32_t *rel = golden_ints (io, "bucket_table.relative_position", &n);
  g_autofree int32_t *want = golden_ints (io, "bucket_table.bucket", &n2);
  g_assert_cmpuint (n, ==, n2);
  g_assert_cmpuint (n, ==, 401);
  for (uint32_t i = 0; i < n; i++)
    if (sinopia_t5_relative_bucket (rel[i], 32, 128) != (uint32_t) want[i])
      g_error ("bucket(%d) = %u, the reference has %d", rel[i], sinopia_t5_relative_bucket (rel[i], 32, 128),
               want[i]);
  /* the float32 boundary cases the README names: exactly 2.0, 4.0, 6.0 in the reference */
  g_assert_cmpuint (sinopia_t5_relative_bucket (-16, 32, 128), ==, 10);
  g_assert_cmpuint (sinopia_t5_relative_bucket (-32, 32, 128), ==, 12);
  g_assert_cmpuint (sinopia_t5_relative_bucket (-64, 32, 128), ==, 14);
  g_assert_cmpuint (sinopia_t5_relative_bucket (16, 32, 128), ==, 26);
  g_assert_cmpuint (sinopia_t5_relative_bucket (32, 32, 128), ==, 28);
  g_assert_cmpuint (sinopia_t5_relative_bucket (64, 32, 128), ==, 30);
  g_assert_cmpuint (sinopia_t5_relative_bucket (G_MININT32, 32, 128), ==, 15);
  g_assert_cmpuint (sinopia_t5_relative_bucket (G_MAXINT32, 32, 128), ==, 31);
}

/* Encodes one golden case; checks the output and, with a dump, every intermediate.
 * (transfer full) the output. */
static float *
t5_case (SinopiaT5Model *m, SinopiaSafetensors *io, const char *c, gboolean with_dump)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *ids_name = g_strdup_printf ("%s.input.input_ids", c);
  g_autofree char *mask_name = g_strdup_printf ("%s.input.attention_mask", c);
  g_autofree char *out_name = g_strdup_printf ("%s.output.last_hidden_state", c);
  uint32_t n = 0;
  g_autofree int32_t *ids = golden_ints (io, ids_name, &n);
  g_autofree int32_t *mask = golden_ints (io, mask_name, NULL);
  g_autoptr (SinopiaDump) dump = with_dump ? sinopia_dump_new () : NULL;
  gsize width = sinopia_t5_config (m)->d_model;
  float *hidden = g_new (float, n * width);

  sinopia_t5_encode (m, ids, mask, n, hidden, dump, &error);
  g_assert_no_error (error);
  check_tensor (io, T5_FORWARD, out_name, hidden, n * width);
  if (dump)
    check_dump (dump, io, T5_FORWARD, c);
  return hidden;
}

static void
test_t5_golden (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *weights = sinopia_test_golden_path (GOLDEN, T5_WEIGHTS);
  if (!weights)
    return;
  g_autoptr (SinopiaSafetensors) io = open_golden (T5_FORWARD);
  SinopiaT5Model *m = sinopia_t5_load (sinopia_test_context (), weights, &error);
  g_assert_no_error (error);
  const SinopiaT5Config *c = sinopia_t5_config (m);
  g_assert_cmpuint (c->num_layers, ==, 2);
  g_assert_cmpuint (c->num_heads, ==, 4);
  g_assert_cmpuint (c->d_kv, ==, 16);
  g_assert_cmpuint (c->max_distance, ==, 128);
  g_assert_cmpfloat (c->eps, ==, 1e-6f);

  for (guint i = 0; t5_cases[i]; i++)
    g_free (t5_case (m, io, t5_cases[i], TRUE));
  /* without a dump the residual adds fuse into the projections: the same result */
  g_autofree float *dumped = t5_case (m, io, "len37", TRUE);
  g_autofree float *plain = t5_case (m, io, "len37", FALSE);
  double diff = sinopia_test_max_abs_diff (dumped, plain, 37 * (gsize) c->d_model);
  g_test_message ("len37 with and without a dump: max abs difference %.3g", diff);
  g_assert_cmpfloat (diff, <=, 1e-6);
  sinopia_t5_free (m);
}

/* ---- CLIP ------------------------------------------------------------------------------ */

static void
test_clip_golden (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *weights = sinopia_test_golden_path (GOLDEN, CLIP_WEIGHTS);
  if (!weights)
    return;
  g_autoptr (SinopiaSafetensors) io = open_golden (CLIP_FORWARD);
  SinopiaClipModel *m = sinopia_clip_load (sinopia_test_context (), weights, &error);
  g_assert_no_error (error);
  const SinopiaClipConfig *cfg = sinopia_clip_config (m);
  g_assert_cmpint (cfg->eos_token_id, ==, 399);
  g_assert_cmpint (cfg->act, ==, SINOPIA_ACT_QUICK_GELU);
  SinopiaClipConfig legacy = *cfg;
  legacy.eos_token_id = 2;
  gsize D = cfg->hidden_size;

  for (guint i = 0; clip_cases[i]; i++) {
    const char *c = clip_cases[i];
    g_autofree char *ids_name = g_strdup_printf ("%s.input.input_ids", c);
    g_autofree char *name = NULL;
    uint32_t n = 0;
    g_autofree int32_t *ids = golden_ints (io, ids_name, &n);
    g_autoptr (SinopiaDump) dump = sinopia_dump_new ();
    g_autofree float *hidden = g_new (float, n * D), *pooled = g_new (float, D);

    sinopia_clip_encode (m, ids, NULL, n, hidden, pooled, dump, &error);
    g_assert_no_error (error);
    check_dump (dump, io, CLIP_FORWARD, c);
    name = g_strdup_printf ("%s.output.last_hidden_state", c);
    check_tensor (io, CLIP_FORWARD, name, hidden, n * D);
    g_free (name);
    name = g_strdup_printf ("%s.output.pooler_output", c);
    check_tensor (io, CLIP_FORWARD, name, pooled, D);

    /* both pooling rules: the first eos_token_id, and HF's legacy argmax for eos_token_id 2 */
    uint32_t first = sinopia_clip_pooled_index (cfg, ids, n), arg = sinopia_clip_pooled_index (&legacy, ids, n);
    float fi = first, fa = arg;
    g_free (name);
    name = g_strdup_printf ("%s.output.pooled_index", c);
    check_tensor (io, CLIP_FORWARD, name, &fi, 1);
    g_free (name);
    name = g_strdup_printf ("%s.output.pooled_index_legacy_argmax", c);
    check_tensor (io, CLIP_FORWARD, name, &fa, 1);
    g_free (name);
    name = g_strdup_printf ("%s.output.pooler_output_legacy_argmax", c);
    check_tensor (io, CLIP_FORWARD, name, hidden + arg * D, D);
  }

  /* the rules differ where the EOS is not the largest id; none found pools row 0 as HF does */
  const int32_t ids[5] = { 398, 5, 7, 2, 399 };
  g_assert_cmpuint (sinopia_clip_pooled_index (&legacy, ids, 5), ==, 4);
  SinopiaClipConfig by_id = *cfg;
  by_id.eos_token_id = 7;
  g_assert_cmpuint (sinopia_clip_pooled_index (&by_id, ids, 5), ==, 2);
  by_id.eos_token_id = 11;
  g_assert_cmpuint (sinopia_clip_pooled_index (&by_id, ids, 5), ==, 0);
  sinopia_clip_free (m);
}

/* The mask is causal, so a sequence cut after the first EOS gives the same rows and the
 * same pooled vector as the full 77 tokens. */
static void
test_clip_truncated (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *weights = sinopia_test_golden_path (GOLDEN, CLIP_WEIGHTS);
  if (!weights)
    return;
  g_autoptr (SinopiaSafetensors) io = open_golden (CLIP_FORWARD);
  SinopiaClipModel *m = sinopia_clip_load (sinopia_test_context (), weights, &error);
  g_assert_no_error (error);
  gsize D = sinopia_clip_config (m)->hidden_size;
  uint32_t n = 0;
  g_autofree int32_t *ids = golden_ints (io, "text20.input.input_ids", &n);
  uint32_t cut = sinopia_clip_pooled_index (sinopia_clip_config (m), ids, n) + 1;
  g_assert_cmpuint (cut, ==, 22);
  g_autofree float *hidden = g_new (float, cut * D), *pooled = g_new (float, D);
  g_autofree float *want = sinopia_test_golden_tensor (io, "text20.output.last_hidden_state", NULL);
  g_autofree float *want_pooled = sinopia_test_golden_tensor (io, "text20.output.pooler_output", NULL);

  sinopia_clip_encode (m, ids, NULL, cut, hidden, pooled, NULL, &error);
  g_assert_no_error (error);
  double atol = sinopia_test_golden_atol (GOLDEN, CLIP_FORWARD, "text20.output.last_hidden_state");
  double err = sinopia_test_max_abs_diff (hidden, want, cut * D);
  g_test_message ("text20 cut to %u tokens: max abs error %.3g (tolerance %.3g)", cut, err, atol);
  g_assert_cmpfloat (err, <=, atol);
  err = sinopia_test_max_abs_diff (pooled, want_pooled, D);
  g_assert_cmpfloat (err, <=, sinopia_test_golden_atol (GOLDEN, CLIP_FORWARD, "text20.output.pooler_output"));

  /* a mask hiding the pads changes nothing for rows before them, which never see them */
  g_autofree int32_t *mask = g_new (int32_t, n);
  g_autofree float *full = g_new (float, n * D);
  for (uint32_t i = 0; i < n; i++)
    mask[i] = i < cut;
  sinopia_clip_encode (m, ids, mask, n, full, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (sinopia_test_max_abs_diff (full, want, cut * D), <=, atol);
  sinopia_clip_free (m);
}

/* ---- limits ---------------------------------------------------------------------------- */

static void
expect_input_error (gboolean ok, GError **error, const char *needle)
{
  g_assert_false (ok);
  g_assert_error (*error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_INPUT);
  g_test_message ("%s", (*error)->message);
  g_assert_nonnull (strstr ((*error)->message, needle));
  g_clear_error (error);
}

static void
test_limits (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *t5_path = sinopia_test_golden_path (GOLDEN, T5_WEIGHTS);
  if (!t5_path)
    return;
  g_autofree char *clip_path = sinopia_test_golden_path (GOLDEN, CLIP_WEIGHTS);
  SinopiaVkContext *ctx = sinopia_test_context ();
  SinopiaT5Model *t5 = sinopia_t5_load (ctx, t5_path, &error);
  g_assert_no_error (error);
  SinopiaClipModel *clip = sinopia_clip_load (ctx, clip_path, &error);
  g_assert_no_error (error);
  int32_t ids[78], mask[78];
  float *out = g_new0 (float, 78 * 64);
  for (guint i = 0; i < 78; i++) {
    ids[i] = 3 + i;
    mask[i] = 1;
  }

  /* CLIP's position table ends at 77 tokens: the caller truncates, the encoder refuses */
  expect_input_error (sinopia_clip_encode (clip, ids, NULL, 78, out, NULL, NULL, &error), &error, "77");
  g_assert_true (sinopia_clip_encode (clip, ids, NULL, 77, out, NULL, NULL, &error));
  g_assert_no_error (error);
  expect_input_error (sinopia_clip_encode (clip, ids, NULL, 0, out, NULL, NULL, &error), &error, "got 0");
  ids[5] = 400;
  expect_input_error (sinopia_clip_encode (clip, ids, NULL, 10, out, NULL, NULL, &error), &error, "vocabulary");
  ids[5] = -1;
  expect_input_error (sinopia_t5_encode (t5, ids, NULL, 10, out, NULL, &error), &error, "vocabulary");
  ids[5] = 300;
  expect_input_error (sinopia_t5_encode (t5, ids, NULL, 10, out, NULL, &error), &error, "vocabulary");
  ids[5] = 8;
  expect_input_error (sinopia_t5_encode (t5, ids, NULL, 0, out, NULL, &error), &error, "got 0");
  expect_input_error (sinopia_t5_encode (t5, ids, NULL, 40000, out, NULL, &error), &error, "32768");
  mask[3] = 2;
  expect_input_error (sinopia_t5_encode (t5, ids, mask, 10, out, NULL, &error), &error, "mask value 2");
  memset (mask, 0, sizeof mask);
  expect_input_error (sinopia_t5_encode (t5, ids, mask, 10, out, NULL, &error), &error, "every token");
  expect_input_error (sinopia_clip_encode (clip, ids, mask, 10, out, NULL, NULL, &error), &error, "every token");

  /* one token works and is finite */
  g_assert_true (sinopia_t5_encode (t5, ids, NULL, 1, out, NULL, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 64; i++)
    g_assert_true (isfinite (out[i]));
  g_free (out);
  sinopia_t5_free (t5);
  sinopia_clip_free (clip);
}

/* ---- loader ------------------------------------------------------------------------------ */

/* How a checkpoint copy differs from its golden original. */
typedef struct {
  const char *strip;      /* removed from the start of names that have it */
  const char *add;        /* prepended to every name */
  const char *drop;       /* original name left out */
  const char *from, *to;  /* one original name renamed */
  const char *half;       /* original name written with half its rows (a misshapen tensor) */
  const char *extra;      /* an extra tensor under this name: a copy of `extra_from` */
  const char *extra_from; /* (NULL: of the first vector) */
  gboolean no_metadata;
} Variant;

/* Writes the variant of golden `file` into `dir`. (transfer full) its path. */
static char *
write_variant (const char *file, const char *dir, const char *out_name, const Variant *v)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaSafetensors) src = open_golden (file);
  g_autoptr (SinopiaSafetensorsWriter) w = sinopia_safetensors_writer_new ();

  if (!v->no_metadata)
    for (const char *const *k = sinopia_safetensors_metadata_keys (src); *k; k++) {
      sinopia_safetensors_writer_set_metadata (w, *k, sinopia_safetensors_metadata (src, *k), &error);
      g_assert_no_error (error);
    }
  for (gsize i = 0; i < sinopia_safetensors_n_tensors (src); i++) {
    const SinopiaTensorInfo *t = sinopia_safetensors_tensor (src, i);
    if (v->drop && strcmp (t->name, v->drop) == 0)
      continue;
    const char *name = v->from && strcmp (t->name, v->from) == 0 ? v->to : t->name;
    if (v->strip && g_str_has_prefix (name, v->strip))
      name += strlen (v->strip);
    g_autofree char *full = g_strconcat (v->add ? v->add : "", name, NULL);
    uint64_t shape[SINOPIA_SAFETENSORS_MAX_DIMS];
    uint64_t bytes = t->n_bytes;
    memcpy (shape, t->shape, sizeof shape);
    if (v->half && strcmp (t->name, v->half) == 0) {
      shape[0] /= 2;
      bytes /= 2;
    }
    sinopia_safetensors_writer_add (w, full, t->dtype, t->n_dims, shape, t->data, bytes, &error);
    g_assert_no_error (error);
  }
  for (gsize i = 0; v->extra && i < sinopia_safetensors_n_tensors (src); i++) {
    const SinopiaTensorInfo *t = sinopia_safetensors_tensor (src, i);
    if (v->extra_from ? strcmp (t->name, v->extra_from) == 0 : t->n_dims == 1) {
      sinopia_safetensors_writer_add (w, v->extra, t->dtype, t->n_dims, t->shape, t->data, t->n_bytes, &error);
      g_assert_no_error (error);
      break;
    }
  }
  char *path = g_build_filename (dir, out_name, NULL);
  sinopia_safetensors_writer_write (w, path, &error);
  g_assert_no_error (error);
  return path;
}

/* Loads a T5 variant and encodes len9: bit-identical to the original file's result. */
static void
t5_variant_matches (const char *dir, const Variant *v, const float *want)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = write_variant (T5_WEIGHTS, dir, "t5-variant.safetensors", v);
  g_autoptr (SinopiaSafetensors) io = open_golden (T5_FORWARD);
  SinopiaT5Model *m = sinopia_t5_load (sinopia_test_context (), path, &error);
  g_assert_no_error (error);
  g_autofree float *got = t5_case (m, io, "len9", FALSE);
  g_assert_cmpmem (got, 9 * 64 * sizeof (float), want, 9 * 64 * sizeof (float));
  sinopia_t5_free (m);
  g_remove (path);
}

static void
expect_tensor_error (const char *file, const char *dir, const Variant *v, gboolean t5, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = write_variant (file, dir, "broken.safetensors", v);
  gpointer m = t5 ? (gpointer) sinopia_t5_load (sinopia_test_context (), path, &error)
                  : (gpointer) sinopia_clip_load (sinopia_test_context (), path, &error);
  g_assert_null (m);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_true (error->domain == SINOPIA_TEXT_ERROR || error->domain == SINOPIA_SAFETENSORS_ERROR);
  g_assert_nonnull (strstr (error->message, needle));
  g_remove (path);
}

static void
test_loader (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *weights = sinopia_test_golden_path (GOLDEN, T5_WEIGHTS);
  if (!weights)
    return;
  g_autofree char *dir = g_dir_make_tmp ("sinopia-text-XXXXXX", &error);
  g_assert_no_error (error);
  g_autoptr (SinopiaSafetensors) io = open_golden (T5_FORWARD);
  SinopiaT5Model *m = sinopia_t5_load (sinopia_test_context (), weights, &error);
  g_assert_no_error (error);
  g_autofree float *want = t5_case (m, io, "len9", FALSE);
  SinopiaT5Config meta = *sinopia_t5_config (m);
  sinopia_t5_free (m);

  /* ComfyUI's outer prefix, configuration inferred from the shapes */
  Variant comfy = { .add = "text_encoders.t5xxl.transformer.", .no_metadata = TRUE };
  g_autofree char *path = write_variant (T5_WEIGHTS, dir, "comfy.safetensors", &comfy);
  {
    g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (path, &error);
    g_assert_no_error (error);
    SinopiaT5Config inferred;
    g_autofree char *prefix = NULL;
    g_assert_true (sinopia_t5_config_from_checkpoint (st, &inferred, &prefix, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (prefix, ==, "text_encoders.t5xxl.transformer.encoder.");
    g_assert_cmpmem (&inferred, sizeof inferred, &meta, sizeof meta);
    SinopiaTextArch arch;
    g_assert_true (sinopia_text_detect (st, &arch, &error));
    g_assert_cmpint (arch, ==, SINOPIA_TEXT_ARCH_T5);
  }
  g_remove (path);
  t5_variant_matches (dir, &comfy, want);
  /* "encoder." missing; the embedding only under its tied name */
  Variant bare = { .strip = "encoder.", .from = "shared.weight", .to = "embed_tokens.weight", .no_metadata = TRUE };
  t5_variant_matches (dir, &bare, want);
  /* both the shared and the tied copy; a decoder beside the encoder */
  Variant tied = { .extra = "encoder.embed_tokens.weight", .extra_from = "shared.weight" };
  t5_variant_matches (dir, &tied, want);
  Variant decoder = { .extra = "decoder.final_layer_norm.weight" };
  t5_variant_matches (dir, &decoder, want);

  expect_tensor_error (T5_WEIGHTS, dir, &(Variant) { .drop = "encoder.block.1.layer.1.DenseReluDense.wo.weight" },
                       TRUE, "missing tensor \"encoder.block.1.layer.1.DenseReluDense.wo.weight\"");
  expect_tensor_error (T5_WEIGHTS, dir, &(Variant) { .drop = "shared.weight" }, TRUE, "\"shared.weight\"");
  expect_tensor_error (T5_WEIGHTS, dir, &(Variant) { .extra = "encoder.block.2.layer.0.layer_norm.weight" }, TRUE,
                       "unexpected tensor \"encoder.block.2.layer.0.layer_norm.weight\"");
  expect_tensor_error (T5_WEIGHTS, dir, &(Variant) { .half = "encoder.block.0.layer.1.DenseReluDense.wi_1.weight" },
                       TRUE, "encoder.block.0.layer.1.DenseReluDense.wi_1");
  expect_tensor_error (T5_WEIGHTS, dir, &(Variant) { .from = "encoder.block.0.layer.1.DenseReluDense.wi_0.weight",
                                                     .to = "encoder.block.0.layer.1.DenseReluDense.wi.weight",
                                                     .no_metadata = TRUE },
                       TRUE, "T5 v1.0");
  expect_tensor_error (CLIP_WEIGHTS, dir, &(Variant) { .drop = "text_model.final_layer_norm.bias" }, FALSE,
                       "missing tensor \"text_model.final_layer_norm.bias\"");
  expect_tensor_error (CLIP_WEIGHTS, dir, &(Variant) { .half = "text_model.encoder.layers.1.mlp.fc2.weight" }, FALSE,
                       "text_model.encoder.layers.1.mlp.fc2");
  expect_tensor_error (CLIP_WEIGHTS, dir, &(Variant) { .extra = "text_model.encoder.layers.9.layer_norm1.bias" },
                       FALSE, "unexpected tensor \"text_model.encoder.layers.9.layer_norm1.bias\"");
  expect_tensor_error (T5_FORWARD, dir, &(Variant) { 0 }, TRUE, "not a T5 encoder");
  expect_tensor_error (T5_WEIGHTS, dir, &(Variant) { 0 }, FALSE, "not a CLIP text model");

  /* CLIP under a combined checkpoint's prefix, with its configuration */
  Variant sd = { .strip = "text_model.", .add = "cond_stage_model.transformer.text_model." };
  g_autofree char *sd_path = write_variant (CLIP_WEIGHTS, dir, "clip.safetensors", &sd);
  SinopiaClipModel *clip = sinopia_clip_load (sinopia_test_context (), sd_path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sinopia_clip_config (clip)->num_heads, ==, 4);
  sinopia_clip_free (clip);
  g_remove (sd_path);
  /* without it: CLIP-L's rules (heads of 64, quick_gelu, legacy pooling) */
  Variant plain = { .no_metadata = TRUE, .extra = "text_model.embeddings.position_ids" };
  g_autofree char *plain_path = write_variant (CLIP_WEIGHTS, dir, "clip.safetensors", &plain);
  {
    g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (plain_path, &error);
    g_assert_no_error (error);
    SinopiaClipConfig c;
    g_autofree char *prefix = NULL;
    g_assert_true (sinopia_clip_config_from_checkpoint (st, &c, &prefix, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (prefix, ==, "text_model.");
    g_assert_cmpuint (c.vocab_size, ==, 400);
    g_assert_cmpuint (c.hidden_size, ==, 64);
    g_assert_cmpuint (c.intermediate_size, ==, 128);
    g_assert_cmpuint (c.num_layers, ==, 2);
    g_assert_cmpuint (c.num_heads, ==, 1);
    g_assert_cmpuint (c.max_positions, ==, 77);
    g_assert_cmpint (c.eos_token_id, ==, 2);
  }
  clip = sinopia_clip_load (sinopia_test_context (), plain_path, &error);
  g_assert_no_error (error);
  sinopia_clip_free (clip);
  g_remove (plain_path);

  /* a file holding both encoders is refused by detection */
  g_autoptr (SinopiaSafetensorsWriter) w = sinopia_safetensors_writer_new ();
  g_autoptr (SinopiaSafetensors) t5st = open_golden (T5_WEIGHTS);
  g_autoptr (SinopiaSafetensors) clipst = open_golden (CLIP_WEIGHTS);
  const SinopiaTensorInfo *a = sinopia_safetensors_lookup (t5st, "encoder.block.0.layer.0.SelfAttention."
                                                                 "relative_attention_bias.weight");
  const SinopiaTensorInfo *b = sinopia_safetensors_lookup (clipst, "text_model.embeddings.token_embedding.weight");
  sinopia_safetensors_writer_add (w, a->name, a->dtype, a->n_dims, a->shape, a->data, a->n_bytes, &error);
  sinopia_safetensors_writer_add (w, b->name, b->dtype, b->n_dims, b->shape, b->data, b->n_bytes, &error);
  g_assert_no_error (error);
  g_autofree char *both_path = g_build_filename (dir, "both.safetensors", NULL);
  sinopia_safetensors_writer_write (w, both_path, &error);
  g_assert_no_error (error);
  {
    g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (both_path, &error);
    SinopiaTextArch arch;
    g_assert_false (sinopia_text_detect (st, &arch, &error));
    g_assert_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_TENSORS);
    g_clear_error (&error);
  }
  g_remove (both_path);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* ---- sinopia-cli text-encode ------------------------------------------------------------- */

static void
cli_round_trip (const char *weights_file, const char *forward_file, const char *const *cases, gboolean clip)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *weights = sinopia_test_golden_path (GOLDEN, weights_file);
  g_autofree char *inputs = sinopia_test_golden_path (GOLDEN, forward_file);
  g_autofree char *dir = g_dir_make_tmp ("sinopia-text-cli-XXXXXX", &error);
  g_autofree char *out = g_build_filename (dir, "out.safetensors", NULL);
  g_assert_no_error (error);
  SinopiaTestRun r = sinopia_test_run_cli ("text-encode", "--weights", weights, "--inputs", inputs, "--out", out,
                                           NULL);
  if (r.status != 0)
    g_error ("sinopia-cli text-encode failed: %s", r.err);
  sinopia_test_run_clear (&r);

  g_autoptr (SinopiaSafetensors) ours = sinopia_safetensors_open (out, &error);
  g_assert_no_error (error);
  g_autoptr (SinopiaSafetensors) gold = open_golden (forward_file);
  guint n_expected = 0;
  for (guint i = 0; cases[i]; i++) {
    const char *outputs[2] = { "output.last_hidden_state", "output.pooler_output" };
    for (guint k = 0; k < (clip ? 2u : 1u); k++, n_expected++) {
      g_autofree char *name = g_strdup_printf ("%s.%s", cases[i], outputs[k]);
      const SinopiaTensorInfo *o = sinopia_safetensors_lookup (ours, name);
      const SinopiaTensorInfo *g = sinopia_safetensors_lookup (gold, name);
      g_assert_nonnull (o);
      g_assert_cmpuint (o->n_dims, ==, g->n_dims);
      g_assert_cmpmem (o->shape, sizeof o->shape, g->shape, sizeof g->shape);
      gsize n = 0;
      g_autofree float *data = sinopia_test_golden_tensor (ours, name, &n);
      check_tensor (gold, forward_file, name, data, n);
    }
  }
  g_assert_cmpuint (sinopia_safetensors_n_tensors (ours), ==, n_expected);
  g_remove (out);
  g_rmdir (dir);
}

static void
test_cli (void)
{
  g_autofree char *t5 = sinopia_test_golden_path (GOLDEN, T5_WEIGHTS);
  if (!t5)
    return;
  cli_round_trip (T5_WEIGHTS, T5_FORWARD, t5_cases, FALSE);
  cli_round_trip (CLIP_WEIGHTS, CLIP_FORWARD, clip_cases, TRUE);

  /* failures name the problem, exit 1 and write nothing */
  g_autofree char *forward = sinopia_test_golden_path (GOLDEN, T5_FORWARD);
  g_autofree char *dir = g_dir_make_tmp ("sinopia-text-cli-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "out.safetensors", NULL);
  SinopiaTestRun r = sinopia_test_run_cli ("text-encode", "--weights", forward, "--inputs", forward, "--out", out,
                                           NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "not a text encoder"));
  sinopia_test_run_clear (&r);
  r = sinopia_test_run_cli ("text-encode", "--weights", t5, "--inputs", t5, "--out", out, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "input.input_ids"));
  sinopia_test_run_clear (&r);
  r = sinopia_test_run_cli ("text-encode", "--weights", t5, NULL);
  g_assert_cmpint (r.status, ==, 2);
  sinopia_test_run_clear (&r);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/text-encoders/t5/bucket-table", test_t5_bucket_table);
  g_test_add_func ("/text-encoders/t5/golden", test_t5_golden);
  g_test_add_func ("/text-encoders/clip/golden", test_clip_golden);
  g_test_add_func ("/text-encoders/clip/truncated", test_clip_truncated);
  g_test_add_func ("/text-encoders/limits", test_limits);
  g_test_add_func ("/text-encoders/loader", test_loader);
  g_test_add_func ("/text-encoders/cli", test_cli);
  int rc = g_test_run ();
  sinopia_test_context_finish ();
  return rc;
}
