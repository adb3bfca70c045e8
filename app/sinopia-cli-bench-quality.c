/* sinopia-cli-bench-quality.c — `bench quality`: generates the captions of shapes-world evaluation
 * sets with a model and scores the pixels with the analyzer (background, colour+position, shape,
 * the held-out combinations apart) and the seconds per image. */
#define G_LOG_DOMAIN "sinopia-cli"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sinopia-analyze.h"
#include "sinopia-cli.h"
#include "sinopia-generate.h"
#include "sinopia-job.h"
#include "sinopia-json.h"
#include "sinopia-png.h"

/* The measurement: 20 steps whatever the model's default. */
#define DEFAULT_STEPS 20

typedef struct {
  guint line;           /* 1-based, for messages and file names */
  char *caption;
  guint64 seed;
  SinopiaScene *scene;
  gboolean *held_out;   /* per scene object */
} EvalCase;

typedef struct {
  guint ok, n;
} Count;

typedef struct {
  char *name;           /* the file's name without .jsonl */
  GPtrArray *cases;     /* EvalCase */
  gboolean has_held_out;
  /* the score so far */
  Count background, place, shape, held_place, held_shape;
  guint images;
  double seconds;
} EvalSet;

typedef struct {
  SinopiaModel *model;
  GPtrArray *sets;      /* EvalSet */
  guint steps;
  float guidance;
  const char *save_dir;
  gboolean tty;
} Bench;

static void
eval_case_free (gpointer data)
{
  EvalCase *c = data;
  g_free (c->caption);
  sinopia_scene_free (c->scene);
  g_free (c->held_out);
  g_free (c);
}

static void
eval_set_free (gpointer data)
{
  EvalSet *s = data;
  g_free (s->name);
  g_ptr_array_unref (s->cases);
  g_free (s);
}

static int
usage (const char *fmt, ...) G_GNUC_PRINTF (1, 2);

static int
usage (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  fprintf (stderr, "sinopia-cli bench quality: %s\nTry 'sinopia-cli bench quality --help'.\n", msg);
  return CLI_USAGE;
}

/* The combinations kept out of training (docs/shapes-world.md), for scene lines that do not
 * mark their objects. */
static gboolean
held_out_combination (const SinopiaSceneObject *o)
{
  return (o->colour == SINOPIA_COLOUR_PURPLE && o->shape == SINOPIA_SHAPE_TRIANGLE) ||
         (o->colour == SINOPIA_COLOUR_ORANGE && o->shape == SINOPIA_SHAPE_RING) ||
         (o->colour == SINOPIA_COLOUR_CYAN && o->shape == SINOPIA_SHAPE_STAR);
}

/* One line of an evaluation set: the scene, the canonical caption (else `caption`), `sample_seed`
 * and the objects' `held_out` marks. */
static EvalCase *
parse_case (const char *text, gsize len, guint line, GError **error)
{
  g_autoptr (SinopiaJson) doc = sinopia_json_parse (text, len, error);
  if (!doc)
    return NULL;
  const SinopiaJsonNode *root = sinopia_json_root (doc);
  const SinopiaJsonNode *caption = sinopia_json_object_get (root, "canonical_caption");
  if (!caption)
    caption = sinopia_json_object_get (root, "caption");
  const char *caption_text = sinopia_json_as_string (caption, NULL);
  if (!caption_text) {
    g_set_error (error, SINOPIA_SCENE_ERROR, SINOPIA_SCENE_ERROR_INVALID,
                 "no canonical_caption or caption string");
    return NULL;
  }
  int64_t seed = 0;
  if (!sinopia_json_get_int64 (root, "sample_seed", 0, G_MAXINT64, &seed, error))
    return NULL;
  g_autoptr (SinopiaScene) scene = sinopia_scene_parse (text, len, error);
  if (!scene)
    return NULL;

  EvalCase *c = g_new0 (EvalCase, 1);
  c->line = line;
  c->caption = g_strdup (caption_text);
  c->seed = (guint64) seed;
  c->held_out = g_new0 (gboolean, scene->n_objects ? scene->n_objects : 1);
  const SinopiaJsonNode *objects = sinopia_json_object_get (root, "objects");
  for (guint i = 0; i < scene->n_objects; i++) {
    const SinopiaJsonNode *mark = sinopia_json_object_get (sinopia_json_array_get (objects, i), "held_out");
    if (!mark || !sinopia_json_as_bool (mark, &c->held_out[i], NULL))
      c->held_out[i] = held_out_combination (&scene->objects[i]);
  }
  c->scene = g_steal_pointer (&scene);
  return c;
}

static EvalSet *
load_set (const char *path, int limit, GError **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &text, &len, error))
    return NULL;
  g_autofree char *base = g_path_get_basename (path);
  EvalSet *set = g_new0 (EvalSet, 1);
  set->name = g_str_has_suffix (base, ".jsonl") ? g_strndup (base, strlen (base) - 6) : g_strdup (base);
  set->cases = g_ptr_array_new_with_free_func (eval_case_free);
  guint line = 0;
  for (const char *p = text, *end = text + len; p < end && (limit < 0 || set->cases->len < (guint) limit);) {
    const char *nl = memchr (p, '\n', end - p);
    const char *stop = nl ? nl : end;
    line++;
    gboolean blank = TRUE;
    for (const char *q = p; q < stop && blank; q++)
      blank = g_ascii_isspace (*q);
    if (!blank) {
      g_autoptr (GError) local = NULL;
      EvalCase *c = parse_case (p, stop - p, line, &local);
      if (!c) {
        g_autofree char *shown = g_filename_display_name (path);
        g_set_error (error, SINOPIA_SCENE_ERROR, SINOPIA_SCENE_ERROR_INVALID, "%s:%u: %s", shown, line,
                     local->message);
        eval_set_free (set);
        return NULL;
      }
      for (guint i = 0; i < c->scene->n_objects; i++)
        set->has_held_out |= c->held_out[i];
      g_ptr_array_add (set->cases, c);
    }
    p = stop + 1;
  }
  if (set->cases->len == 0) {
    g_autofree char *shown = g_filename_display_name (path);
    g_set_error (error, SINOPIA_SCENE_ERROR, SINOPIA_SCENE_ERROR_INVALID, "%s: no scenes", shown);
    eval_set_free (set);
    return NULL;
  }
  return set;
}

static void
count (Count *c, gboolean ok)
{
  c->n++;
  c->ok += ok != FALSE;
}

static void
append_count (GString *out, const char *sep, const char *what, Count c)
{
  if (c.n)
    g_string_append_printf (out, "%s%s %.1f%% (%u/%u)", sep, what, 100.0 * c.ok / c.n, c.ok, c.n);
  else
    g_string_append_printf (out, "%s%s n/a (0/0)", sep, what);
}

/* The set's figures on stdout; `cancelled` marks a set cut short. */
static void
print_set (const Bench *b, const EvalSet *s, gboolean cancelled)
{
  g_autoptr (GString) out = g_string_new (NULL);
  g_string_append_printf (out, "quality %s:", s->name);
  append_count (out, " ", "background", s->background);
  append_count (out, "  ", "colour+position", s->place);
  append_count (out, "  ", "shape", s->shape);
  g_string_append_printf (out, "  %.2f s/image (%u images, %u steps)", s->images ? s->seconds / s->images : 0.0,
                          s->images, b->steps);
  if (cancelled)
    g_string_append_printf (out, "  PARTIAL: cancelled after %u of %u", s->images, s->cases->len);
  if (s->has_held_out) {
    g_string_append_printf (out, "\nquality %s [held-out combinations]:", s->name);
    append_count (out, " ", "colour+position", s->held_place);
    append_count (out, "  ", "shape", s->held_shape);
  }
  printf ("%s\n", out->str);
  fflush (stdout);
}

static gboolean
save_case (const Bench *b, const EvalSet *s, const EvalCase *c, const SinopiaImage *image,
           const SinopiaAnalysis *analysis, GError **error)
{
  g_autofree char *stem = g_strdup_printf ("%s-%04u", s->name, c->line);
  g_autofree char *png = g_strdup_printf ("%s/%s.png", b->save_dir, stem);
  g_autofree char *json_path = g_strdup_printf ("%s/%s.analysis.json", b->save_dir, stem);
  g_autofree char *params = sinopia_image_parameters_json (image);
  g_autofree char *json = sinopia_analysis_to_json (analysis);
  const char *texts[] = { "parameters", params, "Software", "Sinopia " PACKAGE_VERSION, NULL };
  return sinopia_png_save_rgb (png, image->rgb, image->width, image->height, texts, error) &&
         g_file_set_contents (json_path, json, -1, error);
}

/* One image: generate, analyze, score. FALSE with the error (a cancel included). */
static gboolean
run_case (Bench *b, EvalSet *s, const EvalCase *c, guint index, const gint *cancel, GError **error)
{
  SinopiaGenerateParams p;
  sinopia_generate_params_init (&p);
  p.prompt = c->caption;
  p.seed = c->seed;
  p.steps = b->steps;
  p.guidance = b->guidance;
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr (SinopiaImage) image = sinopia_generate (b->model, &p, cancel, NULL, NULL, error);
  if (!image)
    return FALSE;
  g_autoptr (SinopiaAnalysis) a = sinopia_analyze (image->rgb, image->width, image->height, c->scene, error);
  if (!a)
    return FALSE;
  double seconds = (g_get_monotonic_time () - t0) / 1e6;
  guint placed = 0, shaped = 0;
  if (a->expected_background >= 0)
    count (&s->background, a->background_ok);
  for (guint i = 0; i < a->n_objects; i++) {
    const SinopiaObjectResult *o = &a->objects[i];
    count (&s->place, o->found);
    count (&s->shape, o->shape_ok);
    if (c->held_out[i]) {
      count (&s->held_place, o->found);
      count (&s->held_shape, o->shape_ok);
    }
    placed += o->found != FALSE;
    shaped += o->shape_ok != FALSE;
  }
  s->images++;
  s->seconds += seconds;
  fprintf (stderr, "%s[%s %u/%u] %.2f s  background %s  placed %u/%u  shapes %u/%u  %s%s", b->tty ? "\r\033[K" : "",
           s->name, index + 1, s->cases->len, seconds, a->background_ok ? "ok" : "WRONG", placed, a->n_objects,
           shaped, a->n_objects, c->caption, b->tty ? "" : "\n");
  return !b->save_dir || save_case (b, s, c, image, a, error);
}

static gboolean
run_bench (gpointer data, const gint *cancel, GError **error)
{
  Bench *b = data;
  /* One untimed 1-step image first creates every pipeline, so that the seconds per image are
   * those of a warm process. */
  const EvalCase *first = g_ptr_array_index (((EvalSet *) g_ptr_array_index (b->sets, 0))->cases, 0);
  SinopiaGenerateParams p;
  sinopia_generate_params_init (&p);
  p.prompt = first->caption;
  p.steps = 1;
  p.guidance = b->guidance;
  gint64 t0 = g_get_monotonic_time ();
  SinopiaImage *warm_up = sinopia_generate (b->model, &p, cancel, NULL, NULL, error);
  gboolean ok = warm_up != NULL;
  sinopia_image_free (warm_up);
  if (ok)
    fprintf (stderr, "sinopia-cli: warm-up image (pipeline creation) %.1f s\n", (g_get_monotonic_time () - t0) / 1e6);
  for (guint si = 0; si < b->sets->len && ok; si++) {
    EvalSet *s = g_ptr_array_index (b->sets, si);
    for (guint i = 0; i < s->cases->len && ok; i++)
      ok = run_case (b, s, g_ptr_array_index (s->cases, i), i, cancel, error);
    if (b->tty)
      fputc ('\n', stderr);
    /* a cancelled set still shows what it measured; a failed one only the error */
    if (ok || g_error_matches (*error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_CANCELLED))
      print_set (b, s, !ok);
  }
  return ok;
}

int
cli_bench_quality (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) evals = NULL;
  g_autofree char *model_dir = NULL, *save_dir = NULL;
  int steps = DEFAULT_STEPS, limit = -1;
  double guidance = NAN;
  GOptionEntry entries[] = {
    { "eval", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &evals,
      "Evaluation set: one scene JSON per line with caption and sample_seed (repeatable)", "FILE.jsonl" },
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model_dir,
      "Model folder (default: $SINOPIA_MODEL, then the built-in " SINOPIA_DEFAULT_MODEL ")", "DIR" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps, "Sampling steps (default 20)", "N" },
    { "guidance", 0, 0, G_OPTION_ARG_DOUBLE, &guidance,
      "Classifier-free guidance scale, or the embedded guidance for models that have one (default: the model's)",
      "G" },
    { "limit", 0, 0, G_OPTION_ARG_INT, &limit, "Only the first N scenes of each set", "N" },
    { "save-dir", 0, 0, G_OPTION_ARG_FILENAME, &save_dir,
      "Also write each image (SET-LINE.png) and its analysis (SET-LINE.analysis.json) here", "DIR" },
    { NULL },
  };
  if (!cli_parse ("bench quality", NULL,
                  "Generates the caption of every scene of each evaluation set at the model's native size\n"
                  "with the scene's sample_seed, measures the image against the scene with the analyzer\n"
                  "and prints per set: background colour, object colour+position and shape correct, the\n"
                  "held-out combinations apart, and seconds per image. Progress goes to stderr; Ctrl-C\n"
                  "stops and prints the figures so far.",
                  entries, &argc, &argv))
    return CLI_USAGE;
  if (argc > 1)
    return usage ("unexpected argument '%s'", argv[1]);
  if (!evals || !evals[0])
    return usage ("--eval is required");
  if (steps < 1 || steps > (int) SINOPIA_MODEL_MAX_STEPS)
    return usage ("--steps must be between 1 and %u", SINOPIA_MODEL_MAX_STEPS);
  if (limit == 0 || limit < -1)
    return usage ("--limit must be positive");
  if (!isnan (guidance) && !isfinite (guidance))
    return usage ("--guidance must be a finite number");

  g_autoptr (GPtrArray) sets = g_ptr_array_new_with_free_func (eval_set_free);
  for (char **e = evals; *e; e++) {
    EvalSet *s = load_set (*e, limit, &error);
    if (!s)
      return cli_fail ("%s", error->message);
    g_ptr_array_add (sets, s);
  }
  if (save_dir && g_mkdir_with_parents (save_dir, 0777) != 0) {
    g_autofree char *shown = g_filename_display_name (save_dir);
    return cli_fail ("cannot create %s: %s", shown, g_strerror (errno));
  }
  if (!model_dir && !sinopia_model_find_default (&model_dir, &error))
    return cli_fail ("%s", error->message);

  SinopiaVkContext *ctx = sinopia_vk_context_new (NULL, &error);
  if (!ctx)
    return cli_fail ("%s", error->message);
  Bench b = {
    .sets = sets, .steps = (guint) steps, .guidance = (float) guidance, .save_dir = save_dir,
    .tty = isatty (STDERR_FILENO),
  };
  int rc = CLI_ERROR;
  gint64 t0 = g_get_monotonic_time ();
  fprintf (stderr, "sinopia-cli: loading %s\n", model_dir);
  if (!(b.model = sinopia_model_load (ctx, model_dir, &error)))
    goto out;
  const SinopiaModelInfo *info = sinopia_model_info (b.model);
  fprintf (stderr, "sinopia-cli: loaded in %.1f s\n", (g_get_monotonic_time () - t0) / 1e6);
  printf ("model: %s (%s), %u×%u, %u steps, guidance %g, device %s\n", info->name, model_dir, info->native_width,
          info->native_height, b.steps, isnan (guidance) ? info->default_guidance : guidance,
          sinopia_vk_context_device_info (ctx)->name);
  fflush (stdout);
  if (cli_run_cancellable ("sinopia-bench", run_bench, &b, &error))
    rc = CLI_OK;

out:
  if (rc != CLI_OK)
    cli_fail ("%s", error->message);
  sinopia_model_free (b.model);
  sinopia_vk_context_free (ctx);
  return rc;
}
