/* sinopia-test-model.c — tiny random model folders for tests (sinopia-test-model.h). */
#define G_LOG_DOMAIN "sinopia-test"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "sinopia-test-model.h"
#include "sinopia-test-vk.h"

typedef struct {
  char *name;
  guint n_dims;
  uint64_t shape[4];
} Spec;

static void
spec_free (gpointer p)
{
  Spec *s = p;
  g_free (s->name);
  g_free (s);
}

static void G_GNUC_PRINTF (3, 4)
spec (GPtrArray *specs, const uint64_t *shape, const char *fmt, ...)
{
  va_list ap;
  Spec *s = g_new0 (Spec, 1);
  va_start (ap, fmt);
  s->name = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  for (; s->n_dims < 4 && shape[s->n_dims]; s->n_dims++)
    s->shape[s->n_dims] = shape[s->n_dims];
  g_ptr_array_add (specs, s);
}

#define SHAPE(...) ((const uint64_t[]) { __VA_ARGS__, 0 })

static void
linear (GPtrArray *s, const char *stem, uint64_t out, uint64_t in, gboolean bias)
{
  spec (s, SHAPE (out, in), "%s.weight", stem);
  if (bias)
    spec (s, SHAPE (out), "%s.bias", stem);
}

/* BFL transformer names (flux-reference.md §A3). */
static GPtrArray *
flux_specs (const SinopiaFluxConfig *c)
{
  GPtrArray *s = g_ptr_array_new_with_free_func (spec_free);
  uint64_t D = c->hidden_size, M = c->mlp_hidden, hd = sinopia_flux_head_dim (c);
  linear (s, "img_in", D, c->in_channels, TRUE);
  linear (s, "time_in.in_layer", D, 256, TRUE);
  linear (s, "time_in.out_layer", D, D, TRUE);
  linear (s, "vector_in.in_layer", D, c->vec_in_dim, TRUE);
  linear (s, "vector_in.out_layer", D, D, TRUE);
  linear (s, "txt_in", D, c->context_in_dim, TRUE);
  for (guint i = 0; i < c->depth; i++)
    for (guint k = 0; k < 2; k++) {
      g_autofree char *b = g_strdup_printf ("double_blocks.%u.%s", i, k ? "txt" : "img");
      g_autofree char *mod = g_strconcat (b, "_mod.lin", NULL), *qkv = g_strconcat (b, "_attn.qkv", NULL);
      g_autofree char *proj = g_strconcat (b, "_attn.proj", NULL), *m0 = g_strconcat (b, "_mlp.0", NULL);
      g_autofree char *m2 = g_strconcat (b, "_mlp.2", NULL);
      linear (s, mod, 6 * D, D, TRUE);
      linear (s, qkv, 3 * D, D, c->qkv_bias);
      spec (s, SHAPE (hd), "%s_attn.norm.query_norm.scale", b);
      spec (s, SHAPE (hd), "%s_attn.norm.key_norm.scale", b);
      linear (s, proj, D, D, TRUE);
      linear (s, m0, M, D, TRUE);
      linear (s, m2, D, M, TRUE);
    }
  for (guint i = 0; i < c->depth_single; i++) {
    g_autofree char *l1 = g_strdup_printf ("single_blocks.%u.linear1", i);
    g_autofree char *l2 = g_strdup_printf ("single_blocks.%u.linear2", i);
    g_autofree char *mod = g_strdup_printf ("single_blocks.%u.modulation.lin", i);
    linear (s, l1, 3 * D + M, D, TRUE);
    linear (s, l2, D, D + M, TRUE);
    spec (s, SHAPE (hd), "single_blocks.%u.norm.query_norm.scale", i);
    spec (s, SHAPE (hd), "single_blocks.%u.norm.key_norm.scale", i);
    linear (s, mod, 3 * D, D, TRUE);
  }
  linear (s, "final_layer.linear", c->out_channels, D, TRUE);
  linear (s, "final_layer.adaLN_modulation.1", 2 * D, D, TRUE);
  return s;
}

static void
conv (GPtrArray *s, const char *stem, uint64_t out, uint64_t in, uint64_t k)
{
  spec (s, SHAPE (out, in, k, k), "%s.weight", stem);
  spec (s, SHAPE (out), "%s.bias", stem);
}

static void
group_norm (GPtrArray *s, const char *stem, uint64_t ch)
{
  spec (s, SHAPE (ch), "%s.weight", stem);
  spec (s, SHAPE (ch), "%s.bias", stem);
}

static void
resblock (GPtrArray *s, const char *stem, uint64_t in, uint64_t out)
{
  g_autofree char *n1 = g_strconcat (stem, ".norm1", NULL), *c1 = g_strconcat (stem, ".conv1", NULL);
  g_autofree char *n2 = g_strconcat (stem, ".norm2", NULL), *c2 = g_strconcat (stem, ".conv2", NULL);
  g_autofree char *nin = g_strconcat (stem, ".nin_shortcut", NULL);
  group_norm (s, n1, in);
  conv (s, c1, out, in, 3);
  group_norm (s, n2, out);
  conv (s, c2, out, out, 3);
  if (in != out)
    conv (s, nin, out, in, 1);
}

static void
ae_mid (GPtrArray *s, const char *side, uint64_t ch)
{
  g_autofree char *b1 = g_strdup_printf ("%s.mid.block_1", side), *b2 = g_strdup_printf ("%s.mid.block_2", side);
  resblock (s, b1, ch, ch);
  const char *parts[] = { "norm", "q", "k", "v", "proj_out" };
  for (guint i = 0; i < G_N_ELEMENTS (parts); i++) {
    g_autofree char *stem = g_strdup_printf ("%s.mid.attn_1.%s", side, parts[i]);
    if (i == 0)
      group_norm (s, stem, ch);
    else
      conv (s, stem, ch, ch, 1);
  }
  resblock (s, b2, ch, ch);
}

/* The reference AutoEncoder's names for a configuration. */
static GPtrArray *
ae_specs (const SinopiaAeConfig *c)
{
  GPtrArray *s = g_ptr_array_new_with_free_func (spec_free);
  uint64_t ch = c->ch, block_in = ch;
  conv (s, "encoder.conv_in", ch, c->in_channels, 3);
  for (guint i = 0; i < c->n_levels; i++) {
    uint64_t block_out = ch * c->ch_mult[i];
    for (guint j = 0; j < c->num_res_blocks; j++) {
      g_autofree char *stem = g_strdup_printf ("encoder.down.%u.block.%u", i, j);
      resblock (s, stem, block_in, block_out);
      block_in = block_out;
    }
    if (i + 1 < c->n_levels) {
      g_autofree char *stem = g_strdup_printf ("encoder.down.%u.downsample.conv", i);
      conv (s, stem, block_in, block_in, 3);
    }
  }
  ae_mid (s, "encoder", block_in);
  group_norm (s, "encoder.norm_out", block_in);
  conv (s, "encoder.conv_out", 2 * c->z_channels, block_in, 3);

  block_in = ch * c->ch_mult[c->n_levels - 1];
  conv (s, "decoder.conv_in", block_in, c->z_channels, 3);
  ae_mid (s, "decoder", block_in);
  for (guint i = c->n_levels; i-- > 0;) {
    uint64_t block_out = ch * c->ch_mult[i];
    for (guint j = 0; j <= c->num_res_blocks; j++) {
      g_autofree char *stem = g_strdup_printf ("decoder.up.%u.block.%u", i, j);
      resblock (s, stem, block_in, block_out);
      block_in = block_out;
    }
    if (i > 0) {
      g_autofree char *stem = g_strdup_printf ("decoder.up.%u.upsample.conv", i);
      conv (s, stem, block_in, block_in, 3);
    }
  }
  group_norm (s, "decoder.norm_out", block_in);
  conv (s, "decoder.conv_out", c->out_ch, block_in, 3);
  return s;
}

/* Hugging Face T5EncoderModel names (shared.weight, no embed_tokens, as save_pretrained). */
static GPtrArray *
t5_specs (const SinopiaT5Config *c)
{
  GPtrArray *s = g_ptr_array_new_with_free_func (spec_free);
  uint64_t inner = (uint64_t) c->num_heads * c->d_kv;
  spec (s, SHAPE (c->vocab_size, c->d_model), "shared.weight");
  for (guint i = 0; i < c->num_layers; i++) {
    const char *qkvo = "qkvo";
    for (guint k = 0; k < 4; k++)
      spec (s, k == 3 ? SHAPE (c->d_model, inner) : SHAPE (inner, c->d_model),
            "encoder.block.%u.layer.0.SelfAttention.%c.weight", i, qkvo[k]);
    if (i == 0)
      spec (s, SHAPE (c->num_buckets, c->num_heads),
            "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
    spec (s, SHAPE (c->d_model), "encoder.block.%u.layer.0.layer_norm.weight", i);
    spec (s, SHAPE (c->d_ff, c->d_model), "encoder.block.%u.layer.1.DenseReluDense.wi_0.weight", i);
    spec (s, SHAPE (c->d_ff, c->d_model), "encoder.block.%u.layer.1.DenseReluDense.wi_1.weight", i);
    spec (s, SHAPE (c->d_model, c->d_ff), "encoder.block.%u.layer.1.DenseReluDense.wo.weight", i);
    spec (s, SHAPE (c->d_model), "encoder.block.%u.layer.1.layer_norm.weight", i);
  }
  spec (s, SHAPE (c->d_model), "encoder.final_layer_norm.weight");
  return s;
}

/* Hugging Face CLIPTextModel names. */
static GPtrArray *
clip_specs (const SinopiaClipConfig *c)
{
  GPtrArray *s = g_ptr_array_new_with_free_func (spec_free);
  uint64_t D = c->hidden_size;
  spec (s, SHAPE (c->vocab_size, D), "text_model.embeddings.token_embedding.weight");
  spec (s, SHAPE (c->max_positions, D), "text_model.embeddings.position_embedding.weight");
  for (guint i = 0; i < c->num_layers; i++) {
    const char *proj[] = { "k_proj", "v_proj", "q_proj", "out_proj" };
    for (guint k = 0; k < 4; k++) {
      g_autofree char *stem = g_strdup_printf ("text_model.encoder.layers.%u.self_attn.%s", i, proj[k]);
      linear (s, stem, D, D, TRUE);
    }
    g_autofree char *ln1 = g_strdup_printf ("text_model.encoder.layers.%u.layer_norm1", i);
    g_autofree char *ln2 = g_strdup_printf ("text_model.encoder.layers.%u.layer_norm2", i);
    g_autofree char *fc1 = g_strdup_printf ("text_model.encoder.layers.%u.mlp.fc1", i);
    g_autofree char *fc2 = g_strdup_printf ("text_model.encoder.layers.%u.mlp.fc2", i);
    group_norm (s, ln1, D);
    linear (s, fc1, c->intermediate_size, D, TRUE);
    linear (s, fc2, D, c->intermediate_size, TRUE);
    group_norm (s, ln2, D);
  }
  group_norm (s, "text_model.final_layer_norm", D);
  return s;
}

/* Writes random F32 weights for `specs` with one metadata entry: norm gains near 1, other
 * tensors uniform with unit-variance scale for their fan-in, so activations neither vanish
 * nor explode and the decoded image is not flat. */
static void
write_random (GPtrArray *specs, const char *path, const char *meta_key, const char *meta_json, guint32 seed,
              const char *const *zeroed)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaSafetensorsWriter) w = sinopia_safetensors_writer_new ();
  g_autoptr (GPtrArray) data = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < specs->len; i++) {
    const Spec *s = g_ptr_array_index (specs, i);
    uint64_t n = 1, fan_in = 1;
    for (guint d = 0; d < s->n_dims; d++)
      n *= s->shape[d];
    for (guint d = 1; d < s->n_dims; d++)
      fan_in *= s->shape[d];
    gboolean gain = strstr (s->name, "norm") && (g_str_has_suffix (s->name, ".weight") ||
                                                 g_str_has_suffix (s->name, ".scale"));
    float a = s->n_dims == 1 ? 0.1f : sqrtf (3.0f / (float) fan_in);
    float *v = sinopia_test_random (seed + i, n, -a, a);
    if (gain)
      for (uint64_t k = 0; k < n; k++)
        v[k] += 1.0f;
    for (guint z = 0; zeroed && zeroed[z]; z++)
      if (g_str_has_prefix (s->name, zeroed[z]))
        memset (v, 0, n * sizeof (float));
    g_ptr_array_add (data, v);
    sinopia_safetensors_writer_add (w, s->name, SINOPIA_ST_F32, s->n_dims, s->shape, v, n * sizeof (float), &error);
    g_assert_no_error (error);
  }
  sinopia_safetensors_writer_set_metadata (w, meta_key, meta_json, &error);
  g_assert_no_error (error);
  sinopia_safetensors_writer_write (w, path, &error);
  g_assert_no_error (error);
}

void
sinopia_test_write_text (const char *path, const char *text)
{
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

char *
sinopia_test_model_info_json (const SinopiaTestModel *m, const char *name, const char *extra)
{
  return g_strdup_printf ("{\"format\": \"sinopia-model\", \"format_version\": 1, \"name\": \"%s\", "
                          "\"native_size\": %u, \"size_multiple\": 16, \"default_steps\": %u, "
                          "\"guidance_mode\": \"cfg\", \"default_guidance\": 2.5, \"shift\": true, "
                          "\"text_max_length\": %u, \"tokens\": {\"pad\": 0, \"eos\": 1, \"unk\": 2, \"bos\": 3}, "
                          "\"kv_edit\": {\"placeholder\": true, \"skip_steps\": 4}%s}",
                          name, m->side, m->steps, m->text_length, extra ? extra : "");
}

void
sinopia_test_write_model (const char *dir, const char *tokenizer, const SinopiaTestModel *m)
{
  const guint vocab = 438;  /* the pieces of spm-nmt.model */
  SinopiaFluxConfig fc = {
    .in_channels = 64, .out_channels = 64, .vec_in_dim = SINOPIA_TEST_TEXT_WIDTH,
    .context_in_dim = SINOPIA_TEST_TEXT_WIDTH, .hidden_size = 64, .mlp_hidden = 128, .num_heads = 2,
    .depth = m->depth, .depth_single = m->depth_single, .n_axes = 3, .axes_dim = { 4, 14, 14 }, .theta = 10000,
    .qkv_bias = TRUE, .guidance_embed = FALSE,
  };
  SinopiaAeConfig ac = {
    .in_channels = 3, .out_ch = 3, .ch = 32, .n_levels = 4, .ch_mult = { 1, 1, 1, 1 }, .num_res_blocks = 1,
    .z_channels = 16,
  };
  SinopiaT5Config tc = {
    .vocab_size = vocab, .d_model = SINOPIA_TEST_TEXT_WIDTH, .d_kv = 16, .num_heads = 2, .d_ff = 64,
    .num_layers = 1, .num_buckets = 32, .max_distance = 128,
  };
  SinopiaClipConfig cc = {
    .vocab_size = vocab, .hidden_size = SINOPIA_TEST_TEXT_WIDTH, .intermediate_size = 64, .num_layers = 1,
    .num_heads = 2, .max_positions = 32,
  };
  g_autoptr (GError) error = NULL;
  g_autofree char *te = g_build_filename (dir, "text_encoder", NULL), *te2 = g_build_filename (dir, "text_encoder_2", NULL);
  g_autofree char *tk = g_build_filename (dir, "tokenizer", NULL), *tk2 = g_build_filename (dir, "tokenizer_2", NULL);
  const char *dirs[] = { dir, te, te2, tk, tk2 };
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    g_assert_cmpint (g_mkdir_with_parents (dirs[i], 0755), ==, 0);

  g_autoptr (GPtrArray) fs = flux_specs (&fc), as = ae_specs (&ac), ts = t5_specs (&tc), cs = clip_specs (&cc);
  g_autofree char *fp = g_build_filename (dir, "transformer.safetensors", NULL);
  g_autofree char *ap = g_build_filename (dir, "ae.safetensors", NULL);
  g_autofree char *tp = g_build_filename (te2, "model.safetensors", NULL);
  g_autofree char *cp = g_build_filename (te, "model.safetensors", NULL);
  g_autofree char *flux_params =
    g_strdup_printf ("{\"in_channels\": 64, \"out_channels\": 64, \"vec_in_dim\": 32, \"context_in_dim\": 32, "
                     "\"hidden_size\": 64, \"mlp_ratio\": 2.0, \"num_heads\": 2, \"depth\": %u, "
                     "\"depth_single_blocks\": %u, \"axes_dim\": [4, 14, 14], \"theta\": 10000, \"qkv_bias\": true, "
                     "\"guidance_embed\": false}", m->depth, m->depth_single);
  write_random (fs, fp, "flux_params", flux_params, 1000, m->zeroed);
  write_random (as, ap, "ae_params",
                "{\"resolution\": 32, \"in_channels\": 3, \"ch\": 32, \"out_ch\": 3, \"ch_mult\": [1, 1, 1, 1], "
                "\"num_res_blocks\": 1, \"z_channels\": 16, \"scale_factor\": 0.5, \"shift_factor\": 0.1}", 2000, NULL);
  write_random (ts, tp, "t5_config",
                "{\"vocab_size\": 438, \"d_model\": 32, \"d_kv\": 16, \"num_heads\": 2, \"d_ff\": 64, "
                "\"num_layers\": 1, \"relative_attention_num_buckets\": 32, "
                "\"relative_attention_max_distance\": 128, \"layer_norm_epsilon\": 1e-06, "
                "\"feed_forward_proj\": \"gated-gelu\"}", 3000, NULL);
  write_random (cs, cp, "clip_text_config",
                "{\"vocab_size\": 438, \"hidden_size\": 32, \"intermediate_size\": 64, \"num_hidden_layers\": 1, "
                "\"num_attention_heads\": 2, \"max_position_embeddings\": 32, \"hidden_act\": \"quick_gelu\", "
                "\"layer_norm_eps\": 1e-05, \"eos_token_id\": 1}", 4000, NULL);

  g_autofree char *spm = NULL;
  gsize spm_len;
  g_file_get_contents (tokenizer, &spm, &spm_len, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 2; i++) {
    g_autofree char *p = g_build_filename (i ? tk2 : tk, "spiece.model", NULL);
    g_file_set_contents (p, spm, spm_len, &error);
    g_assert_no_error (error);
  }
  g_autofree char *info = g_build_filename (dir, SINOPIA_MODEL_INFO_FILE, NULL);
  g_autofree char *json = sinopia_test_model_info_json (m, m->name, m->extra_json);
  sinopia_test_write_text (info, json);
}

void
sinopia_test_model_folder_open (SinopiaTestModelFolder *f, const SinopiaTestModel *m)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *tokenizer = g_test_build_filename (G_TEST_DIST, "data", "spm-nmt.model", NULL);
  g_autofree char *pattern = g_strdup_printf ("%s-XXXXXX", m->name);
  f->tmp_root = g_dir_make_tmp (pattern, &error);
  g_assert_no_error (error);
  f->model_dir = g_build_filename (f->tmp_root, "model", NULL);
  sinopia_test_write_model (f->model_dir, tokenizer, m);
  f->model = sinopia_model_load (sinopia_test_context (), f->model_dir, &error);
  g_assert_no_error (error);
}

void
sinopia_test_remove_tree (const char *path)
{
  if (!g_file_test (path, G_FILE_TEST_IS_SYMLINK) && g_file_test (path, G_FILE_TEST_IS_DIR)) {
    g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
    for (const char *name; d && (name = g_dir_read_name (d));) {
      g_autofree char *child = g_build_filename (path, name, NULL);
      sinopia_test_remove_tree (child);
    }
  }
  g_remove (path);
}

void
sinopia_test_model_folder_close (SinopiaTestModelFolder *f)
{
  g_clear_pointer (&f->model, sinopia_model_free);
  sinopia_test_remove_tree (f->tmp_root);
  g_clear_pointer (&f->tmp_root, g_free);
  g_clear_pointer (&f->model_dir, g_free);
}

SinopiaJson *
sinopia_test_png_method (const SinopiaPngImage *png, const SinopiaJsonNode **method)
{
  g_autoptr (GError) error = NULL;
  const char *text = sinopia_png_image_get_text (png, "parameters");
  g_assert_nonnull (text);
  SinopiaJson *doc = sinopia_json_parse (text, strlen (text), &error);
  g_assert_no_error (error);
  *method = sinopia_json_object_get (sinopia_json_root (doc), "method");
  g_assert_nonnull (*method);
  return doc;
}
