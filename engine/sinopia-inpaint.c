/* sinopia-inpaint.c — pixels and prompts to a KV-Edit inpainting or its no-cache baseline, and
 * the band composite. */
#define G_LOG_DOMAIN "sinopia-engine"

#include <math.h>
#include <string.h>

#include "sinopia-generate-private.h"
#include "sinopia-inpaint.h"
#include "sinopia-masked-regen.h"

void
sinopia_inpaint_params_init (SinopiaInpaintParams *p)
{
  *p = (SinopiaInpaintParams) {
    .negative = "", .guidance = NAN, .inversion_guidance = NAN, .skip_step = -1, .attn_scale = NAN, .reinit = -1,
  };
}

uint32_t
sinopia_inpaint_band (uint32_t width, uint32_t height)
{
  return MIN (width, height) / 16;
}

void
sinopia_inpaint_blend_weights (const guint8 *latent_mask, uint32_t W, uint32_t H, uint32_t f, uint32_t band,
                               float *weights)
{
  const uint32_t far = W + H;
  g_autofree uint32_t *d = g_new (uint32_t, (gsize) W * H);
  for (uint32_t y = 0; y < H; y++)
    for (uint32_t x = 0; x < W; x++)
      d[(gsize) y * W + x] = latent_mask[(gsize) (y / f) * (W / f) + x / f] ? 0 : far;
  /* chessboard distance transform: a forward and a backward pass over the 8 neighbours */
  for (int pass = 0; pass < 2; pass++)
    for (uint32_t i = 0; i < H; i++) {
      uint32_t y = pass ? H - 1 - i : i;
      for (uint32_t j = 0; j < W; j++) {
        uint32_t x = pass ? W - 1 - j : j, *v = &d[(gsize) y * W + x];
        int dy = pass ? 1 : -1;
        for (int dx = -1; dx <= 1; dx++) {
          int64_t yy = (int64_t) y + dy, xx = (int64_t) x + dx;
          if (yy >= 0 && yy < H && xx >= 0 && xx < W)
            *v = MIN (*v, d[(gsize) yy * W + xx] + 1);
        }
        int64_t xs = (int64_t) x + dy;  /* the neighbour already visited in this row */
        if (xs >= 0 && xs < W)
          *v = MIN (*v, d[(gsize) y * W + xs] + 1);
      }
    }
  for (gsize p = 0; p < (gsize) W * H; p++)
    weights[p] = d[p] > band ? 0.0f : 1.0f - (float) d[p] / (float) (band + 1);
}

static gboolean
input_error (GError **error, const char *msg)
{
  g_set_error_literal (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT, msg);
  return FALSE;
}

static gboolean
check_params (const SinopiaModelInfo *info, const SinopiaInpaintParams *p, GError **error)
{
  const char *neg = p->negative ? p->negative : "", *src = p->source_prompt ? p->source_prompt : "";
  if (!p->image || !p->mask)
    return input_error (error, "Inpainting needs an image and a mask");
  if ((!p->source_prompt && !p->no_cache) || !p->prompt || !g_utf8_validate (src, -1, NULL) ||
      !g_utf8_validate (p->prompt, -1, NULL) || !g_utf8_validate (neg, -1, NULL))
    return input_error (error, "The source prompt, the prompt and the negative prompt must be UTF-8 text");
  if (p->steps > SINOPIA_MODEL_MAX_STEPS || isinf (p->guidance) || isinf (p->inversion_guidance) ||
      isinf (p->attn_scale) || p->skip_step < -1 || p->reinit < -1 || p->reinit > SINOPIA_KV_EDIT_REINIT_INVERSION)
    return input_error (error, "Steps must be at most 1000, guidances and the attention scale finite, skip_step "
                               "not negative, reinit from −1 to 2");
  if (p->no_cache && (p->reinit > 0 || p->aligned_start || p->attn_mask || p->inversion_free ||
                      !isnan (p->inversion_guidance) || !isnan (p->attn_scale)))
    return input_error (error, "The no-cache baseline has no inversion and no cache: it takes no re-init, aligned "
                               "start, mask-guided inversion, inversion-free variant, inversion guidance or "
                               "attention scale");
  if (p->inversion_free && (p->reinit > 0 || p->aligned_start))
    return input_error (error, "The inversion-free variant starts from the input itself: it takes no re-init and no "
                               "aligned start");
  return sinopia_generate_check_size (info, p->width, p->height, error);
}

/* Parameters, else the model file's kv_edit section, else the reference's. */
static void
resolve (const SinopiaModelInfo *info, gboolean embedded, const SinopiaInpaintParams *p, SinopiaKvEditRequest *r,
         guint steps)
{
  r->n_steps = steps;
  /* a default skip is kept below the steps; a given one that is not is an error */
  r->skip_step = p->skip_step >= 0 ? (guint) p->skip_step
                 : MIN (info->kv_edit.skip_steps >= 0 ? (guint) info->kv_edit.skip_steps : 4, steps - 1);
  r->denoise_guidance = !isnan (p->guidance) ? p->guidance
                        : !isnan (info->kv_edit.denoise_guidance) ? info->kv_edit.denoise_guidance
                        : embedded ? 5.5f : info->default_guidance;
  r->inversion_guidance = !isnan (p->inversion_guidance) ? p->inversion_guidance
                          : !isnan (info->kv_edit.inversion_guidance) ? info->kv_edit.inversion_guidance
                          : embedded ? 1.5f : 1.0f;
  r->attn_scale = !isnan (p->attn_scale) ? p->attn_scale
                  : !isnan (info->kv_edit.attn_scale) ? info->kv_edit.attn_scale : 1.0f;
  r->reinit = p->reinit >= 0                ? (SinopiaKvEditReinit) p->reinit
              : info->kv_edit.reinit > 0 ? SINOPIA_KV_EDIT_REINIT_INPUT
                                         : SINOPIA_KV_EDIT_REINIT_OFF;
  r->aligned_start = p->aligned_start;
  r->attn_mask = p->attn_mask;
  r->inversion_free = p->inversion_free;
  r->seed = p->seed;
}

static char *
kv_edit_json (const SinopiaInpaintParams *p, const SinopiaKvEditRequest *r)
{
  GString *s = g_string_new ("{\"name\": \"kv-edit\", \"source_prompt\": ");
  sinopia_json_append_string (s, p->source_prompt, -1);
  g_string_append_printf (s, ", \"skip_step\": %u, \"inversion_guidance\": ", r->skip_step);
  sinopia__json_append_float (s, r->inversion_guidance);
  g_string_append (s, ", \"attn_scale\": ");
  sinopia__json_append_float (s, r->attn_scale);
  g_string_append_printf (s, ", \"reinit\": %s, \"reinit_from_inversion\": %s, \"aligned_start\": %s, "
                          "\"attn_mask\": %s, \"inversion_free\": %s, \"band\": %u}",
                          r->reinit != SINOPIA_KV_EDIT_REINIT_OFF ? "true" : "false",
                          r->reinit == SINOPIA_KV_EDIT_REINIT_INVERSION ? "true" : "false",
                          r->aligned_start ? "true" : "false", r->attn_mask ? "true" : "false",
                          r->inversion_free ? "true" : "false", sinopia_inpaint_band (p->width, p->height));
  return g_string_free (s, FALSE);
}

/* The no-cache baseline: KV-Edit's request gives it the schedule, prompts and guidance; ε is
 * text-to-image's noise of the seed (drawn unpacked [z, lh, lw], then packed). */
static gboolean
regenerate (const SinopiaKvEditRequest *r, guint64 seed, uint32_t z, const float *z0, const float *channel_mask,
            float *out, SinopiaStepFunc on_step, gpointer user_data, GError **error)
{
  gsize n_latent = (gsize) r->n_img * 4 * z;
  g_autofree float *drawn = g_new (float, n_latent), *noise = g_new (float, n_latent);
  sinopia_noise (seed, drawn, n_latent);
  sinopia_flux_pack (drawn, z, r->latent_height, r->latent_width, noise);
  SinopiaMaskedRegenRequest m = {
    .model = r->model, .txt = r->tar_txt, .y = r->tar_y, .neg_txt = r->neg_txt, .neg_y = r->neg_y,
    .txt_ids = r->txt_ids, .n_txt = r->n_txt, .img_ids = r->img_ids, .n_img = r->n_img, .timesteps = r->timesteps,
    .n_steps = r->n_steps, .skip_step = r->skip_step, .guidance = r->denoise_guidance, .noise = noise,
    .cancel = r->cancel, .preview = r->preview, .latent_height = r->latent_height, .latent_width = r->latent_width,
  };
  return sinopia_masked_regen (&m, z0, channel_mask, out, on_step, user_data, error);
}

static char *
regen_json (const SinopiaInpaintParams *p, const SinopiaKvEditRequest *r)
{
  return g_strdup_printf ("{\"name\": \"masked-regeneration\", \"skip_step\": %u, \"band\": %u}", r->skip_step,
                          sinopia_inpaint_band (p->width, p->height));
}

SinopiaImage *
sinopia_inpaint (SinopiaModel *model, const SinopiaInpaintParams *p, const gint *cancel, SinopiaStepFunc on_step,
                 gpointer user_data, GError **error)
{
  const SinopiaModelInfo *info = sinopia_model_info (model);
  SinopiaFluxModel *flux = sinopia_model_flux (model);
  const SinopiaFluxConfig *fc = sinopia_flux_model_config (flux);
  SinopiaAeModel *ae = sinopia_model_ae (model);
  const SinopiaAeConfig *ac = sinopia_ae_config (ae);
  g_autoptr (SinopiaImage) img = g_new0 (SinopiaImage, 1);
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  SinopiaKvEditRequest r = { .model = flux, .cancel = cancel };

  if (!check_params (info, p, error))
    return NULL;
  if (fc->n_axes != 3) {
    input_error (error, "The transformer needs 3 RoPE axes for image positions");
    return NULL;
  }
  guint steps = p->steps ? p->steps : info->default_steps;
  resolve (info, fc->guidance_embed, p, &r, steps);
  if (r.skip_step >= steps) {
    g_set_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT,
                 "skip_step %u must be below the %u steps", r.skip_step, steps);
    return NULL;
  }
  uint32_t W = p->width, H = p->height, f = sinopia_ae_factor (ac), z = ac->z_channels, lh = H / f, lw = W / f;
  uint32_t n_img = (lh / 2) * (lw / 2);
  gsize n_latent = (gsize) z * lh * lw, hw = (gsize) W * H;
  g_autofree guint8 *latent_mask = g_new (guint8, (gsize) lh * lw);
  g_autofree float *channel_mask = g_new (float, n_latent);
  sinopia_kv_edit_latent_mask (p->mask, W, H, f, latent_mask);
  if (!memchr (latent_mask, 1, (gsize) lh * lw)) {
    g_set_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT,
                 "The mask selects no part of the image: it must cover the centre 2×2 pixels of at least one %u×%u "
                 "block", f, f);
    return NULL;
  }
  sinopia_kv_edit_channel_mask (latent_mask, lh, lw, z, channel_mask);

  img->width = W;
  img->height = H;
  img->steps = steps;
  img->seed = p->seed;
  img->guidance = r.denoise_guidance;
  img->prompt = g_strdup (p->prompt);
  img->negative = g_strdup (p->negative ? p->negative : "");
  img->model_name = g_strdup (info->name);

  g_autofree float *planes = g_new (float, (gsize) ac->out_ch * hw), *lat = g_new (float, n_latent);
  if (!sinopia__generate_encode_image (model, p->image, W, H, lat, cancel, error))
    return NULL;

  gboolean embedded = fc->guidance_embed;
  gboolean need_neg = !embedded && (r.denoise_guidance != 1.0f || (!p->no_cache && r.inversion_guidance != 1.0f));
  g_autofree float *img_ids = g_new (float, (gsize) n_img * 3), *ts = g_new (float, steps + 1);
  g_autofree float *z0 = g_new (float, n_latent), *out = g_new (float, n_latent);
  g_auto (SinopiaPromptPair) pr = { 0 };
  if (!sinopia__generate_encode_pair (model, p->no_cache ? NULL : p->source_prompt, p->prompt, img->negative,
                                      need_neg, &pr, warnings, error))
    return NULL;
  if (p->preview && !(r.preview = sinopia_model_preview_map (model, error)))
    return NULL;
  sinopia_flux_pack (lat, z, lh, lw, z0);
  sinopia_flux_img_ids (lh, lw, img_ids);
  sinopia__generate_schedule (info, steps, n_img, ts);
  r.src_txt = pr.src_txt;
  r.src_y = pr.src_y;
  r.tar_txt = pr.tar_txt;
  r.tar_y = pr.tar_y;
  r.neg_txt = pr.neg_txt;
  r.neg_y = pr.neg_y;
  r.txt_ids = pr.txt_ids;
  r.n_txt = pr.n_txt;
  r.img_ids = img_ids;
  r.n_img = n_img;
  r.timesteps = ts;
  r.latent_height = lh;
  r.latent_width = lw;
  if (!(p->no_cache ? regenerate (&r, p->seed, z, z0, channel_mask, out, on_step, user_data, error)
                    : sinopia_kv_edit (&r, z0, channel_mask, out, &img->kv_cache_bytes, on_step, user_data, error))) {
    sinopia__generate_map_cancel (error);
    return NULL;
  }

  img->method_json = p->no_cache ? regen_json (p, &r) : kv_edit_json (p, &r);
  img->latent = g_new (float, n_latent);
  sinopia_flux_unpack (out, z, lh, lw, img->latent);
  if (sinopia__generate_ae_cancelled ((gpointer) cancel)) {
    g_set_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_CANCELLED, "Cancelled");
    return NULL;
  }
  if (!sinopia_ae_decode (ae, img->latent, lh, lw, planes, sinopia__generate_ae_cancelled, (gpointer) cancel,
                          error)) {
    sinopia__generate_map_cancel (error);
    return NULL;
  }
  g_autofree guint8 *decoded = g_new (guint8, hw * 3);
  g_autofree float *weights = g_new (float, hw);
  sinopia__generate_to_rgb8 (planes, W, H, decoded);
  sinopia_inpaint_blend_weights (latent_mask, W, H, f, sinopia_inpaint_band (W, H), weights);
  img->rgb = g_new (guint8, hw * 3);
  for (gsize px = 0; px < hw; px++)
    for (guint c = 0; c < 3; c++) {
      float w = weights[px];
      img->rgb[px * 3 + c] = w == 0.0f ? p->image[px * 3 + c]
                                       : (guint8) lrintf (w * decoded[px * 3 + c] + (1.0f - w) * p->image[px * 3 + c]);
    }
  img->latent_channels = z;
  img->latent_height = lh;
  img->latent_width = lw;
  g_ptr_array_add (warnings, NULL);
  img->warnings = (char **) g_ptr_array_steal (warnings, NULL);
  return g_steal_pointer (&img);
}
