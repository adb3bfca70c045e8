/* sinopia-model-info.c — the sinopia-model.json parser. */
#define G_LOG_DOMAIN "sinopia-engine"

#include <math.h>
#include <string.h>

#include "sinopia-model-info.h"

G_DEFINE_QUARK (sinopia-model-error-quark, sinopia_model_error)

static gboolean
opt_int (const SinopiaJsonNode *obj, const char *key, int64_t min, int64_t max, int64_t *out, GError **error)
{
  return !sinopia_json_object_get (obj, key) || sinopia_json_get_int64 (obj, key, min, max, out, error);
}

static gboolean
opt_double (const SinopiaJsonNode *obj, const char *key, double *out, GError **error)
{
  if (!sinopia_json_object_get (obj, key))
    return TRUE;
  if (!sinopia_json_get_double (obj, key, out, error))
    return FALSE;
  /* the parser rejects overflowing literals, so every number is finite; keep it explicit */
  if (!isfinite (*out)) {
    g_set_error (error, SINOPIA_JSON_ERROR, SINOPIA_JSON_ERROR_RANGE, "%s is not finite", key);
    return FALSE;
  }
  return TRUE;
}

static gboolean
opt_string (const SinopiaJsonNode *obj, const char *key, char **out, GError **error)
{
  if (!sinopia_json_object_get (obj, key))
    return TRUE;
  const char *s = sinopia_json_get_string (obj, key, error);
  if (!s)
    return FALSE;
  g_free (*out);
  *out = g_strdup (s);
  return TRUE;
}

static gboolean
check (gboolean ok, GError **error, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static gboolean
check (gboolean ok, GError **error, const char *fmt, ...)
{
  if (!ok) {
    va_list ap;
    va_start (ap, fmt);
    g_autofree char *msg = g_strdup_vprintf (fmt, ap);
    va_end (ap);
    g_set_error_literal (error, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_INFO, msg);
  }
  return ok;
}

static gboolean
parse_tokens (const SinopiaJsonNode *tokens, SinopiaModelInfo *info, GError **error)
{
  static const char *const keys[] = { "pad", "eos", "unk", "bos" };
  int32_t *ids[] = { &info->pad_id, &info->eos_id, &info->unk_id, &info->bos_id };
  if (!tokens)
    return TRUE;
  if (!check (sinopia_json_type (tokens) == SINOPIA_JSON_OBJECT, error, "tokens is %s, not an object",
              sinopia_json_type_phrase (tokens)))
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++) {
    int64_t v = *ids[i];
    if (!opt_int (tokens, keys[i], 0, G_MAXINT32, &v, error)) {
      g_prefix_error (error, "tokens: ");
      return FALSE;
    }
    *ids[i] = (int32_t) v;
  }
  return TRUE;
}

/* An interval key, or "<blocks>": "all" (every block); index lists under <blocks> are not read
 * (this engine applies the rule on an interval, as the reference does). */
static gboolean
parse_interval (const SinopiaJsonNode *sec, const char *key, const char *blocks, guint *out, GError **error)
{
  int64_t v = *out;
  const SinopiaJsonNode *all = sinopia_json_object_get (sec, blocks);
  if (all && sinopia_json_type (all) == SINOPIA_JSON_STRING) {
    const char *s = sinopia_json_get_string (sec, blocks, error);
    if (!s || !check (strcmp (s, "all") == 0, error, "%s is \"%s\", not \"all\"", blocks, s))
      return FALSE;
    v = 1;
  }
  if (!opt_int (sec, key, 1, G_MAXINT32, &v, error))
    return FALSE;
  *out = (guint) v;
  return TRUE;
}

/* An editing method's section (present) must be an object; the caller names the section. */
static gboolean
is_section (const SinopiaJsonNode *sec, GError **error)
{
  return check (sinopia_json_type (sec) == SINOPIA_JSON_OBJECT, error, "the section is %s, not an object",
                sinopia_json_type_phrase (sec));
}

static gboolean
parse_regional (const SinopiaJsonNode *sec, SinopiaModelInfo *info, GError **error)
{
  double ratio = info->regional.base_ratio, end = NAN;
  int64_t steps = -1;
  if (!sec)
    return TRUE;
  if (!is_section (sec, error) ||
      !opt_double (sec, "base_ratio", &ratio, error) ||
      !check (ratio >= 0 && ratio <= 1, error, "base_ratio %g is outside [0, 1]", ratio) ||
      !opt_int (sec, "mask_inject_steps", 0, SINOPIA_MODEL_MAX_STEPS, &steps, error) ||
      !opt_double (sec, "injection_end", &end, error) ||
      !check (isnan (end) || (end >= 0 && end <= 1), error,
              "injection_end %g is outside [0, 1]", end) ||
      !parse_interval (sec, "double_interval", "double_blocks", &info->regional.double_interval, error) ||
      !parse_interval (sec, "single_interval", "single_blocks", &info->regional.single_interval, error)) {
    g_prefix_error (error, "regional_prompting: ");
    return FALSE;
  }
  info->regional.base_ratio = (float) ratio;
  info->regional.mask_inject_steps = (int) steps;
  info->regional.injection_end = end;
  return TRUE;
}

/* An optional finite float ≥ 0 of a section; `out` unchanged when absent. */
static gboolean
opt_non_negative (const SinopiaJsonNode *sec, const char *key, float *out, GError **error)
{
  double v = *out;
  if (!opt_double (sec, key, &v, error) ||
      !check (isnan (v) || (v >= 0 && v <= G_MAXFLOAT), error, "%s %g is out of range", key, v))
    return FALSE;
  *out = (float) v;
  return TRUE;
}

static gboolean
parse_kv_edit (const SinopiaJsonNode *sec, SinopiaModelInfo *info, GError **error)
{
  int64_t skip = -1;
  gboolean reinit = FALSE;
  if (!sec)
    return TRUE;
  if (!is_section (sec, error) ||
      !opt_int (sec, "skip_steps", 0, SINOPIA_MODEL_MAX_STEPS, &skip, error) ||
      !opt_non_negative (sec, "inversion_guidance", &info->kv_edit.inversion_guidance, error) ||
      !opt_non_negative (sec, "denoise_guidance", &info->kv_edit.denoise_guidance, error) ||
      !opt_non_negative (sec, "attn_scale", &info->kv_edit.attn_scale, error) ||
      (sinopia_json_object_get (sec, "reinit_noise") && !sinopia_json_get_bool (sec, "reinit_noise", &reinit, error))) {
    g_prefix_error (error, "kv_edit: ");
    return FALSE;
  }
  info->kv_edit.skip_steps = (int) skip;
  if (sinopia_json_object_get (sec, "reinit_noise"))
    info->kv_edit.reinit = reinit;
  return TRUE;
}

static gboolean
parse_stable_flow (const SinopiaJsonNode *sec, SinopiaModelInfo *info, GError **error)
{
  int64_t steps = 0;
  if (!sec)
    return TRUE;
  if (!is_section (sec, error) ||
      !opt_int (sec, "generated_steps", 1, SINOPIA_MODEL_MAX_STEPS, &steps, error)) {
    g_prefix_error (error, "stable_flow: ");
    return FALSE;
  }
  info->stable_flow.generated_steps = (guint) steps;
  return TRUE;
}

/* An optional array of block indices under `key`. */
static gboolean
index_list (const SinopiaJsonNode *sec, const char *key, guint **out, guint *n, GError **error)
{
  const SinopiaJsonNode *list = sinopia_json_object_get (sec, key);
  if (!list)
    return TRUE;
  if (!check (sinopia_json_type (list) == SINOPIA_JSON_ARRAY, error, "%s is %s, not a list of layer indices", key,
              sinopia_json_type_phrase (list)))
    return FALSE;
  *n = (guint) sinopia_json_length (list);
  *out = g_new (guint, MAX (*n, 1));
  for (guint i = 0; i < *n; i++) {
    int64_t v;
    if (!sinopia_json_as_int64 (sinopia_json_array_get (list, i), 0, 65535, &v, error)) {
      g_prefix_error (error, "%s[%u]: ", key, i);
      return FALSE;
    }
    (*out)[i] = (guint) v;
  }
  return TRUE;
}

static gboolean
parse_vital (const SinopiaJsonNode *sec, SinopiaModelInfo *info, GError **error)
{
  if (!sec)
    return TRUE;
  if (!is_section (sec, error) ||
      !index_list (sec, "layers", &info->vital.layers, &info->vital.n_layers, error) ||
      !index_list (sec, "double_blocks", &info->vital.doubles, &info->vital.n_doubles, error) ||
      !index_list (sec, "single_blocks", &info->vital.singles, &info->vital.n_singles, error)) {
    g_prefix_error (error, "vital_layers: ");
    return FALSE;
  }
  return TRUE;
}

static gboolean
parse_root (const SinopiaJsonNode *root, SinopiaModelInfo *info, GError **error)
{
  int64_t version = SINOPIA_MODEL_INFO_VERSION, native = 128, width, height, multiple = 16, steps = 20;
  int64_t text = 32, t5, clip;
  double guidance = 4.0;

  if (!check (sinopia_json_type (root) == SINOPIA_JSON_OBJECT, error, "the file holds %s, not an object",
              sinopia_json_type_phrase (root)))
    return FALSE;
  if (sinopia_json_object_get (root, "format")) {
    const char *format = sinopia_json_get_string (root, "format", error);
    if (!format || !check (strcmp (format, "sinopia-model") == 0, error,
                           "format is \"%s\", not \"sinopia-model\"", format))
      return FALSE;
  }
  if (!opt_int (root, "format_version", 1, G_MAXINT32, &version, error) ||
      !check (version <= SINOPIA_MODEL_INFO_VERSION, error,
              "format_version %" G_GINT64_FORMAT " is newer than this Sinopia reads (%d)", version,
              SINOPIA_MODEL_INFO_VERSION))
    return FALSE;
  if (!opt_string (root, "name", &info->name, error) ||
      !opt_string (root, "description", &info->description, error) ||
      !opt_string (root, "architecture", &info->architecture, error) ||
      !opt_string (root, "license", &info->license, error))
    return FALSE;

  if (!opt_int (root, "native_size", 1, SINOPIA_MODEL_MAX_SIDE, &native, error))
    return FALSE;
  width = height = native;
  if (!opt_int (root, "native_width", 1, SINOPIA_MODEL_MAX_SIDE, &width, error) ||
      !opt_int (root, "native_height", 1, SINOPIA_MODEL_MAX_SIDE, &height, error) ||
      !opt_int (root, "size_multiple", 1, SINOPIA_MODEL_MAX_SIDE, &multiple, error))
    return FALSE;
  /* packing takes 2×2 latent patches, so a valid size is always even */
  if (!check (multiple % 2 == 0, error, "size_multiple %" G_GINT64_FORMAT " is odd", multiple) ||
      !check (width % multiple == 0 && height % multiple == 0, error,
              "the native size %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT " is not a multiple of size_multiple %"
              G_GINT64_FORMAT, width, height, multiple))
    return FALSE;

  if (!opt_int (root, "default_steps", 1, SINOPIA_MODEL_MAX_STEPS, &steps, error) ||
      !opt_double (root, "default_guidance", &guidance, error) ||
      !check (guidance >= 0 && guidance <= G_MAXFLOAT, error, "default_guidance %g is out of range", guidance))
    return FALSE;
  if (sinopia_json_object_get (root, "guidance_mode")) {
    const char *mode = sinopia_json_get_string (root, "guidance_mode", error);
    if (!mode)
      return FALSE;
    if (strcmp (mode, "cfg") == 0)
      info->guidance_mode = SINOPIA_GUIDANCE_CFG;
    else if (strcmp (mode, "embedded") == 0)
      info->guidance_mode = SINOPIA_GUIDANCE_EMBEDDED;
    else
      return check (FALSE, error, "guidance_mode is \"%s\", not \"cfg\" or \"embedded\"", mode);
  }
  if ((sinopia_json_object_get (root, "shift") && !sinopia_json_get_bool (root, "shift", &info->shift, error)) ||
      !opt_double (root, "base_shift", &info->base_shift, error) ||
      !opt_double (root, "max_shift", &info->max_shift, error) ||
      !check (fabs (info->base_shift) <= 100 && fabs (info->max_shift) <= 100, error,
              "base_shift and max_shift must lie in [-100, 100]"))
    return FALSE;

  if (!opt_int (root, "text_max_length", 2, SINOPIA_MODEL_MAX_TEXT_LENGTH, &text, error))
    return FALSE;
  t5 = clip = text;
  if (!opt_int (root, "t5_max_length", 2, SINOPIA_MODEL_MAX_TEXT_LENGTH, &t5, error) ||
      !opt_int (root, "clip_max_length", 2, SINOPIA_MODEL_MAX_TEXT_LENGTH, &clip, error) ||
      !parse_tokens (sinopia_json_object_get (root, "tokens"), info, error) ||
      !parse_regional (sinopia_json_object_get (root, "regional_prompting"), info, error) ||
      !parse_kv_edit (sinopia_json_object_get (root, "kv_edit"), info, error) ||
      !parse_stable_flow (sinopia_json_object_get (root, "stable_flow"), info, error) ||
      !parse_vital (sinopia_json_object_get (root, "vital_layers"), info, error))
    return FALSE;

  info->native_width = (uint32_t) width;
  info->native_height = (uint32_t) height;
  info->size_multiple = (uint32_t) multiple;
  info->default_steps = (guint) steps;
  info->default_guidance = (float) guidance;
  info->t5_max_length = (uint32_t) t5;
  info->clip_max_length = (uint32_t) clip;
  return TRUE;
}

SinopiaModelInfo *
sinopia_model_info_parse (const char *data, gsize len, const char *name, GError **error)
{
  g_autoptr (SinopiaModelInfo) info = g_new0 (SinopiaModelInfo, 1);
  g_autoptr (GError) local = NULL;

  info->shift = TRUE;
  info->base_shift = 0.5;
  info->max_shift = 1.15;
  info->pad_id = 0;
  info->eos_id = 1;
  info->unk_id = 2;
  info->bos_id = 3;
  info->regional.base_ratio = 0.3f;
  info->regional.mask_inject_steps = -1;
  info->regional.injection_end = NAN;
  info->kv_edit.skip_steps = info->kv_edit.reinit = -1;
  info->kv_edit.inversion_guidance = info->kv_edit.denoise_guidance = info->kv_edit.attn_scale = NAN;
  if (!(info->doc = sinopia_json_parse (data, len, &local)) ||
      !parse_root (sinopia_json_root (info->doc), info, &local)) {
    g_set_error (error, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_INFO, "%s: %s", name, local->message);
    return NULL;
  }
  return g_steal_pointer (&info);
}

SinopiaModelInfo *
sinopia_model_info_load (const char *path, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autofree char *data = NULL;
  gsize len;
  if (!g_file_get_contents (path, &data, &len, &local)) {
    gboolean missing = g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT);
    g_set_error (error, SINOPIA_MODEL_ERROR, missing ? SINOPIA_MODEL_ERROR_MISSING : SINOPIA_MODEL_ERROR_INFO,
                 missing ? "%s is missing (the model's name, native size and sampling defaults)" : "%s",
                 missing ? path : local->message);
    return NULL;
  }
  return sinopia_model_info_parse (data, len, path, error);
}

void
sinopia_model_info_free (SinopiaModelInfo *info)
{
  if (!info)
    return;
  g_free (info->name);
  g_free (info->description);
  g_free (info->architecture);
  g_free (info->license);
  g_free (info->vital.layers);
  g_free (info->vital.doubles);
  g_free (info->vital.singles);
  sinopia_json_free (info->doc);
  g_free (info);
}

const SinopiaJsonNode *
sinopia_model_info_section (const SinopiaModelInfo *info, const char *key)
{
  return sinopia_json_object_get (sinopia_json_root (info->doc), key);
}
