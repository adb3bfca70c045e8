/* The model folder and text-to-image generation, end to end on a tiny random model written by
 * the test itself (FLUX transformer, autoencoder, T5- and CLIP-style encoders with the
 * metadata their loaders read, tests/data/spm-nmt.model as both tokenizers): loading and its
 * errors, sinopia-model.json parsing, size errors, determinism, cancellation, progress,
 * prompt truncation, the PNG parameters chunk, `sinopia-cli generate` and model discovery. */
#define G_LOG_DOMAIN "sinopia-test"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "sinopia-generate.h"
#include "sinopia-png.h"
#include "sinopia-test-golden.h"
#include "sinopia-test-vk.h"

/* Tiny but complete: every block type runs. T5 and CLIP widths feed the transformer's
 * context_in_dim and vec_in_dim; 16 latent channels pack into its 64 input features. */
#define TEXT_WIDTH 32
#define TEXT_LENGTH 24         /* t5/clip_max_length: short, so truncation is easy to reach */
#define STEPS 3
#define SIDE 32                /* a 4×4 latent, 4 image tokens */

static char *tmp_root;         /* everything the test writes */
static char *model_dir;        /* the tiny model */
static SinopiaModel *model;    /* loaded once on the shared context */

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
write_random (GPtrArray *specs, const char *path, const char *meta_key, const char *meta_json, guint32 seed)
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
    g_ptr_array_add (data, v);
    sinopia_safetensors_writer_add (w, s->name, SINOPIA_ST_F32, s->n_dims, s->shape, v, n * sizeof (float), &error);
    g_assert_no_error (error);
  }
  sinopia_safetensors_writer_set_metadata (w, meta_key, meta_json, &error);
  g_assert_no_error (error);
  sinopia_safetensors_writer_write (w, path, &error);
  g_assert_no_error (error);
}

static void
write_text (const char *path, const char *text)
{
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

static char *
info_json (const char *name, const char *extra)
{
  return g_strdup_printf ("{\"format\": \"sinopia-model\", \"format_version\": 1, \"name\": \"%s\", "
                          "\"native_size\": %d, \"size_multiple\": 16, \"default_steps\": %d, "
                          "\"guidance_mode\": \"cfg\", \"default_guidance\": 2.5, \"shift\": true, "
                          "\"text_max_length\": %d, \"tokens\": {\"pad\": 0, \"eos\": 1, \"unk\": 2, \"bos\": 3}, "
                          "\"kv_edit\": {\"placeholder\": true, \"skip_steps\": 4}%s}",
                          name, SIDE, STEPS, TEXT_LENGTH, extra ? extra : "");
}

/* The tiny model folder, laid out like a Hugging Face FLUX.1 repository. */
static void
write_model (const char *dir, const char *tokenizer)
{
  const guint vocab = 438;  /* the pieces of spm-nmt.model */
  SinopiaFluxConfig fc = {
    .in_channels = 64, .out_channels = 64, .vec_in_dim = TEXT_WIDTH, .context_in_dim = TEXT_WIDTH,
    .hidden_size = 64, .mlp_hidden = 128, .num_heads = 2, .depth = 1, .depth_single = 1,
    .n_axes = 3, .axes_dim = { 4, 14, 14 }, .theta = 10000, .qkv_bias = TRUE, .guidance_embed = FALSE,
  };
  SinopiaAeConfig ac = {
    .in_channels = 3, .out_ch = 3, .ch = 32, .n_levels = 4, .ch_mult = { 1, 1, 1, 1 }, .num_res_blocks = 1,
    .z_channels = 16,
  };
  SinopiaT5Config tc = {
    .vocab_size = vocab, .d_model = TEXT_WIDTH, .d_kv = 16, .num_heads = 2, .d_ff = 64, .num_layers = 1,
    .num_buckets = 32, .max_distance = 128,
  };
  SinopiaClipConfig cc = {
    .vocab_size = vocab, .hidden_size = TEXT_WIDTH, .intermediate_size = 64, .num_layers = 1, .num_heads = 2,
    .max_positions = 32,
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
  write_random (fs, fp, "flux_params",
                "{\"in_channels\": 64, \"out_channels\": 64, \"vec_in_dim\": 32, \"context_in_dim\": 32, "
                "\"hidden_size\": 64, \"mlp_ratio\": 2.0, \"num_heads\": 2, \"depth\": 1, "
                "\"depth_single_blocks\": 1, \"axes_dim\": [4, 14, 14], \"theta\": 10000, \"qkv_bias\": true, "
                "\"guidance_embed\": false}", 1000);
  write_random (as, ap, "ae_params",
                "{\"resolution\": 32, \"in_channels\": 3, \"ch\": 32, \"out_ch\": 3, \"ch_mult\": [1, 1, 1, 1], "
                "\"num_res_blocks\": 1, \"z_channels\": 16, \"scale_factor\": 0.5, \"shift_factor\": 0.1}", 2000);
  write_random (ts, tp, "t5_config",
                "{\"vocab_size\": 438, \"d_model\": 32, \"d_kv\": 16, \"num_heads\": 2, \"d_ff\": 64, "
                "\"num_layers\": 1, \"relative_attention_num_buckets\": 32, "
                "\"relative_attention_max_distance\": 128, \"layer_norm_epsilon\": 1e-06, "
                "\"feed_forward_proj\": \"gated-gelu\"}", 3000);
  write_random (cs, cp, "clip_text_config",
                "{\"vocab_size\": 438, \"hidden_size\": 32, \"intermediate_size\": 64, \"num_hidden_layers\": 1, "
                "\"num_attention_heads\": 2, \"max_position_embeddings\": 32, \"hidden_act\": \"quick_gelu\", "
                "\"layer_norm_eps\": 1e-05, \"eos_token_id\": 1}", 4000);

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
  g_autofree char *json = info_json ("tiny-test", NULL);
  write_text (info, json);
}

/* A folder of symlinks to the tiny model's files, without `skip` (a path relative to the
 * model; NULL keeps all) and with `renamed` (relative path → new relative name) applied. */
static char *
variant (const char *name, const char *skip, const char *const *renamed)
{
  const char *files[] = { SINOPIA_MODEL_INFO_FILE, "transformer.safetensors", "ae.safetensors",
                          "text_encoder/model.safetensors", "text_encoder_2/model.safetensors",
                          "tokenizer/spiece.model", "tokenizer_2/spiece.model" };
  char *dir = g_build_filename (tmp_root, name, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
    const char *to = files[i];
    if (skip && strcmp (skip, files[i]) == 0)
      continue;
    for (guint k = 0; renamed && renamed[k]; k += 2)
      if (strcmp (renamed[k], files[i]) == 0)
        to = renamed[k + 1];
    g_autofree char *src = g_build_filename (model_dir, files[i], NULL), *dst = g_build_filename (dir, to, NULL);
    g_autofree char *parent = g_path_get_dirname (dst);
    g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
    g_assert_cmpint (symlink (src, dst), ==, 0);
  }
  return dir;
}

/* Replaces the variant's sinopia-model.json with `json`. */
static void
variant_info (const char *dir, const char *json)
{
  g_autofree char *p = g_build_filename (dir, SINOPIA_MODEL_INFO_FILE, NULL);
  g_unlink (p);
  write_text (p, json);
}

static void
remove_tree (const char *path)
{
  if (!g_file_test (path, G_FILE_TEST_IS_SYMLINK) && g_file_test (path, G_FILE_TEST_IS_DIR)) {
    g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
    for (const char *name; d && (name = g_dir_read_name (d));) {
      g_autofree char *child = g_build_filename (path, name, NULL);
      remove_tree (child);
    }
  }
  g_remove (path);
}

static SinopiaModel *
load_expecting_error (const char *dir, GQuark domain, gint code, const char *needle)
{
  g_autoptr (GError) error = NULL;
  SinopiaModel *m = sinopia_model_load (sinopia_test_context (), dir, &error);
  g_assert_null (m);
  g_assert_error (error, domain, code);
  if (!strstr (error->message, needle))
    g_error ("expected \"%s\" in: %s", needle, error->message);
  return m;
}

/* Loading: configuration values come from sinopia-model.json, defaults fill absent keys,
 * unknown sections stay readable, and the components are the ones in the folder. */
static void
test_load (void)
{
  const SinopiaModelInfo *info = sinopia_model_info (model);
  g_assert_cmpstr (info->name, ==, "tiny-test");
  g_assert_cmpuint (info->native_width, ==, SIDE);
  g_assert_cmpuint (info->native_height, ==, SIDE);
  g_assert_cmpuint (info->default_steps, ==, STEPS);
  g_assert_cmpfloat (info->default_guidance, ==, 2.5f);
  g_assert_cmpint (info->guidance_mode, ==, SINOPIA_GUIDANCE_CFG);
  g_assert_cmpuint (info->t5_max_length, ==, TEXT_LENGTH);
  g_assert_cmpuint (info->clip_max_length, ==, TEXT_LENGTH);
  g_assert_true (info->base_shift == 0.5 && info->max_shift == 1.15);  /* absent: FLUX's */
  const SinopiaJsonNode *kv = sinopia_model_info_section (info, "kv_edit");
  int64_t skip;
  g_assert_true (sinopia_json_get_int64 (kv, "skip_steps", 0, 100, &skip, NULL));
  g_assert_cmpint (skip, ==, 4);
  g_assert_cmpuint (sinopia_flux_model_config (sinopia_model_flux (model))->context_in_dim, ==,
                    sinopia_t5_config (sinopia_model_t5 (model))->d_model);
  g_assert_cmpuint (sinopia_clip_config (sinopia_model_clip (model))->max_positions, ==, 32);
  g_assert_cmpuint (sinopia_ae_config (sinopia_model_ae (model))->z_channels, ==, 16);
  g_assert_cmpuint (sinopia_sentencepiece_n_pieces (sinopia_model_t5_tokenizer (model)), ==, 438);

  /* without a name the folder's name stands in; flux1-*.safetensors is a transformer too */
  const char *renamed[] = { "transformer.safetensors", "flux1-tiny.safetensors", NULL };
  g_autofree char *dir = variant ("unnamed-model", NULL, renamed);
  variant_info (dir, "{\"native_size\": 32, \"text_max_length\": 8}");
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaModel) m = sinopia_model_load (sinopia_test_context (), dir, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sinopia_model_info (m)->name, ==, "unnamed-model");
  g_assert_cmpuint (sinopia_model_info (m)->default_steps, ==, 20);
  g_assert_cmpfloat (sinopia_model_info (m)->default_guidance, ==, 4.0f);
  g_assert_cmpint (sinopia_model_info (m)->guidance_mode, ==, SINOPIA_GUIDANCE_UNSPECIFIED);
}

/* Each missing file is named in the error, before anything loads; so are folders that are not
 * folders, several transformers, swapped encoders and components that do not fit together. */
static void
test_load_errors (void)
{
  const char *files[] = { SINOPIA_MODEL_INFO_FILE, "ae.safetensors", "text_encoder/model.safetensors",
                          "text_encoder_2/model.safetensors", "tokenizer/spiece.model", "tokenizer_2/spiece.model" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
    g_autofree char *name = g_strdup_printf ("missing-%u", i);
    g_autofree char *dir = variant (name, files[i], NULL);
    load_expecting_error (dir, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_MISSING, files[i]);
  }
  g_autofree char *no_flux = variant ("missing-flux", "transformer.safetensors", NULL);
  load_expecting_error (no_flux, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_MISSING,
                        "expected transformer.safetensors or a flux1-*.safetensors");
  g_autofree char *nowhere = g_build_filename (tmp_root, "does-not-exist", NULL);
  load_expecting_error (nowhere, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_MISSING, "does not exist");

  g_autofree char *two = variant ("two-transformers", NULL, (const char *[]) {
                                    "transformer.safetensors", "flux1-a.safetensors", NULL });
  g_autofree char *src = g_build_filename (model_dir, "transformer.safetensors", NULL);
  g_autofree char *second = g_build_filename (two, "flux1-b.safetensors", NULL);
  g_assert_cmpint (symlink (src, second), ==, 0);
  load_expecting_error (two, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_MISSING,
                        "flux1-a.safetensors, flux1-b.safetensors");

  g_autofree char *swapped = variant ("swapped", NULL, (const char *[]) {
                                        "text_encoder/model.safetensors", "text_encoder_2/model.safetensors",
                                        "text_encoder_2/model.safetensors", "text_encoder/model.safetensors",
                                        NULL });
  load_expecting_error (swapped, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_INCOMPATIBLE,
                        "text_encoder/model.safetensors holds a T5-style encoder");

  g_autofree char *json = info_json ("x", ", \"clip_max_length\": 33");
  g_autofree char *long_clip = variant ("long-clip", SINOPIA_MODEL_INFO_FILE, NULL);
  variant_info (long_clip, json);
  load_expecting_error (long_clip, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_INCOMPATIBLE,
                        "clip_max_length 33 exceeds the 32 positions");

  g_autofree char *embedded = variant ("embedded", SINOPIA_MODEL_INFO_FILE, NULL);
  variant_info (embedded, "{\"guidance_mode\": \"embedded\", \"native_size\": 32, \"text_max_length\": 8}");
  load_expecting_error (embedded, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_INCOMPATIBLE,
                        "has no guidance embedding");

  g_autofree char *multiple = variant ("multiple", SINOPIA_MODEL_INFO_FILE, NULL);
  variant_info (multiple, "{\"size_multiple\": 8, \"native_size\": 32, \"text_max_length\": 8}");
  load_expecting_error (multiple, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_INCOMPATIBLE,
                        "size_multiple 8 is not a multiple of 16");

  g_autofree char *bad_info = variant ("bad-info", SINOPIA_MODEL_INFO_FILE, NULL);
  variant_info (bad_info, "{\"default_steps\": 0}");
  load_expecting_error (bad_info, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_INFO, "default_steps");
}

static void
expect_info_error (const char *json, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaModelInfo) info = sinopia_model_info_parse (json, strlen (json), "m.json", &error);
  g_assert_null (info);
  g_assert_error (error, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_INFO);
  g_assert_true (g_str_has_prefix (error->message, "m.json: "));
  if (!strstr (error->message, needle))
    g_error ("expected \"%s\" in: %s", needle, error->message);
}

/* sinopia-model.json: documented defaults for an empty object, per-key overrides, unknown
 * keys ignored, and each bad value refused with its key named. */
static void
test_info_parse (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaModelInfo) d = sinopia_model_info_parse ("{}", 2, "d", &error);
  g_assert_no_error (error);
  g_assert_null (d->name);
  g_assert_cmpuint (d->native_width, ==, 128);
  g_assert_cmpuint (d->size_multiple, ==, 16);
  g_assert_cmpuint (d->default_steps, ==, 20);
  g_assert_cmpfloat (d->default_guidance, ==, 4.0f);
  g_assert_true (d->shift);
  g_assert_cmpuint (d->t5_max_length, ==, 32);
  g_assert_cmpint (d->bos_id, ==, 3);

  const char *j = "{\"native_size\": 64, \"native_height\": 96, \"text_max_length\": 20, \"clip_max_length\": 10,"
                  " \"shift\": false, \"future_key\": [1, {\"x\": null}], \"tokens\": {\"eos\": 5}}";
  g_autoptr (SinopiaModelInfo) o = sinopia_model_info_parse (j, strlen (j), "o", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (o->native_width, ==, 64);
  g_assert_cmpuint (o->native_height, ==, 96);
  g_assert_cmpuint (o->t5_max_length, ==, 20);
  g_assert_cmpuint (o->clip_max_length, ==, 10);
  g_assert_false (o->shift);
  g_assert_cmpint (o->eos_id, ==, 5);
  g_assert_cmpint (o->pad_id, ==, 0);
  g_assert_nonnull (sinopia_model_info_section (o, "future_key"));

  expect_info_error ("[]", "not an object");
  expect_info_error ("{\"format\": \"other\"}", "format");
  expect_info_error ("{\"format_version\": 2}", "newer");
  expect_info_error ("{\"native_size\": 100}", "not a multiple of size_multiple 16");
  expect_info_error ("{\"size_multiple\": 15, \"native_size\": 30}", "odd");
  expect_info_error ("{\"default_steps\": 1001}", "default_steps");
  expect_info_error ("{\"default_guidance\": -1}", "default_guidance");
  expect_info_error ("{\"guidance_mode\": \"both\"}", "guidance_mode");
  expect_info_error ("{\"text_max_length\": 1}", "text_max_length");
  expect_info_error ("{\"tokens\": {\"pad\": -1}}", "tokens: ");
  expect_info_error ("{\"tokens\": 3}", "tokens is a number");
  expect_info_error ("{\"name\": 3}", "name");
  expect_info_error ("{\"shift\": 1}", "shift");
  expect_info_error ("{", "byte 1");
}

static void
expect_size_error (uint32_t w, uint32_t h, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_assert_false (sinopia_generate_check_size (sinopia_model_info (model), w, h, &error));
  g_assert_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_SIZE);
  if (!strstr (error->message, needle))
    g_error ("expected \"%s\" in: %s", needle, error->message);
}

/* Sizes: multiples of 16 pass; others fail naming the nearest valid size (halfway cases go
 * to the even multiple, as Python's round in the PyTorch sampler); sinopia_generate refuses
 * them before any work. */
static void
test_sizes (void)
{
  g_assert_true (sinopia_generate_check_size (sinopia_model_info (model), 48, 16, NULL));
  expect_size_error (100, 32, "width 100 is not a multiple of 16; the nearest valid width is 96");
  expect_size_error (32, 120, "height 120 is not a multiple of 16; the nearest valid height is 128");
  expect_size_error (32, 104, "nearest valid height is 96");
  expect_size_error (5, 32, "nearest valid width is 16");
  expect_size_error (0, 32, "nearest valid width is 16");
  expect_size_error (32, 20000, "nearest valid height is 16384");

  g_autoptr (GError) error = NULL;
  SinopiaGenerateParams p;
  sinopia_generate_params_init (&p);
  p.prompt = "a red circle";
  p.width = 40;
  g_assert_null (sinopia_generate (model, &p, NULL, NULL, NULL, &error));
  g_assert_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_SIZE);
  g_assert_nonnull (strstr (error->message, "nearest valid width is 32"));
}

typedef struct {
  guint calls;
  guint stop_after;     /* 0: never */
  gint *cancel;         /* set instead of returning FALSE when non-NULL */
  gboolean saw_preview;
  guint last_step;
} Steps;

static gboolean
count_steps (const SinopiaStepInfo *info, gpointer user)
{
  Steps *s = user;
  g_assert_cmpuint (info->step, ==, s->calls);
  s->last_step = info->step;
  s->saw_preview |= info->preview_rgb != NULL && info->preview_width == SIDE / 8;
  s->calls++;
  if (s->stop_after && s->calls == s->stop_after) {
    if (s->cancel) {
      g_atomic_int_set (s->cancel, 1);
      return TRUE;
    }
    return FALSE;
  }
  return TRUE;
}

static SinopiaImage *
generate (const char *prompt, guint64 seed, Steps *steps)
{
  g_autoptr (GError) error = NULL;
  SinopiaGenerateParams p;
  sinopia_generate_params_init (&p);
  p.prompt = prompt;
  p.seed = seed;
  SinopiaImage *img = sinopia_generate (model, &p, NULL, steps ? count_steps : NULL, steps, &error);
  g_assert_no_error (error);
  return img;
}

static gsize
rgb_size (const SinopiaImage *img)
{
  return (gsize) img->width * img->height * 3;
}

/* Determinism: the same parameters give bit-identical pixels and latents; another seed or
 * prompt changes the picture. The progress callback runs once per step, in order. The
 * defaults of sinopia-model.json are what the image records. */
static void
test_determinism (void)
{
  Steps s1 = { 0 }, s2 = { 0 };
  g_autoptr (SinopiaImage) a = generate ("a red circle at the top left", 7, &s1);
  g_autoptr (SinopiaImage) b = generate ("a red circle at the top left", 7, &s2);
  g_autoptr (SinopiaImage) c = generate ("a red circle at the top left", 8, NULL);
  g_autoptr (SinopiaImage) d = generate ("a blue square", 7, NULL);
  g_assert_cmpuint (s1.calls, ==, STEPS);
  g_assert_cmpuint (s2.calls, ==, STEPS);
  g_assert_false (s1.saw_preview);
  g_assert_cmpuint (a->width, ==, SIDE);
  g_assert_cmpuint (a->height, ==, SIDE);
  g_assert_cmpuint (a->steps, ==, STEPS);
  g_assert_cmpfloat (a->guidance, ==, 2.5f);
  g_assert_cmpstr (a->model_name, ==, "tiny-test");
  g_assert_cmpstr (a->negative, ==, "");
  g_assert_null (a->warnings[0]);
  g_assert_cmpmem (a->rgb, rgb_size (a), b->rgb, rgb_size (b));
  gsize n_latent = (gsize) a->latent_channels * a->latent_height * a->latent_width;
  g_assert_cmpuint (n_latent, ==, 16 * (SIDE / 8) * (SIDE / 8));
  g_assert_cmpmem (a->latent, n_latent * 4, b->latent, n_latent * 4);
  g_assert_true (memcmp (a->rgb, c->rgb, rgb_size (a)) != 0);
  g_assert_true (memcmp (a->rgb, d->rgb, rgb_size (a)) != 0);
  /* the picture is not flat, so equality above means something */
  guint distinct = 0;
  gboolean seen[256] = { FALSE };
  for (gsize i = 0; i < rgb_size (a); i++)
    if (!seen[a->rgb[i]]) {
      seen[a->rgb[i]] = TRUE;
      distinct++;
    }
  g_assert_cmpuint (distinct, >, 20);
}

/* Given noise replaces the seed's: passing sinopia_noise(seed) explicitly reproduces the
 * seeded run, and the final latent differs from the noise it started from. */
static void
test_given_noise (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaImage) seeded = generate ("green triangle", 11, NULL);
  gsize n = 16 * (SIDE / 8) * (SIDE / 8);
  g_autofree float *noise = g_new (float, n);
  sinopia_noise (11, noise, n);
  SinopiaGenerateParams p;
  sinopia_generate_params_init (&p);
  p.prompt = "green triangle";
  p.seed = 99;
  p.noise = noise;
  g_autoptr (SinopiaImage) given = sinopia_generate (model, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (seeded->rgb, rgb_size (seeded), given->rgb, rgb_size (given));
  g_assert_cmpuint (given->seed, ==, 99);
  g_assert_true (memcmp (given->latent, noise, n * sizeof (float)) != 0);
}

/* Cancel: the step callback returning FALSE, the cancel flag set during a step, and a flag
 * set before the start all end with CANCELLED, after exactly the steps that ran. */
static void
test_cancel (void)
{
  SinopiaGenerateParams p;
  sinopia_generate_params_init (&p);
  p.prompt = "a small pink ring";
  p.steps = 4;

  g_autoptr (GError) e1 = NULL;
  Steps s = { .stop_after = 2 };
  g_assert_null (sinopia_generate (model, &p, NULL, count_steps, &s, &e1));
  g_assert_error (e1, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_CANCELLED);
  g_assert_cmpuint (s.calls, ==, 2);

  g_autoptr (GError) e2 = NULL;
  gint flag = 0;
  Steps f = { .stop_after = 3, .cancel = &flag };
  g_assert_null (sinopia_generate (model, &p, &flag, count_steps, &f, &e2));
  g_assert_error (e2, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_CANCELLED);
  g_assert_cmpuint (f.calls, ==, 3);

  g_autoptr (GError) e3 = NULL;
  Steps none = { 0 };
  g_assert_null (sinopia_generate (model, &p, &flag, count_steps, &none, &e3));
  g_assert_error (e3, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_CANCELLED);
  g_assert_cmpuint (none.calls, ==, 0);
}

/* Truncation: a prompt longer than the text length gives a warning per encoder, and words
 * beyond the cut change nothing; the preview, when asked for, comes with every step. */
static void
test_truncation_and_preview (void)
{
  const char *longer = "a large red circle at the top left and a small blue star";
  g_autofree char *longest = g_strconcat (longer, " in the center on a yellow background", NULL);
  Steps s = { 0 };
  g_autoptr (SinopiaImage) a = generate (longer, 3, NULL);
  g_autoptr (SinopiaImage) b = generate (longest, 3, &s);
  g_assert_cmpuint (g_strv_length (a->warnings), ==, 2);
  g_assert_nonnull (strstr (a->warnings[0], "the T5 encoder reads the first 23"));
  g_assert_nonnull (strstr (a->warnings[1], "the CLIP encoder reads the first 22"));
  g_assert_cmpmem (a->rgb, rgb_size (a), b->rgb, rgb_size (b));
  g_assert_cmpstr (b->prompt, ==, longest);

  g_autoptr (GError) error = NULL;
  SinopiaGenerateParams p;
  sinopia_generate_params_init (&p);
  p.prompt = "a red circle";
  p.preview = TRUE;
  Steps pv = { 0 };
  g_autoptr (SinopiaImage) c = sinopia_generate (model, &p, NULL, count_steps, &pv, &error);
  g_assert_no_error (error);
  g_assert_true (pv.saw_preview);
  g_assert_cmpuint (pv.calls, ==, STEPS);
}

/* The guidance: a guidance of 1 skips the negative prompt (so the negative changes nothing),
 * other values use it. */
static void
test_guidance (void)
{
  g_autoptr (GError) error = NULL;
  SinopiaGenerateParams p;
  sinopia_generate_params_init (&p);
  p.prompt = "a yellow star";
  p.guidance = 1.0f;
  g_autoptr (SinopiaImage) plain = sinopia_generate (model, &p, NULL, NULL, NULL, &error);
  p.negative = "a black background";
  g_autoptr (SinopiaImage) plain_neg = sinopia_generate (model, &p, NULL, NULL, NULL, &error);
  p.guidance = 3.0f;
  g_autoptr (SinopiaImage) guided_neg = sinopia_generate (model, &p, NULL, NULL, NULL, &error);
  p.negative = NULL;
  g_autoptr (SinopiaImage) guided = sinopia_generate (model, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (plain->rgb, rgb_size (plain), plain_neg->rgb, rgb_size (plain_neg));
  g_assert_true (memcmp (guided->rgb, guided_neg->rgb, rgb_size (guided)) != 0);
  g_assert_true (memcmp (guided->rgb, plain->rgb, rgb_size (guided)) != 0);
  g_assert_cmpfloat (guided->guidance, ==, 3.0f);
}

/* Reads the `parameters` chunk of a PNG as JSON and checks every key against the values. */
static void
check_parameters (const SinopiaPngImage *png, const char *prompt, const char *negative, int64_t seed,
                  int64_t steps, double guidance, int64_t w, int64_t h, const char *model_name)
{
  g_autoptr (GError) error = NULL;
  const char *text = sinopia_png_image_get_text (png, "parameters");
  g_assert_nonnull (text);
  g_autoptr (SinopiaJson) doc = sinopia_json_parse (text, strlen (text), &error);
  g_assert_no_error (error);
  const SinopiaJsonNode *r = sinopia_json_root (doc);
  int64_t v;
  double g;
  g_assert_cmpstr (sinopia_json_get_string (r, "prompt", NULL), ==, prompt);
  g_assert_cmpstr (sinopia_json_get_string (r, "negative", NULL), ==, negative);
  g_assert_cmpstr (sinopia_json_get_string (r, "model", NULL), ==, model_name);
  g_assert_true (sinopia_json_get_int64 (r, "seed", 0, G_MAXINT64, &v, NULL) && v == seed);
  g_assert_true (sinopia_json_get_int64 (r, "steps", 1, 1000, &v, NULL) && v == steps);
  g_assert_true (sinopia_json_get_int64 (r, "width", 1, 1 << 20, &v, NULL) && v == w);
  g_assert_true (sinopia_json_get_int64 (r, "height", 1, 1 << 20, &v, NULL) && v == h);
  g_assert_true (sinopia_json_get_double (r, "guidance", &g, NULL));
  g_assert_cmpfloat ((float) g, ==, (float) guidance);
}

static SinopiaPngImage *
load_png (const char *path)
{
  g_autoptr (GError) error = NULL;
  SinopiaPngImage *png = sinopia_png_load (path, 0, &error);
  g_assert_no_error (error);
  return png;
}

/* `sinopia-cli generate`: the PNG holds the engine's pixels for the same parameters and a
 * parameters chunk that reproduces them (escaping included); two runs give byte-identical
 * files; usage errors exit 2 (a bad size naming the nearest), run errors exit 1, and
 * neither leaves an output file. */
static void
test_cli (void)
{
  g_autoptr (GError) error = NULL;
  const char *prompt = "a \"quoted\" blue star — ünïcode\\";
  g_autofree char *out1 = g_build_filename (tmp_root, "cli-1.png", NULL);
  g_autofree char *out2 = g_build_filename (tmp_root, "cli-2.png", NULL);
  g_autofree char *bad = g_build_filename (tmp_root, "cli-bad.png", NULL);
  for (guint i = 0; i < 2; i++) {
    SinopiaTestRun r = sinopia_test_run_cli ("generate", "--model", model_dir, "--prompt", prompt, "--negative",
                                             "red", "--seed", "12345", "--steps", "2", "--guidance", "3.25",
                                             "--width", "48", "--height", "32", "--out", i ? out2 : out1, NULL);
    if (r.status != 0)
      g_error ("generate failed: %s", r.err);
    g_assert_nonnull (strstr (r.err, "step 2/2"));
    sinopia_test_run_clear (&r);
  }
  g_autofree char *b1 = NULL, *b2 = NULL;
  gsize l1, l2;
  g_file_get_contents (out1, &b1, &l1, &error);
  g_file_get_contents (out2, &b2, &l2, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (b1, l1, b2, l2);

  g_autoptr (SinopiaPngImage) png = load_png (out1);
  check_parameters (png, prompt, "red", 12345, 2, 3.25, 48, 32, "tiny-test");
  SinopiaGenerateParams p;
  sinopia_generate_params_init (&p);
  p.prompt = prompt;
  p.negative = "red";
  p.seed = 12345;
  p.steps = 2;
  p.guidance = 3.25f;
  p.width = 48;
  p.height = 32;
  g_autoptr (SinopiaImage) img = sinopia_generate (model, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (png->width, ==, 48);
  g_assert_cmpuint (png->height, ==, 32);
  g_autofree guint8 *rgb = sinopia_png_image_to_rgb (png, NULL);
  g_assert_cmpmem (rgb, rgb_size (img), img->rgb, rgb_size (img));

  SinopiaTestRun r = sinopia_test_run_cli ("generate", "--model", model_dir, "--prompt", "x", "--width", "100",
                                           "--out", bad, NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "nearest valid width is 96"));
  sinopia_test_run_clear (&r);
  r = sinopia_test_run_cli ("generate", "--model", model_dir, "--out", bad, NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "--prompt and --out are required"));
  sinopia_test_run_clear (&r);
  g_autofree char *no_ae = variant ("cli-no-ae", "ae.safetensors", NULL);
  r = sinopia_test_run_cli ("generate", "--model", no_ae, "--prompt", "x", "--out", bad, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "ae.safetensors is missing"));
  sinopia_test_run_clear (&r);
  g_assert_false (g_file_test (bad, G_FILE_TEST_EXISTS));
}

/* Discovery: $SINOPIA_MODEL is found without a flag, --model wins over it, and a variable
 * naming a non-model folder is an error, not a silent fallback to the built-in model. */
static void
test_discovery (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *other = variant ("env-model", SINOPIA_MODEL_INFO_FILE, NULL);
  g_autofree char *json = info_json ("env-model", NULL);
  variant_info (other, json);
  g_autofree char *old = g_strdup (g_getenv ("SINOPIA_MODEL"));

  g_setenv ("SINOPIA_MODEL", other, TRUE);
  g_autofree char *found = NULL;
  g_assert_true (sinopia_model_find_default (&found, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (found, ==, other);

  g_autofree char *by_env = g_build_filename (tmp_root, "by-env.png", NULL);
  g_autofree char *by_flag = g_build_filename (tmp_root, "by-flag.png", NULL);
  SinopiaTestRun r = sinopia_test_run_cli ("generate", "--prompt", "a red circle", "--steps", "1", "--out", by_env,
                                           NULL);
  g_assert_cmpint (r.status, ==, 0);
  sinopia_test_run_clear (&r);
  r = sinopia_test_run_cli ("generate", "--model", model_dir, "--prompt", "a red circle", "--steps", "1", "--out",
                            by_flag, NULL);
  g_assert_cmpint (r.status, ==, 0);
  sinopia_test_run_clear (&r);
  g_autoptr (SinopiaPngImage) env_png = load_png (by_env), flag_png = load_png (by_flag);
  check_parameters (env_png, "a red circle", "", 0, 1, 2.5, SIDE, SIDE, "env-model");
  check_parameters (flag_png, "a red circle", "", 0, 1, 2.5, SIDE, SIDE, "tiny-test");

  g_setenv ("SINOPIA_MODEL", tmp_root, TRUE);
  g_autofree char *none = NULL;
  g_assert_false (sinopia_model_find_default (&none, &error));
  g_assert_error (error, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "SINOPIA_MODEL"));
  if (old)
    g_setenv ("SINOPIA_MODEL", old, TRUE);
  else
    g_unsetenv ("SINOPIA_MODEL");
}

/* `bench quality` and `bench generate` on the tiny model: usage errors, a bad evaluation line
 * named by file and line, and the figures' denominators (the random model's hits are chance). */
static void
test_bench (void)
{
  g_autofree char *set = g_build_filename (tmp_root, "bench-set.jsonl", NULL);
  g_autofree char *bad = g_build_filename (tmp_root, "bench-bad.jsonl", NULL);
  g_autofree char *saved = g_build_filename (tmp_root, "bench-saved", NULL);
  /* the second line's purple triangle carries no held_out mark: it is recognised */
  write_text (set, "{\"width\": 32, \"height\": 32, \"background\": {\"colour\": \"blue\"}, \"objects\": "
                   "[{\"colour\": \"red\", \"shape\": \"circle\", \"cell\": [1, 1], \"held_out\": false}], "
                   "\"caption\": \"red circle\", \"canonical_caption\": \"a red circle in the center on a blue "
                   "background\", \"sample_seed\": 7}\n\n"
                   "{\"width\": 32, \"height\": 32, \"background\": {\"colour\": \"white\"}, \"objects\": "
                   "[{\"colour\": \"purple\", \"shape\": \"triangle\", \"position\": \"top left\"}], "
                   "\"caption\": \"a purple triangle at the top left on a white background\", \"sample_seed\": 8}\n");
  write_text (bad, "{\"caption\": \"a red circle\", \"objects\": []}\n");

  SinopiaTestRun r = sinopia_test_run_cli ("bench", "quality", "--model", model_dir, NULL);
  g_assert_cmpint (r.status, ==, 2);
  sinopia_test_run_clear (&r);
  r = sinopia_test_run_cli ("bench", "quality", "--eval", set, "--limit", "0", NULL);
  g_assert_cmpint (r.status, ==, 2);
  sinopia_test_run_clear (&r);
  r = sinopia_test_run_cli ("bench", "generate", "--steps", "0", NULL);
  g_assert_cmpint (r.status, ==, 2);
  sinopia_test_run_clear (&r);
  r = sinopia_test_run_cli ("bench", "quality", "--model", model_dir, "--eval", bad, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "bench-bad.jsonl:1: "));
  g_assert_nonnull (strstr (r.err, "sample_seed"));
  sinopia_test_run_clear (&r);

  r = sinopia_test_run_cli ("bench", "quality", "--model", model_dir, "--eval", set, "--steps", "1", "--save-dir",
                            saved, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "\nquality bench-set: background "));
  g_assert_nonnull (strstr (r.out, "/2)  colour+position "));
  g_assert_nonnull (strstr (r.out, "/2)  shape "));
  g_assert_nonnull (strstr (r.out, " s/image (2 images, 1 steps)\nquality bench-set [held-out combinations]: "));
  g_assert_nonnull (strstr (r.out, "/1)  shape "));
  g_assert_nonnull (strstr (r.err, "a red circle in the center on a blue background"));
  sinopia_test_run_clear (&r);
  const char *files[] = { "bench-set-0001.png", "bench-set-0001.analysis.json", "bench-set-0003.png", NULL };
  for (const char **f = files; *f; f++) {
    g_autofree char *path = g_build_filename (saved, *f, NULL);
    g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  }

  r = sinopia_test_run_cli ("bench", "generate", "--model", model_dir, "--steps", "1", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_str_has_prefix (r.out, "generate: cold "));
  g_assert_nonnull (strstr (r.out, " s/image (1 steps, 32x32, "));
  sinopia_test_run_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *tokenizer = g_test_build_filename (G_TEST_DIST, "data", "spm-nmt.model", NULL);
  tmp_root = g_dir_make_tmp ("sinopia-generate-XXXXXX", &error);
  g_assert_no_error (error);
  model_dir = g_build_filename (tmp_root, "tiny", NULL);
  write_model (model_dir, tokenizer);
  model = sinopia_model_load (sinopia_test_context (), model_dir, &error);
  g_assert_no_error (error);

  g_test_add_func ("/generate/info-parse", test_info_parse);
  g_test_add_func ("/generate/load", test_load);
  g_test_add_func ("/generate/load-errors", test_load_errors);
  g_test_add_func ("/generate/sizes", test_sizes);
  g_test_add_func ("/generate/determinism", test_determinism);
  g_test_add_func ("/generate/given-noise", test_given_noise);
  g_test_add_func ("/generate/cancel", test_cancel);
  g_test_add_func ("/generate/truncation-preview", test_truncation_and_preview);
  g_test_add_func ("/generate/guidance", test_guidance);
  g_test_add_func ("/generate/cli", test_cli);
  g_test_add_func ("/generate/discovery", test_discovery);
  g_test_add_func ("/generate/bench", test_bench);
  int rc = g_test_run ();
  sinopia_model_free (model);
  sinopia_test_context_finish ();
  remove_tree (tmp_root);
  g_free (model_dir);
  g_free (tmp_root);
  return rc;
}
