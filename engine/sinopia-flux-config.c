/* sinopia-flux-config.c — the transformer's configuration: from `flux_params` metadata or
 * inferred from tensor names and shapes (BFL or diffusers naming, any name prefix). */
#define G_LOG_DOMAIN "sinopia-engine"

#include <string.h>

#include "sinopia-flux.h"
#include "sinopia-json.h"

G_DEFINE_QUARK (sinopia-flux-error-quark, sinopia_flux_error)

uint32_t
sinopia_flux_head_dim (const SinopiaFluxConfig *cfg)
{
  return cfg->num_heads ? cfg->hidden_size / cfg->num_heads : 0;
}

static gboolean
config_check (SinopiaFluxConfig *cfg, GError **error)
{
  uint32_t axes = 0;
  for (uint32_t a = 0; a < cfg->n_axes; a++) {
    if (cfg->axes_dim[a] % 2 != 0) {
      g_set_error (error, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_CONFIG,
                   "axes_dim[%u] = %u is odd: RoPE rotates pairs", a, cfg->axes_dim[a]);
      return FALSE;
    }
    axes += cfg->axes_dim[a];
  }
  if (cfg->hidden_size == 0 || cfg->num_heads == 0 || cfg->hidden_size % cfg->num_heads != 0) {
    g_set_error (error, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_CONFIG,
                 "hidden_size %u is not a multiple of num_heads %u", cfg->hidden_size, cfg->num_heads);
    return FALSE;
  }
  if (axes != sinopia_flux_head_dim (cfg)) {
    g_set_error (error, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_CONFIG,
                 "the RoPE axes add up to %u but the head dimension is %u", axes, sinopia_flux_head_dim (cfg));
    return FALSE;
  }
  if (cfg->in_channels == 0 || cfg->out_channels == 0 || cfg->vec_in_dim == 0 || cfg->context_in_dim == 0 ||
      cfg->mlp_hidden == 0 || cfg->theta <= 0) {
    g_set_error (error, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_CONFIG, "the configuration has a zero size");
    return FALSE;
  }
  return TRUE;
}

gboolean
sinopia_flux_config_from_json (const char *json, SinopiaFluxConfig *cfg, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (SinopiaJson) doc = sinopia_json_parse (json, strlen (json), &local);
  int64_t v[8];
  double mlp_ratio, theta;
  const SinopiaJsonNode *root, *axes;

  memset (cfg, 0, sizeof *cfg);
  if (!doc)
    goto fail;
  root = sinopia_json_root (doc);
  static const char *const keys[] = { "in_channels", "out_channels", "vec_in_dim", "context_in_dim",
                                      "hidden_size", "num_heads", "depth", "depth_single_blocks" };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    if (!sinopia_json_get_int64 (root, keys[i], 0, 1 << 20, &v[i], &local))
      goto fail;
  if (!sinopia_json_get_double (root, "mlp_ratio", &mlp_ratio, &local) ||
      !sinopia_json_get_double (root, "theta", &theta, &local) ||
      !sinopia_json_get_bool (root, "qkv_bias", &cfg->qkv_bias, &local) ||
      !sinopia_json_get_bool (root, "guidance_embed", &cfg->guidance_embed, &local))
    goto fail;
  axes = sinopia_json_object_get (root, "axes_dim");
  if (!axes || sinopia_json_type (axes) != SINOPIA_JSON_ARRAY) {
    g_set_error (&local, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_CONFIG, "axes_dim is missing or not an array");
    goto fail;
  }
  for (const SinopiaJsonNode *a; (a = sinopia_json_array_get (axes, cfg->n_axes));) {
    int64_t d;
    if (cfg->n_axes == SINOPIA_FLUX_MAX_AXES) {
      g_set_error (&local, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_CONFIG, "more than %d RoPE axes",
                   SINOPIA_FLUX_MAX_AXES);
      goto fail;
    }
    if (!sinopia_json_as_int64 (a, 0, 4096, &d, &local))
      goto fail;
    cfg->axes_dim[cfg->n_axes++] = (uint32_t) d;
  }
  cfg->in_channels = v[0];
  cfg->out_channels = v[1];
  cfg->vec_in_dim = v[2];
  cfg->context_in_dim = v[3];
  cfg->hidden_size = v[4];
  cfg->num_heads = v[5];
  cfg->depth = v[6];
  cfg->depth_single = v[7];
  cfg->mlp_hidden = (uint32_t) (cfg->hidden_size * mlp_ratio);
  cfg->theta = theta;
  if (config_check (cfg, &local))
    return TRUE;

fail:
  g_set_error (error, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_CONFIG, "flux_params: %s", local->message);
  return FALSE;
}

static gboolean
missing (const SinopiaSafetensors *st, const char *what, GError **error)
{
  g_set_error (error, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_TENSORS,
               "%s: cannot infer the FLUX configuration: tensor \"%s\" is missing",
               sinopia_safetensors_name (st), what);
  return FALSE;
}

static gboolean
infer (const SinopiaSafetensors *st, SinopiaFluxConfig *cfg, SinopiaFluxNaming naming, char **prefix,
       GError **error)
{
  gboolean bfl = naming == SINOPIA_FLUX_NAMING_BFL;
  const char *n_img_in = bfl ? "img_in.weight" : "x_embedder.weight";
  const char *n_txt_in = bfl ? "txt_in.weight" : "context_embedder.weight";
  const char *n_vec_in = bfl ? "vector_in.in_layer.weight" : "time_text_embed.text_embedder.linear_1.weight";
  const char *n_final = bfl ? "final_layer.linear.weight" : "proj_out.weight";
  const char *n_guid = bfl ? "guidance_in.in_layer.weight" : "time_text_embed.guidance_embedder.linear_1.weight";
  const char *double_stem = bfl ? "double_blocks" : "transformer_blocks";
  const char *single_stem = bfl ? "single_blocks" : "single_transformer_blocks";
  const SinopiaTensorInfo *t;

  if (!(t = sinopia_safetensors_find_suffix (st, n_img_in, prefix)) || t->n_dims != 2)
    return missing (st, n_img_in, error);
  cfg->hidden_size = t->shape[0];
  cfg->in_channels = t->shape[1];
  if (!(t = sinopia_safetensors_find_suffix (st, n_txt_in, prefix)) || t->n_dims != 2)
    return missing (st, n_txt_in, error);
  cfg->context_in_dim = t->shape[1];
  if (!(t = sinopia_safetensors_find_suffix (st, n_vec_in, prefix)) || t->n_dims != 2)
    return missing (st, n_vec_in, error);
  cfg->vec_in_dim = t->shape[1];
  if (!(t = sinopia_safetensors_find_suffix (st, n_final, prefix)) || t->n_dims != 2)
    return missing (st, n_final, error);
  cfg->out_channels = t->shape[0];
  cfg->guidance_embed = sinopia_safetensors_find_suffix (st, n_guid, prefix) != NULL;
  cfg->depth = sinopia_safetensors_count_indices (st, *prefix, double_stem);
  cfg->depth_single = sinopia_safetensors_count_indices (st, *prefix, single_stem);

  const char *n_norm = bfl ? (cfg->depth ? "double_blocks.0.img_attn.norm.query_norm.scale"
                                         : "single_blocks.0.norm.query_norm.scale")
                           : (cfg->depth ? "transformer_blocks.0.attn.norm_q.weight"
                                         : "single_transformer_blocks.0.attn.norm_q.weight");
  if (!(t = sinopia_safetensors_find_suffix (st, n_norm, prefix)) || t->n_dims != 1 || t->shape[0] == 0)
    return missing (st, n_norm, error);
  uint32_t head_dim = t->shape[0];
  cfg->num_heads = cfg->hidden_size / head_dim;

  const char *n_mlp = bfl ? (cfg->depth ? "double_blocks.0.img_mlp.0.weight" : "single_blocks.0.linear1.weight")
                          : (cfg->depth ? "transformer_blocks.0.ff.net.0.proj.weight"
                                        : "single_transformer_blocks.0.proj_mlp.weight");
  if (!(t = sinopia_safetensors_find_suffix (st, n_mlp, prefix)) || t->n_dims != 2)
    return missing (st, n_mlp, error);
  cfg->mlp_hidden = t->shape[0];
  if (bfl && !cfg->depth)
    cfg->mlp_hidden -= 3 * cfg->hidden_size;

  const char *n_bias = bfl ? (cfg->depth ? "double_blocks.0.img_attn.qkv.bias" : "single_blocks.0.linear1.bias")
                           : (cfg->depth ? "transformer_blocks.0.attn.to_q.bias"
                                         : "single_transformer_blocks.0.attn.to_q.bias");
  cfg->qkv_bias = sinopia_safetensors_find_suffix (st, n_bias, prefix) != NULL;
  cfg->theta = 10000;
  if (head_dim != 128) {
    g_set_error (error, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_CONFIG,
                 "%s: the head dimension is %u, so the RoPE axes cannot be inferred (FLUX's (16, 56, 56) "
                 "needs 128); store them in __metadata__ flux_params", sinopia_safetensors_name (st), head_dim);
    return FALSE;
  }
  cfg->n_axes = 3;
  cfg->axes_dim[0] = 16;
  cfg->axes_dim[1] = 56;
  cfg->axes_dim[2] = 56;
  if (!config_check (cfg, error)) {
    g_prefix_error (error, "%s: ", sinopia_safetensors_name (st));
    return FALSE;
  }
  return TRUE;
}

gboolean
sinopia_flux_config_from_checkpoint (const SinopiaSafetensors *st, SinopiaFluxConfig *cfg, SinopiaFluxNaming *naming,
                                     char **prefix, GError **error)
{
  g_autofree char *found = NULL;

  memset (cfg, 0, sizeof *cfg);
  if (sinopia_safetensors_find_suffix (st, "img_in.weight", &found))
    *naming = SINOPIA_FLUX_NAMING_BFL;
  else if (sinopia_safetensors_find_suffix (st, "x_embedder.weight", &found))
    *naming = SINOPIA_FLUX_NAMING_DIFFUSERS;
  else {
    g_set_error (error, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_TENSORS,
                 "%s is not a FLUX transformer: it has neither img_in.weight (BFL naming) nor "
                 "x_embedder.weight (diffusers naming)", sinopia_safetensors_name (st));
    return FALSE;
  }

  const char *json = sinopia_safetensors_metadata (st, "flux_params");
  if (json) {
    if (!sinopia_flux_config_from_json (json, cfg, error)) {
      g_prefix_error (error, "%s: ", sinopia_safetensors_name (st));
      return FALSE;
    }
  } else {
    if (!infer (st, cfg, *naming, &found, error))
      return FALSE;
  }
  *prefix = g_steal_pointer (&found);
  return TRUE;
}

uint64_t
sinopia_flux_param_count (const SinopiaFluxConfig *c)
{
  uint64_t D = c->hidden_size, M = c->mlp_hidden, hd = sinopia_flux_head_dim (c);
  uint64_t qb = c->qkv_bias ? 3 * D : 0;
  uint64_t n = D * c->in_channels + D + D * c->context_in_dim + D;      /* img_in, txt_in */
  n += (D * 256 + D + D * D + D) * (c->guidance_embed ? 2 : 1);         /* time_in, guidance_in */
  n += D * c->vec_in_dim + D + D * D + D;                               /* vector_in */
  uint64_t per_stream = 6 * D * D + 6 * D + 3 * D * D + qb + 2 * hd + D * D + D + M * D + M + D * M + D;
  n += c->depth * 2 * per_stream;
  n += c->depth_single * ((3 * D + M) * D + 3 * D + M + (D + M) * D + D +
                          2 * hd + 3 * D * D + 3 * D);
  n += c->out_channels * D + c->out_channels + 2 * D * D + 2 * D;       /* final layer */
  return n;
}
