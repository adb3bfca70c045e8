/* The FLUX checkpoint loader: diffusers naming, name prefixes, BF16 and F8 weights, the
 * inferred configuration, broken checkpoints, the device-fit check, and `sinopia-cli info`.
 * Checkpoints are written into a temporary folder that is removed at the end. */
#define G_LOG_DOMAIN "sinopia-test"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sinopia-flux.h"
#include "sinopia-test-golden.h"
#include "sinopia-test-vk.h"
#include "sinopia-weights.h"

#define GOLDEN "flux-reference"
#define A1_WEIGHTS "flux_a1_weights.safetensors"
#define A1_FORWARD "flux_a1_forward.safetensors"

/* Output tolerances of the converted-dtype cases, against the f32 golden output (largest
 * |output| 1.32; measured max abs error on lavapipe: BF16 0.0032, F8_E4M3 0.061).
 * - BF16 keeps 8 significant bits (relative rounding ≤ 2^-9 per weight, biases and QK-norm
 *   gains included); through four blocks of random weights that became 0.24 % of the output
 *   range: 0.01 leaves 3×.
 * - F8_E4M3 keeps 4 significant bits (≤ 2^-4 = 6 % per weight, and the QK-norm gains near 1
 *   move in steps of 0.125): 0.2 leaves 3×.
 * Against a twin f32 checkpoint holding the very same rounded values the only difference
 * left is the matmul path for 16-bit weights (other loads, same f32 accumulation); measured
 * bit-identical on lavapipe, TWIN_ATOL leaves room for devices whose 16-bit path sums in
 * another order. */
#define BF16_ATOL 0.01
#define F8_ATOL 0.2
#define TWIN_ATOL 1e-5

static char *tmp_dir;

static char *
tmp_path (const char *file)
{
  return g_build_filename (tmp_dir, file, NULL);
}

/* ---- in-memory checkpoints ------------------------------------------------------------ */

typedef struct {
  char *name;
  SinopiaStDType dtype;
  guint n_dims;
  uint64_t shape[SINOPIA_SAFETENSORS_MAX_DIMS];
  GBytes *data;
} Entry;

typedef struct {
  GPtrArray *entries;  /* Entry*, in file order */
  char *flux_params;   /* __metadata__ flux_params, or NULL */
} Ckpt;

static void
entry_free (gpointer p)
{
  Entry *e = p;
  g_free (e->name);
  g_bytes_unref (e->data);
  g_free (e);
}

static Ckpt *
ckpt_new (void)
{
  Ckpt *ck = g_new0 (Ckpt, 1);
  ck->entries = g_ptr_array_new_with_free_func (entry_free);
  return ck;
}

static void
ckpt_free (Ckpt *ck)
{
  g_ptr_array_unref (ck->entries);
  g_free (ck->flux_params);
  g_free (ck);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Ckpt, ckpt_free)

/* Adds a tensor; takes `data`. */
static Entry *
ckpt_add (Ckpt *ck, const char *name, SinopiaStDType dtype, guint n_dims, const uint64_t *shape, GBytes *data)
{
  Entry *e = g_new0 (Entry, 1);
  e->name = g_strdup (name);
  e->dtype = dtype;
  e->n_dims = n_dims;
  memcpy (e->shape, shape, n_dims * sizeof *shape);
  e->data = data;
  g_ptr_array_add (ck->entries, e);
  return e;
}

static Entry *
ckpt_find (Ckpt *ck, const char *name)
{
  for (guint i = 0; i < ck->entries->len; i++) {
    Entry *e = g_ptr_array_index (ck->entries, i);
    if (g_str_equal (e->name, name))
      return e;
  }
  g_error ("no tensor %s in the test checkpoint", name);
}

static void
ckpt_remove (Ckpt *ck, const char *name)
{
  g_ptr_array_remove (ck->entries, ckpt_find (ck, name));
}

static Ckpt *
ckpt_read (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (path, &error);
  g_assert_no_error (error);
  Ckpt *ck = ckpt_new ();
  for (gsize i = 0; i < sinopia_safetensors_n_tensors (st); i++) {
    const SinopiaTensorInfo *t = sinopia_safetensors_tensor (st, i);
    ckpt_add (ck, t->name, t->dtype, t->n_dims, t->shape, g_bytes_new (t->data, t->n_bytes));
  }
  ck->flux_params = g_strdup (sinopia_safetensors_metadata (st, "flux_params"));
  return ck;
}

/* (transfer full) the path of the written file. */
static char *
ckpt_write (Ckpt *ck, const char *file)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaSafetensorsWriter) w = sinopia_safetensors_writer_new ();
  char *path = tmp_path (file);
  for (guint i = 0; i < ck->entries->len; i++) {
    Entry *e = g_ptr_array_index (ck->entries, i);
    gsize n = 0;
    const void *data = g_bytes_get_data (e->data, &n);
    sinopia_safetensors_writer_add (w, e->name, e->dtype, e->n_dims, e->shape, data, n, &error);
    g_assert_no_error (error);
  }
  if (ck->flux_params)
    sinopia_safetensors_writer_set_metadata (w, "flux_params", ck->flux_params, &error);
  g_assert_no_error (error);
  sinopia_safetensors_writer_write (w, path, &error);
  g_assert_no_error (error);
  return path;
}

/* Drops the last row along dim 0; returns the bytes of a row. */
static gsize
entry_drop_row (Entry *e)
{
  gsize row = g_bytes_get_size (e->data) / e->shape[0];
  GBytes *shorter = g_bytes_new_from_bytes (e->data, 0, g_bytes_get_size (e->data) - row);
  g_bytes_unref (e->data);
  e->data = shorter;
  e->shape[0]--;
  return row;
}

static float *
entry_f32 (const Entry *e, gsize *n)
{
  gsize bytes = 0;
  const void *data = g_bytes_get_data (e->data, &bytes);
  g_assert_cmpint (e->dtype, ==, SINOPIA_ST_F32);
  *n = bytes / sizeof (float);
  float *v = g_new (float, MAX (*n, 1));
  memcpy (v, data, bytes);
  return v;
}

/* ---- BFL → diffusers, written independently of the loader's mapping (flux-reference.md §A8) */

typedef struct {
  const char *bfl, *diffusers;
} Rename;

static const Rename top_renames[] = {
  { "img_in", "x_embedder" },
  { "txt_in", "context_embedder" },
  { "time_in.in_layer", "time_text_embed.timestep_embedder.linear_1" },
  { "time_in.out_layer", "time_text_embed.timestep_embedder.linear_2" },
  { "guidance_in.in_layer", "time_text_embed.guidance_embedder.linear_1" },
  { "guidance_in.out_layer", "time_text_embed.guidance_embedder.linear_2" },
  { "vector_in.in_layer", "time_text_embed.text_embedder.linear_1" },
  { "vector_in.out_layer", "time_text_embed.text_embedder.linear_2" },
  { "final_layer.linear", "proj_out" },
};

/* Inside double_blocks.N. → transformer_blocks.N. */
static const Rename double_renames[] = {
  { "img_mod.lin", "norm1.linear" },
  { "txt_mod.lin", "norm1_context.linear" },
  { "img_attn.norm.query_norm", "attn.norm_q" },
  { "img_attn.norm.key_norm", "attn.norm_k" },
  { "txt_attn.norm.query_norm", "attn.norm_added_q" },
  { "txt_attn.norm.key_norm", "attn.norm_added_k" },
  { "img_attn.proj", "attn.to_out.0" },
  { "txt_attn.proj", "attn.to_add_out" },
  { "img_mlp.0", "ff.net.0.proj" },
  { "img_mlp.2", "ff.net.2" },
  { "txt_mlp.0", "ff_context.net.0.proj" },
  { "txt_mlp.2", "ff_context.net.2" },
};

/* Inside single_blocks.N. → single_transformer_blocks.N. */
static const Rename single_renames[] = {
  { "modulation.lin", "norm.linear" },
  { "norm.query_norm", "attn.norm_q" },
  { "norm.key_norm", "attn.norm_k" },
  { "linear2", "proj_out" },
};

static const char *const img_qkv[] = { "attn.to_q", "attn.to_k", "attn.to_v", NULL };
static const char *const txt_qkv[] = { "attn.add_q_proj", "attn.add_k_proj", "attn.add_v_proj", NULL };
static const char *const single_linear1[] = { "attn.to_q", "attn.to_k", "attn.to_v", "proj_mlp", NULL };

static const char *
rename_lookup (const Rename *table, gsize n, const char *stem)
{
  for (gsize i = 0; i < n; i++)
    if (g_str_equal (table[i].bfl, stem))
      return table[i].diffusers;
  return NULL;
}

/* Rows [first, first + rows) of `e` under a new name (a view of the same bytes). */
static void
add_rows (Ckpt *out, const Entry *e, const char *name, uint64_t first, uint64_t rows)
{
  gsize row_bytes = g_bytes_get_size (e->data) / e->shape[0];
  uint64_t shape[SINOPIA_SAFETENSORS_MAX_DIMS];
  memcpy (shape, e->shape, sizeof shape);
  shape[0] = rows;
  ckpt_add (out, name, e->dtype, e->n_dims, shape, g_bytes_new_from_bytes (e->data, first * row_bytes,
                                                                           rows * row_bytes));
}

/* (transfer full) the diffusers-named twin of a BFL checkpoint with hidden size D. */
static Ckpt *
to_diffusers (Ckpt *bfl, uint64_t D)
{
  Ckpt *out = ckpt_new ();
  out->flux_params = g_strdup (bfl->flux_params);
  for (guint i = 0; i < bfl->entries->len; i++) {
    const Entry *e = g_ptr_array_index (bfl->entries, i);
    const char *dot = strrchr (e->name, '.');
    g_autofree char *stem = g_strndup (e->name, dot - e->name);
    const char *leaf = g_str_equal (dot, ".scale") ? ".weight" : dot;
    g_autofree char *block = NULL;
    const char *local = stem, *renamed = NULL;
    const char *const *split = NULL;
    gboolean single = FALSE;

    if (g_str_has_prefix (stem, "double_blocks.") || g_str_has_prefix (stem, "single_blocks.")) {
      single = stem[0] == 's';
      char *end = NULL;
      guint64 n = g_ascii_strtoull (strchr (stem, '.') + 1, &end, 10);
      g_assert (*end == '.');
      local = end + 1;
      block = g_strdup_printf ("%s.%" G_GUINT64_FORMAT ".", single ? "single_transformer_blocks"
                                                                   : "transformer_blocks", n);
      if (single) {
        renamed = rename_lookup (single_renames, G_N_ELEMENTS (single_renames), local);
        split = g_str_equal (local, "linear1") ? single_linear1 : NULL;
      } else {
        renamed = rename_lookup (double_renames, G_N_ELEMENTS (double_renames), local);
        split = g_str_equal (local, "img_attn.qkv") ? img_qkv : g_str_equal (local, "txt_attn.qkv") ? txt_qkv : NULL;
      }
    } else {
      block = g_strdup ("");
      renamed = rename_lookup (top_renames, G_N_ELEMENTS (top_renames), stem);
    }

    if (renamed) {
      g_autofree char *name = g_strconcat (block, renamed, leaf, NULL);
      ckpt_add (out, name, e->dtype, e->n_dims, e->shape, g_bytes_ref (e->data));
    } else if (split) {
      /* q, k, v take D rows each; the single block's proj_mlp the rest */
      for (guint p = 0; split[p]; p++) {
        g_autofree char *name = g_strconcat (block, split[p], leaf, NULL);
        add_rows (out, e, name, p * D, split[p + 1] || !single ? D : e->shape[0] - 3 * D);
      }
    } else if (g_str_equal (stem, "final_layer.adaLN_modulation.1")) {
      /* BFL chunks (shift, scale), diffusers (scale, shift) */
      gsize half = g_bytes_get_size (e->data) / 2;
      const uint8_t *src = g_bytes_get_data (e->data, NULL);
      uint8_t *swapped = g_malloc (2 * half);
      memcpy (swapped, src + half, half);
      memcpy (swapped + half, src, half);
      g_autofree char *name = g_strconcat ("norm_out.linear", leaf, NULL);
      ckpt_add (out, name, e->dtype, e->n_dims, e->shape, g_bytes_new_take (swapped, 2 * half));
    } else {
      g_error ("no diffusers name for %s", e->name);
    }
  }
  return out;
}

/* ---- dtype conversion ------------------------------------------------------------------ */

/* Magnitude of a float8_e4m3fn code below 0x7f (S.1111.111 is NaN). */
static float
e4m3_value (guint code)
{
  guint e = (code >> 3) & 15, m = code & 7;
  return e == 0 ? ldexpf ((float) m, -9) : ldexpf (1.0f + m / 8.0f, (int) e - 7);
}

/* float8_e4m3fn, round to nearest even; no input here comes near the ±448 limit. Found by
 * scanning the 127 finite magnitudes, which needs no bit tricks to be right. */
static uint8_t
f32_to_e4m3 (float x)
{
  static float magnitudes[0x7f];
  if (magnitudes[1] == 0)
    for (guint c = 0; c < 0x7f; c++)
      magnitudes[c] = e4m3_value (c);
  float a = fabsf (x);
  guint best = 0;
  for (guint c = 1; c < 0x7f; c++) {
    float d = fabsf (magnitudes[c] - a), bd = fabsf (magnitudes[best] - a);
    if (d < bd || (d == bd && (c & 1) == 0))
      best = c;
  }
  return (uint8_t) (best | (signbit (x) ? 0x80 : 0));
}

/* Every F32 tensor converted to `dtype` (BF16 or F8_E4M3), in place. */
static void
ckpt_convert (Ckpt *ck, SinopiaStDType dtype)
{
  for (guint i = 0; i < ck->entries->len; i++) {
    Entry *e = g_ptr_array_index (ck->entries, i);
    gsize n;
    g_autofree float *v = entry_f32 (e, &n);
    gsize size = sinopia_st_dtype_size (dtype);
    uint8_t *out = g_malloc (MAX (n * size, 1));
    for (gsize j = 0; j < n; j++) {
      if (dtype == SINOPIA_ST_BF16) {
        uint16_t b = sinopia_ref_f32_to_bf16 (v[j]);
        memcpy (out + 2 * j, &b, 2);
      } else {
        out[j] = f32_to_e4m3 (v[j]);
      }
    }
    g_bytes_unref (e->data);
    e->data = g_bytes_new_take (out, n * size);
    e->dtype = dtype;
  }
}

/* The F32 checkpoint holding exactly the values the file at `path` decodes to. */
static char *
write_f32_twin (const char *path, const char *file)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_autoptr (Ckpt) ck = ckpt_new ();
  ck->flux_params = g_strdup (sinopia_safetensors_metadata (st, "flux_params"));
  for (gsize i = 0; i < sinopia_safetensors_n_tensors (st); i++) {
    const SinopiaTensorInfo *t = sinopia_safetensors_tensor (st, i);
    float *v = g_new (float, MAX (t->n_elements, 1));
    sinopia_safetensors_read_f32 (t, v, &error);
    g_assert_no_error (error);
    ckpt_add (ck, t->name, SINOPIA_ST_F32, t->n_dims, t->shape, g_bytes_new_take (v, t->n_elements * 4));
  }
  return ckpt_write (ck, file);
}

/* ---- checkpoints made from a configuration ---------------------------------------------- */

typedef struct {
  char *name;
  guint n_dims;
  uint64_t shape[2];
} Spec;

static void
spec_free (gpointer p)
{
  Spec *s = p;
  g_free (s->name);
  g_free (s);
}

static void G_GNUC_PRINTF (4, 5)
spec_add (GPtrArray *specs, uint64_t rows, uint64_t cols, const char *fmt, ...)
{
  va_list ap;
  Spec *s = g_new0 (Spec, 1);
  va_start (ap, fmt);
  s->name = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  s->n_dims = cols ? 2 : 1;
  s->shape[0] = rows;
  s->shape[1] = cols;
  g_ptr_array_add (specs, s);
}

static void
spec_linear (GPtrArray *specs, const char *stem, uint64_t out, uint64_t in, gboolean bias)
{
  spec_add (specs, out, in, "%s.weight", stem);
  if (bias)
    spec_add (specs, out, 0, "%s.bias", stem);
}

/* The BFL tensors of a configuration (flux-reference.md §A3), in the reference's order. */
static GPtrArray *
bfl_specs (const SinopiaFluxConfig *c)
{
  GPtrArray *s = g_ptr_array_new_with_free_func (spec_free);
  uint64_t D = c->hidden_size, M = c->mlp_hidden, hd = sinopia_flux_head_dim (c);
  spec_linear (s, "img_in", D, c->in_channels, TRUE);
  spec_linear (s, "time_in.in_layer", D, 256, TRUE);
  spec_linear (s, "time_in.out_layer", D, D, TRUE);
  spec_linear (s, "vector_in.in_layer", D, c->vec_in_dim, TRUE);
  spec_linear (s, "vector_in.out_layer", D, D, TRUE);
  if (c->guidance_embed) {
    spec_linear (s, "guidance_in.in_layer", D, 256, TRUE);
    spec_linear (s, "guidance_in.out_layer", D, D, TRUE);
  }
  spec_linear (s, "txt_in", D, c->context_in_dim, TRUE);
  for (guint i = 0; i < c->depth; i++) {
    for (guint k = 0; k < 2; k++) {
      const char *sn = k ? "txt" : "img";
      g_autofree char *b = g_strdup_printf ("double_blocks.%u.%s", i, sn);
      g_autofree char *mod = g_strconcat (b, "_mod.lin", NULL);
      g_autofree char *qkv = g_strconcat (b, "_attn.qkv", NULL);
      g_autofree char *proj = g_strconcat (b, "_attn.proj", NULL);
      g_autofree char *mlp0 = g_strconcat (b, "_mlp.0", NULL);
      g_autofree char *mlp2 = g_strconcat (b, "_mlp.2", NULL);
      spec_linear (s, mod, 6 * D, D, TRUE);
      spec_linear (s, qkv, 3 * D, D, c->qkv_bias);
      spec_add (s, hd, 0, "%s_attn.norm.query_norm.scale", b);
      spec_add (s, hd, 0, "%s_attn.norm.key_norm.scale", b);
      spec_linear (s, proj, D, D, TRUE);
      spec_linear (s, mlp0, M, D, TRUE);
      spec_linear (s, mlp2, D, M, TRUE);
    }
  }
  for (guint i = 0; i < c->depth_single; i++) {
    g_autofree char *l1 = g_strdup_printf ("single_blocks.%u.linear1", i);
    g_autofree char *l2 = g_strdup_printf ("single_blocks.%u.linear2", i);
    g_autofree char *mod = g_strdup_printf ("single_blocks.%u.modulation.lin", i);
    spec_linear (s, l1, 3 * D + M, D, TRUE);
    spec_linear (s, l2, D, D + M, TRUE);
    spec_add (s, hd, 0, "single_blocks.%u.norm.query_norm.scale", i);
    spec_add (s, hd, 0, "single_blocks.%u.norm.key_norm.scale", i);
    spec_linear (s, mod, 3 * D, D, TRUE);
  }
  spec_linear (s, "final_layer.linear", c->out_channels, D, TRUE);
  spec_linear (s, "final_layer.adaLN_modulation.1", 2 * D, D, TRUE);
  return s;
}

static uint64_t
spec_elements (const Spec *s)
{
  return s->shape[0] * (s->n_dims == 2 ? s->shape[1] : 1);
}

/* A random F32 checkpoint of configuration `c`, without metadata. */
static Ckpt *
random_ckpt (const SinopiaFluxConfig *c, guint32 seed)
{
  g_autoptr (GPtrArray) specs = bfl_specs (c);
  Ckpt *ck = ckpt_new ();
  for (guint i = 0; i < specs->len; i++) {
    const Spec *s = g_ptr_array_index (specs, i);
    uint64_t n = spec_elements (s);
    float *v = sinopia_test_random (seed + i, n, -0.05f, 0.05f);
    ckpt_add (ck, s->name, SINOPIA_ST_F32, s->n_dims, s->shape, g_bytes_new_take (v, n * sizeof (float)));
  }
  return ck;
}

static const SinopiaFluxConfig flux_dev = {
  .in_channels = 64, .out_channels = 64, .vec_in_dim = 768, .context_in_dim = 4096,
  .hidden_size = 3072, .mlp_hidden = 12288, .num_heads = 24, .depth = 19, .depth_single = 38,
  .n_axes = 3, .axes_dim = { 16, 56, 56 }, .theta = 10000, .qkv_bias = TRUE, .guidance_embed = TRUE,
};

/* Writes a checkpoint of configuration `c` whose tensors are all `dtype` zeros, as a sparse
 * file: only the header takes disk space, so its size can exceed the machine's memory.
 * Returns the path and the device bytes its weights would take. */
static char *
write_sparse (const SinopiaFluxConfig *c, SinopiaStDType dtype, const char *file, uint64_t *device_bytes)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) specs = bfl_specs (c);
  GString *json = g_string_new ("{");
  uint64_t offset = 0, esize = sinopia_st_dtype_size (dtype);
  *device_bytes = 0;
  for (guint i = 0; i < specs->len; i++) {
    const Spec *s = g_ptr_array_index (specs, i);
    uint64_t n = spec_elements (s);
    g_string_append_printf (json, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[%" G_GUINT64_FORMAT, i ? "," : "",
                            s->name, sinopia_st_dtype_name (dtype), s->shape[0]);
    if (s->n_dims == 2)
      g_string_append_printf (json, ",%" G_GUINT64_FORMAT, s->shape[1]);
    g_string_append_printf (json, "],\"data_offsets\":[%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT "]}", offset,
                            offset + n * esize);
    offset += n * esize;
    *device_bytes += sinopia_weights_device_bytes (dtype, n, s->n_dims == 1);
  }
  g_string_append_c (json, '}');
  while (json->len % 8)
    g_string_append_c (json, ' ');
  uint64_t len = GUINT64_TO_LE (json->len);
  g_string_prepend_len (json, (const char *) &len, 8);
  char *path = tmp_path (file);
  g_file_set_contents (path, json->str, json->len, &error);
  g_assert_no_error (error);
  g_assert_cmpint (truncate (path, json->len + offset), ==, 0);
  g_string_free (json, TRUE);
  return path;
}

static void
assert_config_equal (const SinopiaFluxConfig *got, const SinopiaFluxConfig *want)
{
  g_assert_cmpuint (got->in_channels, ==, want->in_channels);
  g_assert_cmpuint (got->out_channels, ==, want->out_channels);
  g_assert_cmpuint (got->vec_in_dim, ==, want->vec_in_dim);
  g_assert_cmpuint (got->context_in_dim, ==, want->context_in_dim);
  g_assert_cmpuint (got->hidden_size, ==, want->hidden_size);
  g_assert_cmpuint (got->mlp_hidden, ==, want->mlp_hidden);
  g_assert_cmpuint (got->num_heads, ==, want->num_heads);
  g_assert_cmpuint (got->depth, ==, want->depth);
  g_assert_cmpuint (got->depth_single, ==, want->depth_single);
  g_assert_cmpuint (got->n_axes, ==, want->n_axes);
  for (guint a = 0; a < want->n_axes; a++)
    g_assert_cmpuint (got->axes_dim[a], ==, want->axes_dim[a]);
  g_assert_cmpfloat (got->theta, ==, want->theta);
  g_assert_cmpint (!!got->qkv_bias, ==, !!want->qkv_bias);
  g_assert_cmpint (!!got->guidance_embed, ==, !!want->guidance_embed);
}

/* Opens `path` and infers its configuration, naming and prefix; asserts success. */
static void
config_of (const char *path, SinopiaFluxConfig *cfg, SinopiaFluxNaming *naming, char **prefix)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (path, &error);
  g_assert_no_error (error);
  sinopia_flux_config_from_checkpoint (st, cfg, naming, prefix, &error);
  g_assert_no_error (error);
}

/* ---- the golden model ------------------------------------------------------------------- */

static SinopiaSafetensors *golden_io;
static SinopiaDump *golden_dump;   /* forward of the BFL golden weights, f32 */

/* The golden weights path, or NULL when the golden data is absent (the test is skipped). */
static char *
golden_weights (void)
{
  g_autoptr (GError) error = NULL;
  char *weights = sinopia_test_golden_path (GOLDEN, A1_WEIGHTS);
  if (!weights)
    return NULL;
  if (!golden_io) {
    g_autofree char *io = sinopia_test_golden_path (GOLDEN, A1_FORWARD);
    golden_io = sinopia_safetensors_open (io, &error);
    g_assert_no_error (error);
    golden_dump = sinopia_test_flux_forward (weights, golden_io, TRUE);
  }
  return weights;
}

static const float *
dump_tensor (SinopiaDump *dump, const char *name, gsize *n)
{
  gsize bytes = 0;
  GBytes *b = g_hash_table_lookup (dump->tensors, name);
  g_assert_nonnull (b);
  const float *v = g_bytes_get_data (b, &bytes);
  *n = bytes / sizeof (float);
  return v;
}

/* Every tensor of the golden forward's dump, bit for bit. */
static void
assert_dump_identical (SinopiaDump *dump, const char *what)
{
  GHashTableIter it;
  gpointer key, value;
  guint n_compared = 0;
  g_hash_table_iter_init (&it, golden_dump->tensors);
  while (g_hash_table_iter_next (&it, &key, &value)) {
    GBytes *ours = g_hash_table_lookup (dump->tensors, key);
    if (!ours)
      g_error ("%s: the forward did not produce %s", what, (const char *) key);
    if (!g_bytes_equal (ours, value))
      g_error ("%s: %s differs from the BFL checkpoint's", what, (const char *) key);
    n_compared++;
  }
  g_assert_true (g_hash_table_contains (dump->tensors, "output"));
  g_test_message ("%s: %u tensors bit-identical", what, n_compared);
}

static double
output_error (SinopiaDump *a, SinopiaDump *b)
{
  gsize na, nb;
  const float *x = dump_tensor (a, "output", &na), *y = dump_tensor (b, "output", &nb);
  g_assert_cmpuint (na, ==, nb);
  for (gsize i = 0; i < na; i++)
    g_assert_true (isfinite (x[i]));
  return sinopia_test_max_abs_diff (x, y, na);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void
test_golden_specs (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *weights = golden_weights ();
  if (!weights)
    return;
  SinopiaFluxConfig cfg;
  SinopiaFluxNaming naming;
  g_autofree char *prefix = NULL;
  config_of (weights, &cfg, &naming, &prefix);
  g_assert_cmpint (naming, ==, SINOPIA_FLUX_NAMING_BFL);
  g_assert_cmpstr (prefix, ==, "");

  /* The generator the other tests rely on reproduces the reference's tensor list exactly. */
  g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (weights, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) specs = bfl_specs (&cfg);
  uint64_t elements = 0;
  g_assert_cmpuint (specs->len, ==, sinopia_safetensors_n_tensors (st));
  for (guint i = 0; i < specs->len; i++) {
    const Spec *s = g_ptr_array_index (specs, i);
    const SinopiaTensorInfo *t = sinopia_safetensors_lookup (st, s->name);
    if (!t)
      g_error ("golden checkpoint lacks %s", s->name);
    g_assert_cmpuint (t->n_dims, ==, s->n_dims);
    g_assert_cmpuint (t->shape[0], ==, s->shape[0]);
    g_assert_cmpuint (t->shape[1], ==, s->shape[1]);
    elements += t->n_elements;
  }
  g_assert_cmpuint (sinopia_flux_param_count (&cfg), ==, elements);
  g_assert_cmpuint (elements, ==, 490496);
}

static void
test_diffusers (void)
{
  g_autofree char *weights = golden_weights ();
  if (!weights)
    return;
  g_autoptr (Ckpt) bfl = ckpt_read (weights);
  SinopiaFluxConfig want, cfg;
  SinopiaFluxNaming naming;
  g_autofree char *p0 = NULL, *p1 = NULL;
  config_of (weights, &want, &naming, &p0);
  g_autoptr (Ckpt) diff = to_diffusers (bfl, want.hidden_size);
  g_autofree char *path = ckpt_write (diff, "a1-diffusers.safetensors");

  config_of (path, &cfg, &naming, &p1);
  g_assert_cmpint (naming, ==, SINOPIA_FLUX_NAMING_DIFFUSERS);
  g_assert_cmpstr (p1, ==, "");
  assert_config_equal (&cfg, &want);

  SinopiaDump *dump = sinopia_test_flux_forward (path, golden_io, TRUE);
  assert_dump_identical (dump, "diffusers naming");
  sinopia_dump_free (dump);
}

static void
test_prefix (void)
{
  g_autofree char *weights = golden_weights ();
  if (!weights)
    return;
  g_autoptr (Ckpt) ck = ckpt_read (weights);
  for (guint i = 0; i < ck->entries->len; i++) {
    Entry *e = g_ptr_array_index (ck->entries, i);
    char *name = g_strconcat ("model.diffusion_model.", e->name, NULL);
    g_free (e->name);
    e->name = name;
  }
  /* Other models of an all-in-one file sit beside the transformer and are left alone. */
  static const uint64_t conv_shape[] = { 8, 3, 3, 3 }, norm_shape[] = { 16 };
  ckpt_add (ck, "vae.decoder.conv_in.weight", SINOPIA_ST_F32, 4, conv_shape,
            g_bytes_new_take (sinopia_test_random (7, 216, -1, 1), 216 * sizeof (float)));
  ckpt_add (ck, "text_encoders.clip_l.transformer.text_model.final_layer_norm.weight", SINOPIA_ST_F32, 1,
            norm_shape, g_bytes_new_take (sinopia_test_random (8, 16, -1, 1), 16 * sizeof (float)));
  g_autofree char *path = ckpt_write (ck, "a1-prefixed.safetensors");

  SinopiaFluxConfig cfg;
  SinopiaFluxNaming naming;
  g_autofree char *prefix = NULL;
  config_of (path, &cfg, &naming, &prefix);
  g_assert_cmpint (naming, ==, SINOPIA_FLUX_NAMING_BFL);
  g_assert_cmpstr (prefix, ==, "model.diffusion_model.");

  SinopiaDump *dump = sinopia_test_flux_forward (path, golden_io, TRUE);
  assert_dump_identical (dump, "prefixed names");
  sinopia_dump_free (dump);
}

/* Sum of sinopia_weights_device_bytes over a file's tensors: what the loader must report. */
static uint64_t
expected_device_bytes (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (path, &error);
  g_assert_no_error (error);
  uint64_t total = 0;
  for (gsize i = 0; i < sinopia_safetensors_n_tensors (st); i++) {
    const SinopiaTensorInfo *t = sinopia_safetensors_tensor (st, i);
    total += sinopia_weights_device_bytes (t->dtype, t->n_elements, t->n_dims <= 1);
  }
  return total;
}

static uint64_t
loaded_weight_bytes (const char *path)
{
  g_autoptr (GError) error = NULL;
  SinopiaFluxModel *model = sinopia_flux_model_load (sinopia_test_context (), path, &error);
  g_assert_no_error (error);
  uint64_t bytes = sinopia_flux_model_weight_bytes (model);
  sinopia_flux_model_free (model);
  return bytes;
}

static void
converted_dtype (SinopiaStDType dtype, double atol)
{
  g_autofree char *weights = golden_weights ();
  if (!weights)
    return;
  const char *dn = sinopia_st_dtype_name (dtype);
  g_autoptr (Ckpt) ck = ckpt_read (weights);
  ckpt_convert (ck, dtype);
  g_autofree char *file = g_strdup_printf ("a1-%s.safetensors", dn);
  g_autofree char *twin_file = g_strdup_printf ("a1-%s-as-f32.safetensors", dn);
  g_autofree char *path = ckpt_write (ck, file);
  g_autofree char *twin = write_f32_twin (path, twin_file);

  /* Matrices stay 16-bit on the device (F8 widened to F16), vectors become F32: the
   * loaded size shows it, and it is well under the f32 model's. */
  uint64_t bytes = loaded_weight_bytes (path), f32_bytes = loaded_weight_bytes (weights);
  g_assert_cmpuint (bytes, ==, expected_device_bytes (path));
  uint64_t vectors = 0, matrices = 0;
  for (guint i = 0; i < ck->entries->len; i++) {
    const Entry *e = g_ptr_array_index (ck->entries, i);
    uint64_t n = e->n_dims == 1 ? e->shape[0] : e->shape[0] * e->shape[1];
    *(e->n_dims == 1 ? &vectors : &matrices) += n;
  }
  g_assert_cmpuint (bytes, ==, 2 * matrices + 4 * vectors);
  g_assert_cmpuint (f32_bytes, ==, 4 * (matrices + vectors));

  SinopiaDump *dump = sinopia_test_flux_forward (path, golden_io, TRUE);
  SinopiaDump *twin_dump = sinopia_test_flux_forward (twin, golden_io, TRUE);
  double err_twin = output_error (dump, twin_dump), err = output_error (dump, golden_dump);
  g_test_message ("%s weights: max abs error %.3g vs f32 weights (tolerance %.3g), %.3g vs the same values "
                  "in f32 (tolerance %.3g)", dn, err, atol, err_twin, TWIN_ATOL);
  if (err_twin > TWIN_ATOL)
    g_error ("%s weights: output differs by %.3g from f32 weights of the same values", dn, err_twin);
  if (err > atol)
    g_error ("%s weights: output differs by %.3g from the f32 output (tolerance %.3g)", dn, err, atol);
  sinopia_dump_free (dump);
  sinopia_dump_free (twin_dump);
}

static void
test_bf16 (void)
{
  converted_dtype (SINOPIA_ST_BF16, BF16_ATOL);
}

static void
test_f8 (void)
{
  /* the converter itself, on values with known encodings */
  g_assert_cmpuint (f32_to_e4m3 (1.0f), ==, 0x38);
  g_assert_cmpuint (f32_to_e4m3 (-0.0625f), ==, 0x98);
  g_assert_cmpuint (f32_to_e4m3 (1.0625f), ==, 0x38);   /* tie between 1 and 1.125: even */
  g_assert_cmpuint (f32_to_e4m3 (1.1875f), ==, 0x3a);   /* tie between 1.125 and 1.25: even */
  g_assert_cmpuint (f32_to_e4m3 (448.0f), ==, 0x7e);
  g_assert_cmpuint (f32_to_e4m3 (ldexpf (1, -9)), ==, 0x01);
  converted_dtype (SINOPIA_ST_F8_E4M3, F8_ATOL);
}

/* hidden 128 with one head: head_dim 128, the only case whose RoPE axes can be inferred */
static const SinopiaFluxConfig small128 = {
  .in_channels = 64, .out_channels = 64, .vec_in_dim = 16, .context_in_dim = 32,
  .hidden_size = 128, .mlp_hidden = 512, .num_heads = 1, .depth = 1, .depth_single = 1,
  .n_axes = 3, .axes_dim = { 16, 56, 56 }, .theta = 10000, .qkv_bias = TRUE, .guidance_embed = TRUE,
};

/* Writes `ck` (BFL, no metadata), checks the inferred configuration in BFL and diffusers
 * naming, and that the loader takes every tensor of it. */
static void
check_inferred (Ckpt *ck, const SinopiaFluxConfig *want, const char *file)
{
  g_autofree char *path = ckpt_write (ck, file);
  g_autofree char *diff_file = g_strconcat ("diffusers-", file, NULL);
  g_autoptr (Ckpt) diff = to_diffusers (ck, want->hidden_size);
  g_autofree char *diff_path = ckpt_write (diff, diff_file);
  const char *paths[] = { path, diff_path };
  uint64_t elements = 0;
  for (guint i = 0; i < ck->entries->len; i++)
    elements += g_bytes_get_size (((Entry *) g_ptr_array_index (ck->entries, i))->data) / sizeof (float);

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++) {
    SinopiaFluxConfig cfg;
    SinopiaFluxNaming naming;
    g_autofree char *prefix = NULL;
    config_of (paths[i], &cfg, &naming, &prefix);
    g_assert_cmpint (naming, ==, i ? SINOPIA_FLUX_NAMING_DIFFUSERS : SINOPIA_FLUX_NAMING_BFL);
    g_assert_cmpstr (prefix, ==, "");
    assert_config_equal (&cfg, want);
    g_assert_cmpuint (sinopia_flux_param_count (&cfg), ==, elements);
    g_assert_cmpuint (loaded_weight_bytes (paths[i]), ==, 4 * elements);
  }
}

static void
test_inferred (void)
{
  g_autoptr (Ckpt) ck = random_ckpt (&small128, 100);
  g_assert_null (ck->flux_params);
  check_inferred (ck, &small128, "small128.safetensors");

  SinopiaFluxConfig no_guidance = small128;
  no_guidance.guidance_embed = FALSE;
  for (const char *const *n = (const char *const[]) { "guidance_in.in_layer.weight", "guidance_in.in_layer.bias",
                                                       "guidance_in.out_layer.weight",
                                                       "guidance_in.out_layer.bias", NULL }; *n; n++)
    ckpt_remove (ck, *n);
  check_inferred (ck, &no_guidance, "small128-no-guidance.safetensors");

  SinopiaFluxConfig no_bias = small128;
  no_bias.qkv_bias = FALSE;
  g_autoptr (Ckpt) nb = random_ckpt (&no_bias, 200);
  check_inferred (nb, &no_bias, "small128-no-qkv-bias.safetensors");
}

static void
test_inferred_head_dim (void)
{
  g_autoptr (GError) error = NULL;
  SinopiaFluxConfig c = small128;
  c.hidden_size = 32;
  c.num_heads = 2;
  c.mlp_hidden = 128;
  c.axes_dim[0] = 4;
  c.axes_dim[1] = c.axes_dim[2] = 6;
  g_autoptr (Ckpt) ck = random_ckpt (&c, 300);
  g_autofree char *path = ckpt_write (ck, "head-dim-16.safetensors");
  g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (path, &error);
  g_assert_no_error (error);
  SinopiaFluxConfig cfg;
  SinopiaFluxNaming naming;
  g_autofree char *prefix = NULL;
  g_assert_false (sinopia_flux_config_from_checkpoint (st, &cfg, &naming, &prefix, &error));
  g_assert_error (error, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_CONFIG);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "axes"));
  g_assert_nonnull (strstr (error->message, "16"));
  g_assert_null (prefix);
  g_clear_error (&error);

  /* the loader gives the same error, and with the axes in flux_params the model loads */
  g_assert_null (sinopia_flux_model_load (sinopia_test_context (), path, &error));
  g_assert_error (error, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_CONFIG);
  g_clear_error (&error);
  ck->flux_params = g_strdup ("{\"in_channels\": 64, \"out_channels\": 64, \"vec_in_dim\": 16, "
                              "\"context_in_dim\": 32, \"hidden_size\": 32, \"mlp_ratio\": 4.0, \"num_heads\": 2, "
                              "\"depth\": 1, \"depth_single_blocks\": 1, \"axes_dim\": [4, 6, 6], "
                              "\"theta\": 10000, \"qkv_bias\": true, \"guidance_embed\": true}");
  g_autofree char *with_meta = ckpt_write (ck, "head-dim-16-params.safetensors");
  SinopiaFluxModel *model = sinopia_flux_model_load (sinopia_test_context (), with_meta, &error);
  g_assert_no_error (error);
  assert_config_equal (sinopia_flux_model_config (model), &c);
  sinopia_flux_model_free (model);
}

/* Loads `path`, which must fail with (domain, code) and a message holding the file's name
 * and each of the NULL-terminated `needles`. */
static void G_GNUC_NULL_TERMINATED
expect_load_error (const char *path, GQuark domain, int code, ...)
{
  g_autoptr (GError) error = NULL;
  SinopiaVkContext *ctx = sinopia_test_context ();
  uint64_t before = sinopia_vk_context_allocated_bytes (ctx);
  g_assert_null (sinopia_flux_model_load (ctx, path, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_error (error, domain, code);
  g_autofree char *base = g_path_get_basename (path);
  if (!strstr (error->message, base))
    g_error ("the error does not name the file %s: %s", base, error->message);
  va_list ap;
  va_start (ap, code);
  for (const char *needle; (needle = va_arg (ap, const char *));)
    if (!strstr (error->message, needle))
      g_error ("the error does not mention \"%s\": %s", needle, error->message);
  va_end (ap);
  /* a failed load leaves nothing allocated behind */
  g_assert_cmpuint (sinopia_vk_context_allocated_bytes (ctx), ==, before);
}

/* Writes raw bytes: an 8-byte header length, the header, then the data. */
static char *
write_raw (const char *file, uint64_t header_len, const char *header, const void *data, gsize data_len)
{
  g_autoptr (GError) error = NULL;
  GByteArray *b = g_byte_array_new ();
  uint64_t le = GUINT64_TO_LE (header_len);
  g_byte_array_append (b, (const guint8 *) &le, 8);
  g_byte_array_append (b, (const guint8 *) header, strlen (header));
  g_byte_array_append (b, data, data_len);
  char *path = tmp_path (file);
  g_file_set_contents (path, (const char *) b->data, b->len, &error);
  g_assert_no_error (error);
  g_byte_array_unref (b);
  return path;
}

static void
test_broken (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *weights = golden_weights ();
  if (!weights)
    return;

  {
    g_autoptr (Ckpt) ck = ckpt_read (weights);
    ckpt_remove (ck, "double_blocks.1.txt_mlp.2.bias");
    g_autofree char *path = ckpt_write (ck, "missing.safetensors");
    expect_load_error (path, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_TENSORS, "missing",
                       "double_blocks.1.txt_mlp.2.bias", NULL);
  }
  {
    /* linear1 is read as two row ranges: a missing one is reported once, not dereferenced */
    g_autoptr (Ckpt) ck = ckpt_read (weights);
    ckpt_remove (ck, "single_blocks.1.linear1.weight");
    g_autofree char *path = ckpt_write (ck, "missing-linear1.safetensors");
    expect_load_error (path, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_TENSORS, "missing",
                       "single_blocks.1.linear1.weight", NULL);
  }
  {
    g_autoptr (Ckpt) ck = ckpt_read (weights);
    static const uint64_t shape[] = { 4 };
    ckpt_add (ck, "double_blocks.0.img_attn.extra", SINOPIA_ST_F32, 1, shape,
              g_bytes_new_take (g_new0 (float, 4), 16));
    g_autofree char *path = ckpt_write (ck, "extra.safetensors");
    expect_load_error (path, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_TENSORS, "unexpected",
                       "double_blocks.0.img_attn.extra", NULL);
  }
  {
    /* one row short: a valid file whose tensor does not fit the configuration */
    g_autoptr (Ckpt) ck = ckpt_read (weights);
    entry_drop_row (ckpt_find (ck, "double_blocks.0.img_attn.qkv.weight"));
    g_autofree char *path = ckpt_write (ck, "misshapen.safetensors");
    expect_load_error (path, SINOPIA_SAFETENSORS_ERROR, SINOPIA_SAFETENSORS_ERROR_SHAPE,
                       "double_blocks.0.img_attn.qkv.weight", "191", "192", NULL);
  }
  {
    /* a row moved from the image stream's qkv to the text stream's: the stacked total fits,
     * each stream does not */
    g_autoptr (Ckpt) ck = ckpt_read (weights);
    Entry *img = ckpt_find (ck, "double_blocks.0.img_attn.qkv.weight");
    Entry *txt = ckpt_find (ck, "double_blocks.0.txt_attn.qkv.weight");
    gsize row = entry_drop_row (img);
    gsize txt_size = g_bytes_get_size (txt->data);
    guint8 *longer = g_malloc (txt_size + row);
    memcpy (longer, g_bytes_get_data (txt->data, NULL), txt_size);
    memcpy (longer + txt_size, longer + txt_size - row, row);
    g_bytes_unref (txt->data);
    txt->data = g_bytes_new_take (longer, txt_size + row);
    txt->shape[0]++;
    g_autofree char *path = ckpt_write (ck, "moved-row.safetensors");
    expect_load_error (path, SINOPIA_SAFETENSORS_ERROR, SINOPIA_SAFETENSORS_ERROR_SHAPE,
                       "double_blocks.0.txt_attn.qkv.weight", "193", "192", "text stream", NULL);
  }
  {
    g_autoptr (Ckpt) ck = ckpt_read (weights);
    Entry *e = ckpt_find (ck, "double_blocks.0.txt_mlp.0.weight");
    gsize n;
    g_autofree float *v = entry_f32 (e, &n);
    int32_t *iv = g_new (int32_t, n);
    for (gsize i = 0; i < n; i++)
      iv[i] = (int32_t) (v[i] * 1000);
    g_bytes_unref (e->data);
    e->data = g_bytes_new_take (iv, n * sizeof (int32_t));
    e->dtype = SINOPIA_ST_I32;
    g_autofree char *path = ckpt_write (ck, "int32.safetensors");
    expect_load_error (path, SINOPIA_SAFETENSORS_ERROR, SINOPIA_SAFETENSORS_ERROR_DTYPE,
                       "double_blocks.0.txt_mlp.0.weight", "I32", NULL);
  }

  g_autofree char *contents = NULL;
  gsize len = 0;
  g_file_get_contents (weights, &contents, &len, &error);
  g_assert_no_error (error);
  uint64_t header_len;
  memcpy (&header_len, contents, 8);
  header_len = GUINT64_FROM_LE (header_len);
  {
    /* cut inside the data: the last tensor's range runs past the end */
    g_autofree char *path = tmp_path ("truncated-data.safetensors");
    g_file_set_contents (path, contents, len - 4, &error);
    g_assert_no_error (error);
    const SinopiaTensorInfo *last = NULL;
    g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (weights, &error);
    g_assert_no_error (error);
    last = sinopia_safetensors_tensor (st, sinopia_safetensors_n_tensors (st) - 1);
    expect_load_error (path, SINOPIA_SAFETENSORS_ERROR, SINOPIA_SAFETENSORS_ERROR_OFFSETS, last->name, NULL);
  }
  {
    g_autofree char *path = tmp_path ("truncated-header.safetensors");
    g_file_set_contents (path, contents, 8 + header_len / 2, &error);
    g_assert_no_error (error);
    expect_load_error (path, SINOPIA_SAFETENSORS_ERROR, SINOPIA_SAFETENSORS_ERROR_TRUNCATED, NULL);
  }
  {
    g_autofree char *path = tmp_path ("truncated-length.safetensors");
    g_file_set_contents (path, contents, 5, &error);
    g_assert_no_error (error);
    expect_load_error (path, SINOPIA_SAFETENSORS_ERROR, SINOPIA_SAFETENSORS_ERROR_TRUNCATED, NULL);
  }
  {
    /* the header length points past the end of the file */
    g_autofree char *copy = g_memdup2 (contents, len);
    uint64_t past = GUINT64_TO_LE ((uint64_t) len);
    memcpy (copy, &past, 8);
    g_autofree char *path = tmp_path ("header-past-end.safetensors");
    g_file_set_contents (path, copy, len, &error);
    g_assert_no_error (error);
    expect_load_error (path, SINOPIA_SAFETENSORS_ERROR, SINOPIA_SAFETENSORS_ERROR_TRUNCATED, NULL);
  }
  {
    /* two tensors sharing bytes 8..16 */
    static const char header[] = "{\"img_in.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                                 "\"img_in.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}";
    static const float data[4] = { 1, 2, 3, 4 };
    g_autofree char *path = write_raw ("overlap.safetensors", strlen (header), header, data, sizeof data);
    expect_load_error (path, SINOPIA_SAFETENSORS_ERROR, SINOPIA_SAFETENSORS_ERROR_OVERLAP, "img_in.weight",
                       "img_in.bias", NULL);
  }
  {
    static const uint64_t shape[] = { 4, 4 };
    g_autoptr (Ckpt) ck = ckpt_new ();
    ckpt_add (ck, "encoder.conv_in.weight", SINOPIA_ST_F32, 2, shape,
              g_bytes_new_take (g_new0 (float, 16), 16 * sizeof (float)));
    g_autofree char *path = ckpt_write (ck, "not-flux.safetensors");
    expect_load_error (path, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_TENSORS, "not a FLUX transformer", NULL);
    g_autofree char *ae = sinopia_test_golden_path (GOLDEN, "ae_a_weights.safetensors");
    expect_load_error (ae, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_TENSORS, "not a FLUX transformer", NULL);
  }
  {
    g_autofree char *path = write_raw ("not-safetensors.safetensors", 25, "<html>not a checkpoint ..", NULL, 0);
    expect_load_error (path, SINOPIA_SAFETENSORS_ERROR, SINOPIA_SAFETENSORS_ERROR_HEADER, NULL);
  }
  {
    /* flux_params whose axes do not add up to the head dimension */
    g_autoptr (Ckpt) ck = ckpt_read (weights);
    g_autofree char *bad = g_strdup (ck->flux_params);
    char *axes = strstr (bad, "[4, 6, 6]");
    g_assert_nonnull (axes);
    axes[7] = '8';
    g_free (ck->flux_params);
    ck->flux_params = g_steal_pointer (&bad);
    g_autofree char *path = ckpt_write (ck, "bad-params.safetensors");
    expect_load_error (path, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_CONFIG, "flux_params", "axes", NULL);
  }
  {
    g_autofree char *path = tmp_path ("does-not-exist.safetensors");
    expect_load_error (path, G_FILE_ERROR, G_FILE_ERROR_NOENT, NULL);
  }
}

/* The fit check runs on the checkpoint's header before anything is allocated, so a model
 * larger than the device is refused cheaply: FLUX.1-dev's real tensor list (BF16, 23.8 GB)
 * as a sparse file, with more double blocks where the device is larger than that. */
static void
test_too_large (void)
{
  SinopiaVkContext *ctx = sinopia_test_context ();
  const SinopiaVkDeviceInfo *info = sinopia_vk_context_device_info (ctx);
  uint64_t heap = 0, bytes = 0;
  for (guint h = 0; h < info->n_heaps; h++)
    if (info->heap_device_local[h])
      heap = MAX (heap, info->heap_size[h]);
  SinopiaFluxConfig c = flux_dev;
  g_autofree char *path = NULL;
  for (;;) {
    g_free (path);
    path = write_sparse (&c, SINOPIA_ST_BF16, "too-large.safetensors", &bytes);
    if (bytes > heap)
      break;
    c.depth += 19;
  }
  g_test_message ("a %.1f GB checkpoint against a %.1f GB device heap", bytes / 1e9, heap / 1e9);

  SinopiaFluxConfig cfg;
  SinopiaFluxNaming naming;
  g_autofree char *prefix = NULL;
  config_of (path, &cfg, &naming, &prefix);
  assert_config_equal (&cfg, &c);
  expect_load_error (path, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_TOO_LARGE, "needs", "the device has", NULL);
}

/* Runs the built sinopia-cli (path in SINOPIA_CLI, set by meson) with `args`; returns its
 * exit status and (transfer full) its output. */
static int
run_cli (const char *const *args, char **out, char **err)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  int status = 0;
  g_ptr_array_add (argv, (gpointer) g_getenv ("SINOPIA_CLI"));
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, err, &status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

/* Asserts that `text` has a line matching `pattern` (a whole-line regex). */
static void
assert_line (const char *text, const char *pattern)
{
  g_autofree char *anchored = g_strdup_printf ("^%s$", pattern);
  if (!g_regex_match_simple (anchored, text, G_REGEX_MULTILINE, 0))
    g_error ("no line matches /%s/ in:\n%s", pattern, text);
}

static void
test_cli_info (void)
{
  if (!g_getenv ("SINOPIA_CLI")) {
    g_test_skip ("SINOPIA_CLI is not set (run through meson test)");
    return;
  }
  g_autofree char *weights = sinopia_test_golden_path (GOLDEN, A1_WEIGHTS);
  if (!weights)
    return;
  g_autofree char *out = NULL, *err = NULL;

  g_assert_cmpint (run_cli ((const char *[]) { "info", weights, NULL }, &out, &err), ==, 0);
  g_test_message ("%s", out);
  assert_line (out, "kind +FLUX transformer");
  assert_line (out, "naming +BFL");
  assert_line (out, "configuration +from __metadata__ flux_params");
  assert_line (out, "  hidden_size +64");
  assert_line (out, "  num_heads +4");
  assert_line (out, "  depth +2");
  assert_line (out, "  depth_single +2");
  assert_line (out, "  mlp_hidden +256");
  assert_line (out, "  axes_dim +4, 6, 6");
  assert_line (out, "  guidance_embed +yes");
  assert_line (out, "parameters +490496");
  assert_line (out, "file elements +490496 in 84 tensors");
  assert_line (out, "  F32 +84 tensors +1961984 bytes.*");
  assert_line (out, "  weights +1961984 bytes.*");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* a checkpoint larger than this machine: only its header is read */
  uint64_t bytes;
  g_autofree char *big = write_sparse (&flux_dev, SINOPIA_ST_BF16, "flux-dev-sparse.safetensors", &bytes);
  g_autofree char *weights_line = g_strdup_printf ("  weights +%" G_GUINT64_FORMAT " bytes.*", bytes);
  g_assert_cmpint (run_cli ((const char *[]) { "info", big, NULL }, &out, &err), ==, 0);
  g_test_message ("%s", out);
  assert_line (out, "configuration +inferred from tensor names and shapes");
  assert_line (out, "  hidden_size +3072");
  assert_line (out, "  axes_dim +16, 56, 56");
  assert_line (out, "parameters +11901408320");
  assert_line (out, "file elements +11901408320 in 780 tensors");
  assert_line (out, weights_line);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_autofree char *ae = sinopia_test_golden_path (GOLDEN, "ae_a_weights.safetensors");
  g_assert_cmpint (run_cli ((const char *[]) { "info", ae, NULL }, &out, &err), ==, 0);
  assert_line (out, "kind +autoencoder.*");
  assert_line (out, "parameters +[0-9]+");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_autofree char *missing = tmp_path ("no-such-file.safetensors");
  g_assert_cmpint (run_cli ((const char *[]) { "info", missing, NULL }, &out, &err), ==, 1);
  g_assert_cmpstr (out, ==, "");
  g_assert_nonnull (strstr (err, "no-such-file.safetensors"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  static const char header[] = "{\"img_in.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                               "\"img_in.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
  static const float data[3] = { 1, 2, 3 };
  g_autofree char *broken = write_raw ("cli-overlap.safetensors", strlen (header), header, data, sizeof data);
  g_assert_cmpint (run_cli ((const char *[]) { "info", broken, NULL }, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "cli-overlap.safetensors"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (run_cli ((const char *[]) { "info", NULL }, &out, &err), ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_cli ((const char *[]) { "info", weights, weights, NULL }, &out, &err), ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_cli ((const char *[]) { "info", "--help", NULL }, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "info"));
}

static void
remove_tmp_dir (void)
{
  g_autoptr (GDir) dir = g_dir_open (tmp_dir, 0, NULL);
  for (const char *name; dir && (name = g_dir_read_name (dir));) {
    g_autofree char *path = tmp_path (name);
    g_remove (path);
  }
  g_rmdir (tmp_dir);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("sinopia-flux-load-XXXXXX", &error);
  g_assert_no_error (error);
  g_test_add_func ("/flux-load/golden-tensor-list", test_golden_specs);
  g_test_add_func ("/flux-load/diffusers", test_diffusers);
  g_test_add_func ("/flux-load/prefix", test_prefix);
  g_test_add_func ("/flux-load/bf16", test_bf16);
  g_test_add_func ("/flux-load/f8-e4m3", test_f8);
  g_test_add_func ("/flux-load/inferred", test_inferred);
  g_test_add_func ("/flux-load/inferred-head-dim", test_inferred_head_dim);
  g_test_add_func ("/flux-load/broken", test_broken);
  g_test_add_func ("/flux-load/too-large", test_too_large);
  g_test_add_func ("/flux-load/cli-info", test_cli_info);
  int rc = g_test_run ();
  if (golden_dump)
    sinopia_dump_free (golden_dump);
  g_clear_pointer (&golden_io, sinopia_safetensors_close);
  sinopia_test_context_finish ();
  remove_tmp_dir ();
  g_free (tmp_dir);
  return rc;
}
