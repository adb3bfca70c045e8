/* sinopia-generate.c — prompt to pixels: tokenize, encode, sample, decode. */
#define G_LOG_DOMAIN "sinopia-engine"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sinopia-generate-private.h"
#include "sinopia-regional.h"

G_DEFINE_QUARK (sinopia-generate-error-quark, sinopia_generate_error)

void
sinopia_generate_params_init (SinopiaGenerateParams *p)
{
  *p = (SinopiaGenerateParams) {
    .negative = "", .guidance = NAN,
    .base_ratio = NAN, .mask_inject_steps = -1, .double_interval = -1, .single_interval = -1,
  };
}

void
sinopia_image_free (SinopiaImage *image)
{
  if (!image)
    return;
  g_free (image->rgb);
  g_free (image->latent);
  g_free (image->prompt);
  g_free (image->negative);
  g_free (image->model_name);
  g_strfreev (image->warnings);
  g_free (image->method_json);
  g_free (image);
}

/* The multiple of `m` nearest to v (ties to even multiples, as Python's round), kept in
 * [m, the largest multiple ≤ SINOPIA_MODEL_MAX_SIDE]. */
static uint32_t
nearest_size (uint32_t v, uint32_t m)
{
  uint32_t hi = SINOPIA_MODEL_MAX_SIDE / m * m;
  double k = rint ((double) v / m);
  return (uint32_t) CLAMP (k * m, (double) m, (double) hi);
}

static gboolean
check_side (const char *what, uint32_t v, uint32_t m, GError **error)
{
  if (v >= m && v <= SINOPIA_MODEL_MAX_SIDE && v % m == 0)
    return TRUE;
  uint32_t near = nearest_size (v, m);
  if (v % m == 0)
    g_set_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_SIZE,
                 "%s %u is outside [%u, %u]; the nearest valid %s is %u", what, v, m,
                 SINOPIA_MODEL_MAX_SIDE / m * m, what, near);
  else
    g_set_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_SIZE,
                 "%s %u is not a multiple of %u; the nearest valid %s is %u", what, v, m, what, near);
  return FALSE;
}

gboolean
sinopia_generate_check_size (const SinopiaModelInfo *info, uint32_t width, uint32_t height, GError **error)
{
  uint32_t m = info->size_multiple;
  return check_side ("width", width, m, error) && check_side ("height", height, m, error);
}

/* One tokenizer layout (docs/shapes-world.md): [first] + ids[:room] + [eos], padded with `pad`
 * to L; first < 0 means no leading token. */
static gboolean
tokenize (const SinopiaSentencepiece *sp, const char *text, uint32_t L, int32_t first, int32_t eos, int32_t pad,
          int32_t *out, gsize *n_text, GError **error)
{
  gsize n;
  g_autofree int32_t *ids = sinopia_sentencepiece_encode (sp, text, strlen (text), &n, error);
  if (!ids)
    return FALSE;
  uint32_t room = L - 1 - (first >= 0), k = 0;
  if (first >= 0)
    out[k++] = first;
  for (gsize i = 0; i < n && i < room; i++)
    out[k++] = ids[i];
  out[k++] = eos;
  while (k < L)
    out[k++] = pad;
  *n_text = n;
  return TRUE;
}

gboolean
sinopia__generate_encode_prompt (SinopiaModel *model, const char *what, const char *text, float *txt, float *y,
                                 GPtrArray *warnings, GError **error)
{
  const SinopiaModelInfo *info = sinopia_model_info (model);
  uint32_t L5 = info->t5_max_length, Lc = info->clip_max_length;
  g_autofree int32_t *t5_ids = g_new (int32_t, L5), *clip_ids = g_new (int32_t, Lc);
  gsize n5, nc;

  if (!tokenize (sinopia_model_t5_tokenizer (model), text, L5, -1, info->eos_id, info->pad_id, t5_ids, &n5,
                 error) ||
      (y && !tokenize (sinopia_model_clip_tokenizer (model), text, Lc, info->bos_id, info->eos_id, info->eos_id,
                       clip_ids, &nc, error)))
    return FALSE;
  if (n5 > L5 - 1)
    g_ptr_array_add (warnings, g_strdup_printf ("The %s has %" G_GSIZE_FORMAT " tokens; the T5 encoder reads the "
                                                "first %u of them", what, n5, L5 - 1));
  if (y && nc > Lc - 2)
    g_ptr_array_add (warnings, g_strdup_printf ("The %s has %" G_GSIZE_FORMAT " tokens; the CLIP encoder reads the "
                                                "first %u of them", what, nc, Lc - 2));
  SinopiaTextCache *cache = sinopia_model_text_cache (model);
  gsize n_txt = (gsize) L5 * sinopia_t5_config (sinopia_model_t5 (model))->d_model;
  gsize n_y = sinopia_clip_config (sinopia_model_clip (model))->hidden_size;
  if (!sinopia_text_cache_lookup (cache, SINOPIA_TEXT_CACHE_T5, t5_ids, L5, txt, n_txt)) {
    if (!sinopia_t5_encode (sinopia_model_t5 (model), t5_ids, NULL, L5, txt, NULL, error))
      return FALSE;
    sinopia_text_cache_store (cache, SINOPIA_TEXT_CACHE_T5, t5_ids, L5, txt, n_txt);
  }
  if (y && !sinopia_text_cache_lookup (cache, SINOPIA_TEXT_CACHE_CLIP, clip_ids, Lc, y, n_y)) {
    if (!sinopia_clip_encode (sinopia_model_clip (model), clip_ids, NULL, Lc, NULL, y, NULL, error))
      return FALSE;
    sinopia_text_cache_store (cache, SINOPIA_TEXT_CACHE_CLIP, clip_ids, Lc, y, n_y);
  }
  return TRUE;
}

gboolean
sinopia__generate_encode_pair (SinopiaModel *model, const char *source, const char *prompt, const char *negative,
                               gboolean with_negative, SinopiaPromptPair *pair, GPtrArray *warnings, GError **error)
{
  const SinopiaFluxConfig *fc = sinopia_flux_model_config (sinopia_model_flux (model));
  uint32_t T = sinopia_model_info (model)->t5_max_length, n_axes = fc->n_axes;
  gsize txt = (gsize) T * fc->context_in_dim;
  *pair = (SinopiaPromptPair) {
    .tar_txt = g_new (float, txt), .tar_y = g_new (float, fc->vec_in_dim),
    .txt_ids = g_new0 (float, (gsize) T * n_axes), .n_txt = T,
  };
  if (source) {
    pair->src_txt = g_new (float, txt);
    pair->src_y = g_new (float, fc->vec_in_dim);
  }
  if (with_negative) {
    pair->neg_txt = g_new (float, txt);
    pair->neg_y = g_new (float, fc->vec_in_dim);
  }
  return (!source || sinopia__generate_encode_prompt (model, "source prompt", source, pair->src_txt, pair->src_y,
                                                      warnings, error)) &&
         sinopia__generate_encode_prompt (model, "prompt", prompt, pair->tar_txt, pair->tar_y, warnings, error) &&
         (!with_negative || sinopia__generate_encode_prompt (model, "negative prompt", negative, pair->neg_txt,
                                                             pair->neg_y, warnings, error));
}

void
sinopia__prompt_pair_clear (SinopiaPromptPair *pair)
{
  float *all[] = { pair->src_txt, pair->src_y, pair->tar_txt, pair->tar_y, pair->neg_txt, pair->neg_y, pair->txt_ids };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    g_free (all[i]);
  *pair = (SinopiaPromptPair) { 0 };
}

/* The reference get_schedule with the file's shift line; FLUX's own line (0.5 at 256 tokens,
 * 1.15 at 4096) goes through the sampler's bit-exact version. */
void
sinopia__generate_schedule (const SinopiaModelInfo *info, guint steps, guint n_img, float *ts)
{
  if (!info->shift || (info->base_shift == 0.5 && info->max_shift == 1.15)) {
    sinopia_flux_schedule (steps, n_img, info->shift, ts);
    return;
  }
  double m = (info->max_shift - info->base_shift) / (4096.0 - 256.0), b = info->base_shift - m * 256.0;
  float e = (float) exp (m * n_img + b);
  sinopia_flux_schedule (steps, n_img, FALSE, ts);
  for (guint i = 0; i <= steps; i++)
    if (ts[i] > 0.0f)
      ts[i] = e / (e + (1.0f / ts[i] - 1.0f));
}

gboolean
sinopia__generate_ae_cancelled (gpointer user)
{
  const gint *cancel = user;
  return cancel && g_atomic_int_get (cancel);
}

void
sinopia__generate_map_cancel (GError **error)
{
  if (error && *error &&
      (g_error_matches (*error, SINOPIA_SAMPLER_ERROR, SINOPIA_SAMPLER_ERROR_CANCELLED) ||
       g_error_matches (*error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_CANCELLED))) {
    g_clear_error (error);
    g_set_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_CANCELLED, "Cancelled");
  }
}

static gboolean
check_params (const SinopiaGenerateParams *p, GError **error)
{
  const char *neg = p->negative ? p->negative : "";
  if (!p->prompt || !g_utf8_validate (p->prompt, -1, NULL) || !g_utf8_validate (neg, -1, NULL)) {
    g_set_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT,
                 "The prompt and the negative prompt must be UTF-8 text");
    return FALSE;
  }
  if (p->steps > SINOPIA_MODEL_MAX_STEPS || isinf (p->guidance)) {
    g_set_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT,
                 "Steps must be at most %u and the guidance finite", SINOPIA_MODEL_MAX_STEPS);
    return FALSE;
  }
  return TRUE;
}

/* Regional prompting's part of a request: the regional prompts' T5 tokens and the row bits. */
typedef struct {
  float *txt;          /* [n_entries · T, context_in_dim] */
  uint32_t *bits;      /* [2·n_img + n_entries · T] */
  guint n_entries, steps, double_interval, single_interval;
  float base_ratio;
} Regional;

static void
regional_clear (Regional *r)
{
  g_free (r->txt);
  g_free (r->bits);
}

/* A parameter's value, else the model's, else the reference's. */
static gboolean
resolve_interval (int param, guint model_value, guint n_blocks, const char *what, guint *out, GError **error)
{
  if (param == 0 || param < -1) {
    g_set_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT,
                 "The %s injection interval must be at least 1 (1: the rule in every block)", what);
    return FALSE;
  }
  /* the reference's default when the key is absent: the rule in block 0 only */
  *out = param > 0 ? (guint) param : model_value ? model_value : MAX (n_blocks, 1);
  return TRUE;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Regional, regional_clear)

static gboolean
regional_defaults (SinopiaModel *model, const SinopiaGenerateParams *p, guint steps, Regional *r, GError **error)
{
  const SinopiaModelInfo *info = sinopia_model_info (model);
  const SinopiaFluxConfig *fc = sinopia_flux_model_config (sinopia_model_flux (model));
  r->base_ratio = isnan (p->base_ratio) ? info->regional.base_ratio : p->base_ratio;
  if (!(r->base_ratio >= 0.0f && r->base_ratio <= 1.0f) || p->mask_inject_steps < -1) {
    g_set_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT,
                 "The base ratio must lie in [0, 1] and the injection steps must not be negative");
    return FALSE;
  }
  if (p->mask_inject_steps >= 0)
    r->steps = (guint) p->mask_inject_steps;
  else if (info->regional.mask_inject_steps >= 0)
    r->steps = (guint) info->regional.mask_inject_steps;
  else if (!isnan (info->regional.injection_end))
    r->steps = (guint) lround (info->regional.injection_end * steps);
  else
    r->steps = 5;
  r->steps = MIN (r->steps, steps);
  return resolve_interval (p->double_interval, info->regional.double_interval, fc->depth, "double-block",
                           &r->double_interval, error) &&
         resolve_interval (p->single_interval, info->regional.single_interval, fc->depth_single, "single-block",
                           &r->single_interval, error);
}

/* The regional parameters used: the regions' prompts and rectangles (masks only counted). */
static char *
regional_json (const SinopiaGenerateParams *p, const Regional *r)
{
  GString *s = g_string_new ("{\"name\": \"regional\", \"regions\": [");
  for (guint i = 0; i < p->n_regions; i++) {
    const SinopiaRegion *g = &p->regions[i];
    g_string_append (s, i ? ", {\"prompt\": " : "{\"prompt\": ");
    sinopia_json_append_string (s, g->prompt, -1);
    if (g->mask)
      g_string_append (s, ", \"mask\": true}");
    else
      g_string_append_printf (s, ", \"rect\": [%u, %u, %u, %u]}", g->x, g->y, g->w, g->h);
  }
  g_string_append (s, "], \"background_prompt\": ");
  if (p->background_prompt)
    sinopia_json_append_string (s, p->background_prompt, -1);
  else
    g_string_append (s, "null");
  g_string_append (s, ", \"base_ratio\": ");
  sinopia__json_append_float (s, r->base_ratio);
  g_string_append_printf (s, ", \"mask_inject_steps\": %u, \"double_interval\": %u, \"single_interval\": %u}",
                          r->steps, r->double_interval, r->single_interval);
  return g_string_free (s, FALSE);
}

/* Checks the regions, turns rectangles into masks, finds the token bits and encodes the
 * regional prompts (the regions', then the background's when it is needed). */
static gboolean
prepare_regional (SinopiaModel *model, const SinopiaGenerateParams *p, const SinopiaImage *img, uint32_t patch,
                  GPtrArray *warnings, Regional *r, GError **error)
{
  const SinopiaModelInfo *info = sinopia_model_info (model);
  const SinopiaFluxConfig *fc = sinopia_flux_model_config (sinopia_model_flux (model));
  uint32_t W = img->width, H = img->height, T = info->t5_max_length, n_img = (W / patch) * (H / patch);
  g_autoptr (GPtrArray) owned = g_ptr_array_new_with_free_func (g_free);
  const guint8 *masks[SINOPIA_MAX_REGIONS];

  if (p->n_regions > SINOPIA_MAX_REGIONS || (p->n_regions && !p->regions)) {
    g_set_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT,
                 "%u regions are more than the %u regional prompting takes", p->n_regions, SINOPIA_MAX_REGIONS);
    return FALSE;
  }
  for (guint i = 0; i < p->n_regions; i++) {
    const SinopiaRegion *g = &p->regions[i];
    if (!g->prompt || !g_utf8_validate (g->prompt, -1, NULL) ||
        (p->background_prompt && !g_utf8_validate (p->background_prompt, -1, NULL))) {
      g_set_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT,
                   "Region %u needs a prompt of UTF-8 text (and the background prompt must be UTF-8)", i + 1);
      return FALSE;
    }
    if (g->mask) {
      masks[i] = g->mask;
      continue;
    }
    if (!g->w || !g->h || (uint64_t) g->x + g->w > W || (uint64_t) g->y + g->h > H) {
      g_set_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT,
                   "Region %u (%u,%u %u×%u) must be a non-empty rectangle inside the %u×%u image", i + 1, g->x,
                   g->y, g->w, g->h, W, H);
      return FALSE;
    }
    guint8 *m = g_malloc0 ((gsize) W * H);
    for (uint32_t y = g->y; y < g->y + g->h; y++)
      memset (m + (gsize) y * W + g->x, 1, g->w);
    g_ptr_array_add (owned, m);
    masks[i] = m;
  }
  g_autofree uint32_t *token_bits = g_new (uint32_t, n_img);
  if (!sinopia_regional_token_bits (masks, p->n_regions, W, H, patch, token_bits, &r->n_entries, error))
    return FALSE;
  gsize rows = (gsize) r->n_entries * T;
  r->txt = g_new (float, rows * fc->context_in_dim);
  r->bits = g_new (uint32_t, 2 * (gsize) n_img + rows);
  sinopia_regional_row_bits (token_bits, n_img, r->n_entries, T, r->bits);
  for (guint e = 0; e < r->n_entries; e++) {
    gboolean bg = e == p->n_regions;
    const char *text = bg ? (p->background_prompt ? p->background_prompt : img->prompt) : p->regions[e].prompt;
    g_autofree char *what = bg ? g_strdup ("background prompt") : g_strdup_printf ("prompt of region %u", e + 1);
    float *txt = r->txt + (gsize) e * T * fc->context_in_dim;
    if (!sinopia__generate_encode_prompt (model, what, text, txt, NULL, warnings, error))
      return FALSE;
  }
  return TRUE;
}

gboolean
sinopia__generate_encode_image (SinopiaModel *model, const guint8 *rgb, uint32_t W, uint32_t H, float *latent,
                                const gint *cancel, GError **error)
{
  gsize hw = (gsize) W * H;
  g_autofree float *planes = g_new (float, 3 * hw);
  for (gsize px = 0; px < hw; px++)
    for (guint c = 0; c < 3; c++)
      planes[c * hw + px] = rgb[px * 3 + c] / 127.5f - 1.0f;
  if (sinopia_ae_encode (sinopia_model_ae (model), planes, H, W, NULL, latent, sinopia__generate_ae_cancelled,
                         (gpointer) cancel, error))
    return TRUE;
  sinopia__generate_map_cancel (error);
  return FALSE;
}

gboolean
sinopia_generate_warm_up (SinopiaModel *model, const gint *cancel, GError **error)
{
  SinopiaGenerateParams params;
  sinopia_generate_params_init (&params);
  params.prompt = "";
  params.steps = 1;
  g_autoptr (SinopiaImage) image = sinopia_generate (model, &params, cancel, NULL, NULL, error);
  if (!image)
    return FALSE;
  const SinopiaAeConfig *ac = sinopia_ae_config (sinopia_model_ae (model));
  uint32_t f = sinopia_ae_factor (ac);
  g_autofree float *latent = g_new (float, (gsize) ac->z_channels * (image->height / f) * (image->width / f));
  return sinopia__generate_encode_image (model, image->rgb, image->width, image->height, latent, cancel, error);
}

void
sinopia__generate_to_rgb8 (const float *planes, uint32_t width, uint32_t height, guint8 *rgb)
{
  gsize hw = (gsize) width * height;
  for (gsize p = 0; p < hw; p++)
    for (guint c = 0; c < 3; c++) {
      float x = planes[c * hw + p];
      x = isnan (x) ? -1.0f : CLAMP (x, -1.0f, 1.0f);
      rgb[p * 3 + c] = (guint8) (127.5f * (x + 1.0f));
    }
}

SinopiaImage *
sinopia_generate (SinopiaModel *model, const SinopiaGenerateParams *p, const gint *cancel, SinopiaStepFunc on_step,
                  gpointer user_data, GError **error)
{
  const SinopiaModelInfo *info = sinopia_model_info (model);
  SinopiaFluxModel *flux = sinopia_model_flux (model);
  const SinopiaFluxConfig *fc = sinopia_flux_model_config (flux);
  const SinopiaAeConfig *ac = sinopia_ae_config (sinopia_model_ae (model));
  g_autoptr (SinopiaImage) img = g_new0 (SinopiaImage, 1);
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);

  if (!check_params (p, error))
    return NULL;
  img->width = p->width ? p->width : info->native_width;
  img->height = p->height ? p->height : info->native_height;
  img->steps = p->steps ? p->steps : info->default_steps;
  img->guidance = isnan (p->guidance) ? info->default_guidance : p->guidance;
  img->seed = p->seed;
  img->prompt = g_strdup (p->prompt);
  img->negative = g_strdup (p->negative ? p->negative : "");
  img->model_name = g_strdup (info->name);
  if (!sinopia_generate_check_size (info, img->width, img->height, error))
    return NULL;
  if (fc->n_axes != 3) {
    g_set_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT,
                 "The transformer has %u RoPE axes; image positions need 3", fc->n_axes);
    return NULL;
  }

  uint32_t f = sinopia_ae_factor (ac), C = ac->z_channels, lh = img->height / f, lw = img->width / f;
  uint32_t n_img = (lh / 2) * (lw / 2), L = info->t5_max_length, D = fc->context_in_dim;
  gsize n_latent = (gsize) C * lh * lw;
  gboolean cfg_pass = !fc->guidance_embed && img->guidance != 1.0f;
  if (fc->guidance_embed && img->negative[0])
    g_ptr_array_add (warnings, g_strdup ("The negative prompt is ignored: this model has a guidance embedding "
                                         "(no classifier-free guidance pass)"));

  g_autofree float *txt = g_new (float, (gsize) L * D), *y = g_new (float, fc->vec_in_dim);
  g_autofree float *neg_txt = NULL, *neg_y = NULL;
  g_autofree float *txt_ids = g_new0 (float, (gsize) L * fc->n_axes), *img_ids = g_new (float, (gsize) n_img * 3);
  g_autofree float *ts = g_new (float, img->steps + 1), *t_eval = g_new (float, img->steps);
  g_autofree float *dt = g_new (float, img->steps), *packed = g_new (float, n_latent);
  g_autofree float *planes = g_new (float, (gsize) ac->out_ch * img->width * img->height);
  const SinopiaPreviewMap *map = NULL;

  if (!sinopia__generate_encode_prompt (model, "prompt", img->prompt, txt, y, warnings, error))
    return NULL;
  if (cfg_pass) {
    neg_txt = g_new (float, (gsize) L * D);
    neg_y = g_new (float, fc->vec_in_dim);
    if (!sinopia__generate_encode_prompt (model, "negative prompt", img->negative, neg_txt, neg_y, warnings, error))
      return NULL;
  }
  if (p->preview && !(map = sinopia_model_preview_map (model, error)))
    return NULL;
  g_auto (Regional) regional = { 0 };
  if (p->n_regions && (!regional_defaults (model, p, img->steps, &regional, error) ||
                       !prepare_regional (model, p, img, 2 * f, warnings, &regional, error)))
    return NULL;

  img->latent = g_new (float, n_latent);
  if (p->noise)
    memcpy (img->latent, p->noise, n_latent * sizeof (float));
  else
    sinopia_noise (img->seed, img->latent, n_latent);
  sinopia_flux_pack (img->latent, C, lh, lw, packed);
  sinopia_flux_img_ids (lh, lw, img_ids);
  sinopia__generate_schedule (info, img->steps, n_img, ts);
  sinopia_flux_steps_from_schedule (ts, img->steps, FALSE, t_eval, dt);

  SinopiaSampleRequest req = {
    .model = flux, .txt = txt, .txt_ids = txt_ids, .y = y, .n_txt = L,
    .neg_txt = neg_txt, .neg_txt_ids = txt_ids, .neg_y = neg_y, .n_neg_txt = L,
    .guidance = img->guidance, .neg_model = sinopia_model_negative_flux (model),
    .img_ids = img_ids, .n_img = n_img,
    .t_eval = t_eval, .dt = dt, .n_steps = img->steps, .cancel = cancel,
    .preview = map, .latent_height = lh, .latent_width = lw,
    .regional_steps = regional.steps, .regional_txt = regional.txt, .n_regional_txt = regional.n_entries * L,
    .region_bits = regional.bits, .base_ratio = regional.base_ratio, .bypass = p->bypass,
    .double_interval = regional.double_interval, .single_interval = regional.single_interval,
  };
  if (p->n_regions)
    img->method_json = regional_json (p, &regional);
  if (!sinopia_flux_sample (&req, packed, on_step, user_data, error)) {
    sinopia__generate_map_cancel (error);
    return NULL;
  }
  sinopia_flux_unpack (packed, C, lh, lw, img->latent);
  if (sinopia__generate_ae_cancelled ((gpointer) cancel)) {
    g_set_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_CANCELLED, "Cancelled");
    return NULL;
  }
  if (!sinopia_ae_decode (sinopia_model_ae (model), img->latent, lh, lw, planes, sinopia__generate_ae_cancelled,
                          (gpointer) cancel, error)) {
    sinopia__generate_map_cancel (error);
    return NULL;
  }
  img->rgb = g_new (guint8, (gsize) img->width * img->height * 3);
  sinopia__generate_to_rgb8 (planes, img->width, img->height, img->rgb);
  img->latent_channels = C;
  img->latent_height = lh;
  img->latent_width = lw;
  g_ptr_array_add (warnings, NULL);
  img->warnings = (char **) g_ptr_array_steal (warnings, NULL);
  return g_steal_pointer (&img);
}

void
sinopia__json_append_float (GString *out, float v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE], format[8];
  for (int digits = 1; digits <= 9; digits++) {
    g_snprintf (format, sizeof format, "%%.%dg", digits);
    g_ascii_formatd (buf, sizeof buf, format, v);
    if ((float) g_ascii_strtod (buf, NULL) == v)
      break;
  }
  g_string_append (out, buf);
}

char *
sinopia_image_parameters_json (const SinopiaImage *image)
{
  GString *s = g_string_new ("{\"prompt\": ");
  sinopia_json_append_string (s, image->prompt, -1);
  g_string_append (s, ", \"negative\": ");
  sinopia_json_append_string (s, image->negative, -1);
  g_string_append_printf (s, ", \"seed\": %" G_GUINT64_FORMAT ", \"steps\": %u, \"guidance\": ", image->seed,
                          image->steps);
  sinopia__json_append_float (s, image->guidance);
  g_string_append_printf (s, ", \"width\": %u, \"height\": %u, \"model\": ", image->width, image->height);
  sinopia_json_append_string (s, image->model_name, -1);
  if (image->method_json)
    g_string_append_printf (s, ", \"method\": %s", image->method_json);
  g_string_append_c (s, '}');
  return g_string_free (s, FALSE);
}
