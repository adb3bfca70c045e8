/* sinopia-project.c — the project document and its versioned JSON file. */
#define G_LOG_DOMAIN "sinopia-project"

#include <math.h>
#include <string.h>

#include "sinopia-json.h"
#include "sinopia-mask.h"
#include "sinopia-png.h"
#include "sinopia-project.h"

G_DEFINE_QUARK (sinopia-project-error-quark, sinopia_project_error)

#define FORMAT_NAME "sinopia-project"
/* JSON numbers are doubles: integers up to 2^53 survive a round trip. */
#define MAX_SEED ((int64_t) 1 << 53)

static const char *const mode_names[] = { "generate", "inpaint", "edit" };

const char *
sinopia_mode_to_string (SinopiaMode mode)
{
  return (guint) mode < G_N_ELEMENTS (mode_names) ? mode_names[mode] : NULL;
}

int
sinopia_mode_parse (const char *text)
{
  for (guint i = 0; text && i < G_N_ELEMENTS (mode_names); i++)
    if (!strcmp (text, mode_names[i]))
      return (int) i;
  return -1;
}

void
sinopia_history_item_free (SinopiaHistoryItem *item)
{
  if (!item)
    return;
  g_free (item->rgb);
  g_free (item->parameters);
  g_clear_pointer (&item->png, g_bytes_unref);
  g_free (item);
}

SinopiaProject *
sinopia_project_new (uint32_t width, uint32_t height)
{
  SinopiaProject *project = g_new0 (SinopiaProject, 1);
  project->composition = sinopia_composition_new (width, height);
  project->settings = (SinopiaGenerationSettings) {
    .mode = SINOPIA_MODE_GENERATE,
    .keep_seed = TRUE,
    .guidance = NAN,
    .base_ratio = NAN,
    .mask_inject_steps = -1,
    .double_interval = -1,
    .single_interval = -1,
  };
  project->history = g_ptr_array_new_with_free_func ((GDestroyNotify) sinopia_history_item_free);
  project->shown = -1;
  return project;
}

void
sinopia_project_free (SinopiaProject *project)
{
  if (!project)
    return;
  sinopia_composition_free (project->composition);
  g_free (project->input_rgb);
  g_clear_pointer (&project->input_png, g_bytes_unref);
  g_ptr_array_unref (project->history);
  g_free (project);
}

/* ---- writing ---- */

static void
append_key (GString *out, const char *key)
{
  sinopia_json_append_string (out, key, -1);
  g_string_append_c (out, ':');
}

static void
append_string_member (GString *out, const char *key, const char *value)
{
  append_key (out, key);
  sinopia_json_append_string (out, value, -1);
  g_string_append_c (out, ',');
}

/* Runs of equal inside/outside pixels in row order, starting with an outside run (maybe 0). */
static void
append_mask (GString *out, const guint8 *mask, gsize n)
{
  g_string_append_c (out, '[');
  gboolean inside = FALSE;
  gsize run = 0;
  for (gsize i = 0; i < n; i++)
    {
      if ((mask[i] != 0) != inside)
        {
          g_string_append_printf (out, "%" G_GSIZE_FORMAT ",", run);
          inside = !inside;
          run = 0;
        }
      run++;
    }
  g_string_append_printf (out, "%" G_GSIZE_FORMAT "]", run);
}

static void
append_png_bytes (GString *out, GBytes *png)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (png, &len);
  g_autofree char *b64 = g_base64_encode (data, len);
  g_string_append_printf (out, "\"%s\"", b64);
}

static gboolean
append_png (GString *out, const guint8 *rgb, uint32_t width, uint32_t height, GError **error)
{
  g_autoptr (GBytes) png = sinopia_png_encode_rgb (rgb, width, height, NULL, error);
  if (!png)
    return FALSE;
  append_png_bytes (out, png);
  return TRUE;
}

static void
append_int_or_default (GString *out, const char *key, int value)
{
  append_key (out, key);
  if (value < 0)
    g_string_append (out, "null,");
  else
    g_string_append_printf (out, "%d,", value);
}

static void
append_double_or_default (GString *out, const char *key, double value)
{
  append_key (out, key);
  if (isnan (value))
    g_string_append (out, "null,");
  else
    g_string_append_printf (out, "%.17g,", value);
}

GBytes *
sinopia_project_to_bytes (const SinopiaProject *project, GError **error)
{
  const SinopiaComposition *c = project->composition;
  const SinopiaGenerationSettings *s = &project->settings;
  g_autoptr (GString) out = g_string_new ("{");
  append_string_member (out, "format", FORMAT_NAME);
  g_string_append_printf (out, "\"version\":%d,\"width\":%u,\"height\":%u,", SINOPIA_PROJECT_VERSION, c->width,
                          c->height);
  append_string_member (out, "prompt", c->prompt);
  append_string_member (out, "negative", c->negative);
  append_string_member (out, "source_prompt", c->source_prompt);
  append_string_member (out, "mode", sinopia_mode_to_string (s->mode));

  g_string_append (out, "\"parameters\":{");
  g_string_append_printf (out, "\"steps\":%u,\"seed\":%" G_GUINT64_FORMAT ",\"keep_seed\":%s,", s->steps, s->seed,
                          s->keep_seed ? "true" : "false");
  append_double_or_default (out, "guidance", s->guidance);
  append_double_or_default (out, "base_ratio", s->base_ratio);
  append_int_or_default (out, "mask_inject_steps", s->mask_inject_steps);
  append_int_or_default (out, "double_interval", s->double_interval);
  append_int_or_default (out, "single_interval", s->single_interval);
  g_string_truncate (out, out->len - 1);
  g_string_append (out, "},");

  g_string_append (out, "\"regions\":[");
  for (guint i = 0; i < c->regions->len; i++)
    {
      const SinopiaDocRegion *region = g_ptr_array_index (c->regions, i);
      g_autofree char *colour = sinopia_colour_to_string (region->colour);
      g_string_append (out, i ? ",{" : "{");
      append_string_member (out, "prompt", region->prompt);
      append_string_member (out, "colour", colour);
      g_string_append_printf (out, "\"visible\":%s,\"mask\":", region->visible ? "true" : "false");
      append_mask (out, region->mask, (gsize) c->width * c->height);
      g_string_append_c (out, '}');
    }
  g_string_append (out, "],\"input\":");
  if (project->input_png)
    append_png_bytes (out, project->input_png);
  else if (project->input_rgb)
    {
      if (!append_png (out, project->input_rgb, c->width, c->height, error))
        return NULL;
    }
  else
    g_string_append (out, "null");

  g_string_append (out, ",\"history\":[");
  for (guint i = 0; i < project->history->len; i++)
    {
      const SinopiaHistoryItem *item = g_ptr_array_index (project->history, i);
      g_string_append (out, i ? ",{\"image\":" : "{\"image\":");
      if (item->png)
        append_png_bytes (out, item->png);
      else if (!append_png (out, item->rgb, item->width, item->height, error))
        return NULL;
      g_string_append_c (out, ',');
      append_key (out, "parameters");
      sinopia_json_append_string (out, item->parameters, -1);
      g_string_append_c (out, '}');
    }
  g_string_append_printf (out, "],\"shown\":%d}\n", project->shown);
  return g_string_free_to_bytes (g_steal_pointer (&out));
}

gboolean
sinopia_project_save (const SinopiaProject *project, const char *path, GError **error)
{
  g_autoptr (GBytes) bytes = sinopia_project_to_bytes (project, error);
  if (!bytes)
    return FALSE;
  g_autoptr (GError) local = NULL;
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  if (!g_file_set_contents_full (path, data, (gssize) len, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &local))
    {
      g_set_error (error, SINOPIA_PROJECT_ERROR, SINOPIA_PROJECT_ERROR_IO, "%s", local->message);
      return FALSE;
    }
  return TRUE;
}

/* ---- reading ---- */

typedef struct {
  const char *name;  /* starts every message */
  GError **error;
} Reader;

static gboolean
fail (Reader *reader, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static gboolean
fail (Reader *reader, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (reader->error, SINOPIA_PROJECT_ERROR, SINOPIA_PROJECT_ERROR_INVALID, "%s: %s", reader->name, msg);
  return FALSE;
}

/* Wraps an accessor's error (which names the key) as an INVALID project error. */
static gboolean
fail_from (Reader *reader, const char *where, GError *cause)
{
  gboolean r = fail (reader, "%s%s%s", where ? where : "", where ? ": " : "", cause->message);
  g_error_free (cause);
  return r;
}

static gboolean
get_string (Reader *reader, const SinopiaJsonNode *object, const char *key, const char *where, char **out)
{
  GError *local = NULL;
  const char *value = sinopia_json_get_string (object, key, &local);
  if (!value)
    return fail_from (reader, where, local);
  *out = g_strdup (value);
  return TRUE;
}

/* An integer member that may be null (then -1). */
static gboolean
get_optional_int (Reader *reader, const SinopiaJsonNode *object, const char *key, int max, int *out)
{
  const SinopiaJsonNode *node = sinopia_json_object_get (object, key);
  if (sinopia_json_type (node) == SINOPIA_JSON_NULL)
    {
      *out = -1;
      return TRUE;
    }
  int64_t value;
  GError *local = NULL;
  if (!sinopia_json_get_int64 (object, key, 0, max, &value, &local))
    return fail_from (reader, "parameters", local);
  *out = (int) value;
  return TRUE;
}

/* A number in [0, max], or null for the model's default (NAN). */
static gboolean
get_optional_double (Reader *reader, const SinopiaJsonNode *object, const char *key, double max, double *out)
{
  if (sinopia_json_type (sinopia_json_object_get (object, key)) == SINOPIA_JSON_NULL)
    {
      *out = NAN;
      return TRUE;
    }
  GError *local = NULL;
  if (!sinopia_json_get_double (object, key, out, &local))
    return fail_from (reader, "parameters", local);
  if (!(*out >= 0 && *out <= max))
    return fail (reader, "parameters: %s %g is outside [0, %g]", key, *out, max);
  return TRUE;
}

static gboolean
read_parameters (Reader *reader, const SinopiaJsonNode *node, SinopiaGenerationSettings *s)
{
  GError *local = NULL;
  int64_t steps, seed;
  if (sinopia_json_type (node) != SINOPIA_JSON_OBJECT)
    return fail (reader, "\"parameters\" is %s, not an object", sinopia_json_type_phrase (node));
  if (!sinopia_json_get_int64 (node, "steps", 0, 1000, &steps, &local)
      || !sinopia_json_get_int64 (node, "seed", 0, MAX_SEED, &seed, &local)
      || !sinopia_json_get_bool (node, "keep_seed", &s->keep_seed, &local))
    return fail_from (reader, "parameters", local);
  s->steps = (guint) steps;
  s->seed = (guint64) seed;
  return get_optional_double (reader, node, "base_ratio", 1, &s->base_ratio)
         && get_optional_double (reader, node, "guidance", 100, &s->guidance)
         && get_optional_int (reader, node, "mask_inject_steps", 1000, &s->mask_inject_steps)
         && get_optional_int (reader, node, "double_interval", 1000, &s->double_interval)
         && get_optional_int (reader, node, "single_interval", 1000, &s->single_interval);
}

static gboolean
read_mask (Reader *reader, const SinopiaJsonNode *runs, guint index, uint32_t width, uint32_t height, guint8 **out)
{
  gsize n = (gsize) width * height, total = 0, n_runs = sinopia_json_length (runs);
  if (sinopia_json_type (runs) != SINOPIA_JSON_ARRAY || n_runs == 0)
    return fail (reader, "region %u: \"mask\" is not a non-empty array of runs", index);
  /* The runs are checked to add up to the image before the mask is allocated. */
  g_autofree int64_t *lengths = g_new (int64_t, n_runs);
  for (gsize i = 0; i < n_runs; i++)
    {
      GError *local = NULL;
      if (!sinopia_json_as_int64 (sinopia_json_array_get (runs, i), 0, (int64_t) n, &lengths[i], &local))
        {
          g_autofree char *where = g_strdup_printf ("region %u: mask run %" G_GSIZE_FORMAT, index, i);
          return fail_from (reader, where, local);
        }
      total += (gsize) lengths[i];
      if (total > n)
        break;
    }
  if (total != n)
    return fail (reader, "region %u: the mask's runs do not add up to %u × %u pixels", index, width, height);
  guint8 *mask = g_malloc (n), *p = mask;
  for (gsize i = 0; i < n_runs; i++)
    {
      memset (p, i % 2 ? SINOPIA_MASK_INSIDE : 0, (gsize) lengths[i]);
      p += lengths[i];
    }
  *out = mask;
  return TRUE;
}

static gboolean
read_regions (Reader *reader, const SinopiaJsonNode *node, SinopiaComposition *c)
{
  if (sinopia_json_type (node) != SINOPIA_JSON_ARRAY)
    return fail (reader, "\"regions\" is %s, not an array", sinopia_json_type_phrase (node));
  if (sinopia_json_length (node) > SINOPIA_COMPOSITION_MAX_REGIONS)
    return fail (reader, "more than %d regions", SINOPIA_COMPOSITION_MAX_REGIONS);
  for (guint i = 0; i < sinopia_json_length (node); i++)
    {
      const SinopiaJsonNode *item = sinopia_json_array_get (node, i);
      g_autofree char *where = g_strdup_printf ("region %u", i);
      GError *local = NULL;
      g_autofree char *colour = NULL;
      if (sinopia_json_type (item) != SINOPIA_JSON_OBJECT)
        return fail (reader, "%s is %s, not an object", where, sinopia_json_type_phrase (item));
      SinopiaDocRegion *region = sinopia_composition_add_region (c);
      g_clear_pointer (&region->prompt, g_free);
      g_clear_pointer (&region->mask, g_free);
      if (!get_string (reader, item, "prompt", where, &region->prompt)
          || !get_string (reader, item, "colour", where, &colour))
        return FALSE;
      if (!sinopia_colour_parse (colour, region->colour))
        return fail (reader, "%s: colour \"%s\" is not #rrggbb", where, colour);
      if (!sinopia_json_get_bool (item, "visible", &region->visible, &local))
        return fail_from (reader, where, local);
      if (!read_mask (reader, sinopia_json_object_get (item, "mask"), i, c->width, c->height, &region->mask))
        return FALSE;
    }
  return TRUE;
}

/* A base64 PNG. The expected size when `want_width` > 0; any size up to the maximum otherwise.
 * `png` (may be NULL) receives the file's bytes. */
static gboolean
read_png (Reader *reader, const SinopiaJsonNode *node, const char *where, uint32_t want_width,
          uint32_t want_height, guint8 **rgb, uint32_t *width, uint32_t *height, GBytes **png)
{
  const char *text = sinopia_json_as_string (node, NULL);
  if (!text)
    return fail (reader, "%s is %s, not a base64 PNG string", where, sinopia_json_type_phrase (node));
  gsize len;
  g_autofree guint8 *data = g_base64_decode (text, &len);
  g_autoptr (GError) local = NULL;
  g_autoptr (SinopiaPngImage) image = sinopia_png_decode (data, len, (uint64_t) SINOPIA_PROJECT_MAX_SIDE
                                                                     * SINOPIA_PROJECT_MAX_SIDE, where, &local);
  if (!image)
    return fail (reader, "%s", local->message);
  if (image->width > SINOPIA_PROJECT_MAX_SIDE || image->height > SINOPIA_PROJECT_MAX_SIDE)
    return fail (reader, "%s: %u × %u is larger than %d pixels a side", where, image->width, image->height,
                 SINOPIA_PROJECT_MAX_SIDE);
  if (want_width && (image->width != want_width || image->height != want_height))
    return fail (reader, "%s is %u × %u, the project %u × %u", where, image->width, image->height, want_width,
                 want_height);
  *rgb = sinopia_png_image_to_rgb (image, NULL);
  *width = image->width;
  *height = image->height;
  if (png)
    *png = g_bytes_new_take (g_steal_pointer (&data), len);
  return TRUE;
}

static gboolean
read_history (Reader *reader, const SinopiaJsonNode *node, SinopiaProject *project)
{
  if (sinopia_json_type (node) != SINOPIA_JSON_ARRAY)
    return fail (reader, "\"history\" is %s, not an array", sinopia_json_type_phrase (node));
  if (sinopia_json_length (node) > SINOPIA_PROJECT_MAX_HISTORY)
    return fail (reader, "more than %d history entries", SINOPIA_PROJECT_MAX_HISTORY);
  for (guint i = 0; i < sinopia_json_length (node); i++)
    {
      const SinopiaJsonNode *entry = sinopia_json_array_get (node, i);
      g_autofree char *where = g_strdup_printf ("history %u", i);
      SinopiaHistoryItem *item = g_new0 (SinopiaHistoryItem, 1);
      g_ptr_array_add (project->history, item);
      if (sinopia_json_type (entry) != SINOPIA_JSON_OBJECT)
        return fail (reader, "%s is %s, not an object", where, sinopia_json_type_phrase (entry));
      if (!get_string (reader, entry, "parameters", where, &item->parameters))
        return FALSE;
      if (!read_png (reader, sinopia_json_object_get (entry, "image"), where, 0, 0, &item->rgb, &item->width,
                     &item->height, &item->png))
        return FALSE;
    }
  return TRUE;
}

SinopiaProject *
sinopia_project_from_bytes (const char *data, gsize len, const char *name, GError **error)
{
  Reader reader = { name ? name : "project", error };
  GError *local = NULL;
  g_autoptr (SinopiaJson) doc = sinopia_json_parse (data, len, &local);
  if (!doc)
    {
      fail_from (&reader, "not a Sinopia project", local);
      return NULL;
    }
  const SinopiaJsonNode *root = sinopia_json_root (doc);
  const char *format = sinopia_json_as_string (sinopia_json_object_get (root, "format"), NULL);
  if (!format || strcmp (format, FORMAT_NAME))
    {
      fail (&reader, "not a Sinopia project (no \"format\": \"" FORMAT_NAME "\")");
      return NULL;
    }
  int64_t version, width, height, shown;
  if (!sinopia_json_get_int64 (root, "version", 1, G_MAXINT32, &version, &local))
    {
      fail_from (&reader, NULL, local);
      return NULL;
    }
  if (version > SINOPIA_PROJECT_VERSION)
    {
      g_set_error (error, SINOPIA_PROJECT_ERROR, SINOPIA_PROJECT_ERROR_VERSION,
                   "%s: project version %" G_GINT64_FORMAT " was written by a newer Sinopia (this one reads "
                   "version %d); update Sinopia to open it", reader.name, version, SINOPIA_PROJECT_VERSION);
      return NULL;
    }
  if (!sinopia_json_get_int64 (root, "width", 1, SINOPIA_PROJECT_MAX_SIDE, &width, &local)
      || !sinopia_json_get_int64 (root, "height", 1, SINOPIA_PROJECT_MAX_SIDE, &height, &local)
      || !sinopia_json_get_int64 (root, "shown", -1, SINOPIA_PROJECT_MAX_HISTORY - 1, &shown, &local))
    {
      fail_from (&reader, NULL, local);
      return NULL;
    }
  g_autoptr (SinopiaProject) project = sinopia_project_new ((uint32_t) width, (uint32_t) height);
  SinopiaComposition *c = project->composition;
  g_clear_pointer (&c->prompt, g_free);
  g_clear_pointer (&c->negative, g_free);
  g_clear_pointer (&c->source_prompt, g_free);
  g_autofree char *mode = NULL;
  if (!get_string (&reader, root, "prompt", NULL, &c->prompt)
      || !get_string (&reader, root, "negative", NULL, &c->negative)
      || !get_string (&reader, root, "source_prompt", NULL, &c->source_prompt)
      || !get_string (&reader, root, "mode", NULL, &mode))
    return NULL;
  int m = sinopia_mode_parse (mode);
  if (m < 0)
    {
      fail (&reader, "mode \"%s\" is not generate, inpaint or edit", mode);
      return NULL;
    }
  project->settings.mode = (SinopiaMode) m;
  if (!read_parameters (&reader, sinopia_json_object_get (root, "parameters"), &project->settings)
      || !read_regions (&reader, sinopia_json_object_get (root, "regions"), c))
    return NULL;
  const SinopiaJsonNode *input = sinopia_json_object_get (root, "input");
  uint32_t w, h;
  if (sinopia_json_type (input) != SINOPIA_JSON_NULL
      && !read_png (&reader, input, "input", c->width, c->height, &project->input_rgb, &w, &h,
                    &project->input_png))
    return NULL;
  if (!read_history (&reader, sinopia_json_object_get (root, "history"), project))
    return NULL;
  if (shown >= (int64_t) project->history->len)
    {
      fail (&reader, "\"shown\" %" G_GINT64_FORMAT " is not a history entry", shown);
      return NULL;
    }
  project->shown = (int) shown;
  return g_steal_pointer (&project);
}

SinopiaProject *
sinopia_project_load (const char *path, GError **error)
{
  g_autofree char *name = g_filename_display_basename (path);
  g_autofree char *data = NULL;
  gsize len;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (path, &data, &len, &local))
    {
      g_set_error (error, SINOPIA_PROJECT_ERROR, SINOPIA_PROJECT_ERROR_IO, "%s", local->message);
      return NULL;
    }
  return sinopia_project_from_bytes (data, len, name, error);
}

char *
sinopia_composition_regions_json (const SinopiaComposition *composition)
{
  g_autoptr (GString) out = g_string_new ("[");
  for (guint i = 0; i < composition->regions->len; i++)
    {
      const SinopiaDocRegion *region = g_ptr_array_index (composition->regions, i);
      uint32_t box[4];
      if (!region->visible || !sinopia_mask_bounds (region->mask, composition->width, composition->height, box))
        continue;
      g_autofree char *colour = sinopia_colour_to_string (region->colour);
      g_string_append (out, out->len > 1 ? ",{" : "{");
      append_string_member (out, "prompt", region->prompt);
      append_string_member (out, "colour", colour);
      g_string_append_printf (out, "\"box\":[%u,%u,%u,%u]}", box[0], box[1], box[2], box[3]);
    }
  g_string_append_c (out, ']');
  return g_string_free (g_steal_pointer (&out), FALSE);
}
