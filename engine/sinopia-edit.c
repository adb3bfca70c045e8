/* sinopia-edit.c — Stable Flow editing of generated and real images with a model folder. */
#define G_LOG_DOMAIN "sinopia-engine"

#include <math.h>
#include <string.h>

#include "sinopia-edit.h"
#include "sinopia-generate-private.h"

void
sinopia_edit_params_init (SinopiaEditParams *p)
{
  *p = (SinopiaEditParams) { .negative = "", .guidance = NAN, .n_vital_layers = -1 };
}

static gboolean
input_error (GError **error, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static gboolean
input_error (GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error_literal (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT, msg);
  return FALSE;
}

/* Sets flags[l] for each of `n` global indices; an index past the layers is an error. */
static gboolean
set_layers (gboolean *flags, uint32_t n_layers, const guint *layers, guint n, guint offset, GError **error)
{
  for (guint i = 0; i < n; i++) {
    if (layers[i] + offset >= n_layers)
      return input_error (error, "Vital layer %u is past the transformer's %u layers (global indices from 0, "
                                 "double blocks first)", layers[i] + offset, n_layers);
    flags[layers[i] + offset] = TRUE;
  }
  return TRUE;
}

gboolean *
sinopia_edit_model_vital_layers (SinopiaModel *model, GError **error)
{
  const SinopiaModelInfo *info = sinopia_model_info (model);
  const SinopiaFluxConfig *cfg = sinopia_flux_model_config (sinopia_model_flux (model));
  uint32_t n = sinopia_flux_n_layers (cfg);
  g_autofree gboolean *flags = g_new0 (gboolean, n);
  if (info->vital.n_layers)
    return set_layers (flags, n, info->vital.layers, info->vital.n_layers, 0, error) ? g_steal_pointer (&flags)
                                                                                        : NULL;
  if (info->vital.n_doubles || info->vital.n_singles) {
    for (guint i = 0; i < info->vital.n_doubles; i++)
      if (info->vital.doubles[i] >= cfg->depth) {
        input_error (error, "Vital double block %u is past the transformer's %u", info->vital.doubles[i],
                     cfg->depth);
        return NULL;
      }
    return set_layers (flags, n, info->vital.doubles, info->vital.n_doubles, 0, error) &&
               set_layers (flags, n, info->vital.singles, info->vital.n_singles, cfg->depth, error)
             ? g_steal_pointer (&flags)
             : NULL;
  }
  if (cfg->depth == 19 && cfg->depth_single == 38)
    return set_layers (flags, n, sinopia_stable_flow_flux_dev_layers, G_N_ELEMENTS (sinopia_stable_flow_flux_dev_layers),
                       0, error)
             ? g_steal_pointer (&flags)
             : NULL;
  input_error (error, "The model names no vital layers (sinopia-model.json's vital_layers): find them with "
                      "'sinopia-cli vital-layers' or give them");
  return NULL;
}

static gboolean
check_params (const SinopiaModelInfo *info, const SinopiaEditParams *p, uint32_t W, uint32_t H, GError **error)
{
  const char *neg = p->negative ? p->negative : "";
  if (!p->source_prompt || !p->prompt || !g_utf8_validate (p->source_prompt, -1, NULL) ||
      !g_utf8_validate (p->prompt, -1, NULL) || !g_utf8_validate (neg, -1, NULL))
    return input_error (error, "The source prompt, the prompt and the negative prompt must be UTF-8 text");
  if (p->steps > SINOPIA_MODEL_MAX_STEPS || isinf (p->guidance) || p->n_vital_layers < -1 ||
      (p->n_vital_layers > 0 && !p->vital_layers))
    return input_error (error, "Steps must be at most %u, the guidance finite and the vital layers a list",
                        SINOPIA_MODEL_MAX_STEPS);
  return sinopia_generate_check_size (info, W, H, error);
}

/* Steps of the inversion and of the edit counted together for the caller's callback. */
typedef struct {
  SinopiaStepFunc on_step;
  gpointer user_data;
  guint base, total;
} Count;

static gboolean
count_step (const SinopiaStepInfo *info, gpointer user)
{
  Count *c = user;
  SinopiaStepInfo shifted = *info;
  shifted.step += c->base;
  shifted.n_steps = c->total;
  return c->on_step (&shifted, c->user_data);
}

/* Decodes a packed latent into an image of `img`'s size. */
static gboolean
finish (SinopiaModel *model, SinopiaImage *img, const float *packed, const gint *cancel, GError **error)
{
  const SinopiaAeConfig *ac = sinopia_ae_config (sinopia_model_ae (model));
  uint32_t f = sinopia_ae_factor (ac), z = ac->z_channels, lh = img->height / f, lw = img->width / f;
  g_autofree float *planes = g_new (float, (gsize) ac->out_ch * img->width * img->height);
  img->latent = g_new (float, (gsize) z * lh * lw);
  img->latent_channels = z;
  img->latent_height = lh;
  img->latent_width = lw;
  sinopia_flux_unpack (packed, z, lh, lw, img->latent);
  if (sinopia__generate_ae_cancelled ((gpointer) cancel)) {
    g_set_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_CANCELLED, "Cancelled");
    return FALSE;
  }
  if (!sinopia_ae_decode (sinopia_model_ae (model), img->latent, lh, lw, planes, sinopia__generate_ae_cancelled,
                          (gpointer) cancel, error)) {
    sinopia__generate_map_cancel (error);
    return FALSE;
  }
  img->rgb = g_new (guint8, (gsize) img->width * img->height * 3);
  sinopia__generate_to_rgb8 (planes, img->width, img->height, img->rgb);
  img->warnings = g_new0 (char *, 1);
  return TRUE;
}

static SinopiaImage *
new_image (const SinopiaModelInfo *info, const SinopiaEditParams *p, const char *prompt, uint32_t W, uint32_t H,
           guint steps, float guidance)
{
  SinopiaImage *img = g_new0 (SinopiaImage, 1);
  img->width = W;
  img->height = H;
  img->steps = steps;
  img->seed = p->seed;
  img->guidance = guidance;
  img->prompt = g_strdup (prompt);
  img->negative = g_strdup (p->negative ? p->negative : "");
  img->model_name = g_strdup (info->name);
  return img;
}

static char *
stable_flow_json (const SinopiaEditParams *p, const gboolean *vital, uint32_t n_layers, gboolean real)
{
  GString *s = g_string_new ("{\"name\": \"stable-flow\", \"source_prompt\": ");
  sinopia_json_append_string (s, p->source_prompt, -1);
  g_string_append_printf (s, ", \"mode\": \"%s\", \"aligned\": %s, \"vital_layers\": [", real ? "real" : "generated",
                          p->aligned ? "true" : "false");
  for (uint32_t l = 0, k = 0; l < n_layers; l++)
    if (vital[l])
      g_string_append_printf (s, "%s%u", k++ ? ", " : "", l);
  g_string_append (s, "]}");
  return g_string_free (s, FALSE);
}

SinopiaImage *
sinopia_edit (SinopiaModel *model, const SinopiaEditParams *p, const gint *cancel, SinopiaStepFunc on_step,
              gpointer user_data, SinopiaImage **reference, GError **error)
{
  const SinopiaModelInfo *info = sinopia_model_info (model);
  SinopiaFluxModel *flux = sinopia_model_flux (model);
  const SinopiaFluxConfig *fc = sinopia_flux_model_config (flux);
  SinopiaAeModel *ae = sinopia_model_ae (model);
  const SinopiaAeConfig *ac = sinopia_ae_config (ae);
  gboolean real = p->image != NULL;
  uint32_t W = p->width || real ? p->width : info->native_width;
  uint32_t H = p->height || real ? p->height : info->native_height;
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);

  if (!check_params (info, p, W, H, error))
    return NULL;
  if (fc->n_axes != 3) {
    input_error (error, "The transformer has %u RoPE axes; image positions need 3", fc->n_axes);
    return NULL;
  }
  uint32_t n_layers = sinopia_flux_n_layers (fc);
  g_autofree gboolean *vital = NULL;
  if (p->n_vital_layers < 0) {
    if (!(vital = sinopia_edit_model_vital_layers (model, error)))
      return NULL;
  } else {
    vital = g_new0 (gboolean, n_layers);
    if (!set_layers (vital, n_layers, p->vital_layers, (guint) p->n_vital_layers, 0, error))
      return NULL;
  }

  guint steps = p->steps                                     ? p->steps
                : !real && info->stable_flow.generated_steps ? info->stable_flow.generated_steps
                                                             : info->default_steps;
  float guidance = isnan (p->guidance) ? info->default_guidance : p->guidance;
  float ref_guidance = real ? 1.0f : guidance;
  uint32_t f = sinopia_ae_factor (ac), z = ac->z_channels, lh = H / f, lw = W / f;
  uint32_t n_img = (lh / 2) * (lw / 2);
  gsize n_latent = (gsize) z * lh * lw;
  gboolean need_neg = !fc->guidance_embed && (guidance != 1.0f || ref_guidance != 1.0f);
  g_autofree float *img_ids = g_new (float, (gsize) n_img * 3);
  g_autofree float *ts = g_new (float, steps + 1), *start = g_new (float, n_latent), *lat = g_new (float, n_latent);
  g_autofree float *ref_out = g_new (float, n_latent), *edit_out = g_new (float, n_latent);
  g_autofree float *trajectory = NULL, *clean = NULL;
  g_autoptr (SinopiaImage) ref_img = new_image (info, p, p->source_prompt, W, H, steps, ref_guidance);
  g_autoptr (SinopiaImage) img = new_image (info, p, p->prompt, W, H, steps, guidance);

  g_auto (SinopiaPromptPair) pr = { 0 };
  if (!sinopia__generate_encode_pair (model, p->source_prompt, p->prompt, img->negative, need_neg, &pr, warnings,
                                      error))
    return NULL;
  sinopia_flux_img_ids (lh, lw, img_ids);
  sinopia__generate_schedule (info, steps, n_img, ts);
  SinopiaStableFlowRequest req = {
    .model = flux, .src_txt = pr.src_txt, .src_y = pr.src_y, .tar_txt = pr.tar_txt, .tar_y = pr.tar_y,
    .neg_txt = pr.neg_txt, .neg_y = pr.neg_y, .txt_ids = pr.txt_ids, .n_txt = pr.n_txt, .img_ids = img_ids, .n_img = n_img, .timesteps = ts,
    .n_steps = steps, .ref_guidance = ref_guidance, .edit_guidance = guidance, .vital = vital,
    .aligned = p->aligned, .cancel = cancel, .latent_height = lh, .latent_width = lw,
  };
  if (p->preview && !(req.preview = sinopia_model_preview_map (model, error)))
    return NULL;
  Count count = { on_step, user_data, 0, steps };

  if (!real) {
    sinopia_noise (p->seed, lat, n_latent);
    sinopia_flux_pack (lat, z, lh, lw, start);
  } else {
    if (!sinopia__generate_encode_image (model, p->image, W, H, lat, cancel, error))
      return NULL;
    clean = g_new (float, n_latent);
    sinopia_flux_pack (lat, z, lh, lw, clean);
    for (gsize i = 0; i < n_latent; i++)
      clean[i] *= SINOPIA_STABLE_FLOW_NUDGE;
    trajectory = g_new (float, (gsize) steps * n_latent);
    count.total = 2 * steps;
    if (!sinopia_stable_flow_invert (&req, clean, trajectory, on_step ? count_step : NULL, &count, error)) {
      sinopia__generate_map_cancel (error);
      return NULL;
    }
    /* both branches start from the fully inverted latent */
    memcpy (start, trajectory + (gsize) (steps - 1) * n_latent, n_latent * sizeof (float));
    req.trajectory = trajectory;
    req.clean = clean;
    count.base = steps;
  }
  if (!sinopia_stable_flow (&req, start, ref_out, edit_out, on_step ? count_step : NULL, &count, error)) {
    sinopia__generate_map_cancel (error);
    return NULL;
  }
  img->method_json = stable_flow_json (p, vital, n_layers, real);
  if (!finish (model, img, edit_out, cancel, error) ||
      (reference && !finish (model, ref_img, ref_out, cancel, error)))
    return NULL;
  g_ptr_array_add (warnings, NULL);
  g_strfreev (img->warnings);
  img->warnings = (char **) g_ptr_array_steal (warnings, NULL);
  if (reference)
    *reference = g_steal_pointer (&ref_img);
  return g_steal_pointer (&img);
}
