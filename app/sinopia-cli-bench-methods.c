/* sinopia-cli-bench-methods.c — `bench regional`, `bench edit` and `bench inpaint`: the editing
 * methods' quality on shapes-world scenes, scored by the analyzer (engine/sinopia-analyze.h),
 * each beside its baseline.
 *
 * Scenes are drawn from a seeded generator: distinct grid cells, colours distinct from each
 * other and from the background, shapes other than the held-out combinations, captions in the
 * canonical form of docs/shapes-world.md without sizes. */
#define G_LOG_DOMAIN "sinopia-cli"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sinopia-analyze.h"
#include "sinopia-cli-image.h"
#include "sinopia-cli.h"
#include "sinopia-edit.h"
#include "sinopia-inpaint.h"
#include "sinopia-png.h"

#define MAX_OBJECTS 4

typedef struct {
  int background;
  guint n;
  int colour[MAX_OBJECTS], shape[MAX_OBJECTS], row[MAX_OBJECTS], col[MAX_OBJECTS];
} Scene;

static gboolean
held_out (int colour, int shape)
{
  return (colour == SINOPIA_COLOUR_PURPLE && shape == SINOPIA_SHAPE_TRIANGLE) ||
         (colour == SINOPIA_COLOUR_ORANGE && shape == SINOPIA_SHAPE_RING) ||
         (colour == SINOPIA_COLOUR_CYAN && shape == SINOPIA_SHAPE_STAR);
}

/* A colour other than the background and the objects' (but object `skip`'s). */
static int
free_colour (GRand *rng, const Scene *s, int skip)
{
  for (;;) {
    int c = g_rand_int_range (rng, 0, SINOPIA_N_COLOURS);
    gboolean used = c == s->background;
    for (guint i = 0; i < s->n; i++)
      used |= (int) i != skip && s->colour[i] == c;
    if (!used)
      return c;
  }
}

static void
free_cell (GRand *rng, const Scene *s, int *row, int *col)
{
  for (;;) {
    int cell = g_rand_int_range (rng, 0, 9);
    gboolean used = FALSE;
    for (guint i = 0; i < s->n; i++)
      used |= s->row[i] * 3 + s->col[i] == cell;
    if (!used) {
      *row = cell / 3;
      *col = cell % 3;
      return;
    }
  }
}

static void
add_object (GRand *rng, Scene *s)
{
  guint i = s->n++;
  s->colour[i] = free_colour (rng, s, (int) i);
  do
    s->shape[i] = g_rand_int_range (rng, 0, SINOPIA_N_SHAPES);
  while (held_out (s->colour[i], s->shape[i]));
  s->row[i] = s->col[i] = -1;
  free_cell (rng, s, &s->row[i], &s->col[i]);
}

static void
random_scene (GRand *rng, guint n, Scene *s)
{
  *s = (Scene) { .background = g_rand_int_range (rng, 0, SINOPIA_N_COLOURS) };
  for (guint i = 0; i < n; i++)
    add_object (rng, s);
}

static const char *
article (const char *word)
{
  return strchr ("aeiou", word[0]) ? "an" : "a";
}

/* "a red circle" */
static char *
object_phrase (int colour, int shape)
{
  const char *c = sinopia_colour_name (colour);
  return g_strdup_printf ("%s %s %s", article (c), c, sinopia_shape_name (shape));
}

/* The canonical caption without sizes: objects in reading order. */
static char *
caption (const Scene *s)
{
  GString *out = g_string_new (NULL);
  guint done = 0;
  for (int cell = 0; cell < 9; cell++)
    for (guint i = 0; i < s->n; i++) {
      if (s->row[i] * 3 + s->col[i] != cell)
        continue;
      g_autofree char *obj = object_phrase (s->colour[i], s->shape[i]);
      const char *pos = sinopia_position_name (s->row[i], s->col[i]);
      g_string_append_printf (out, "%s%s %s the %s", done++ ? " and " : "", obj, cell == 4 ? "in" : "at", pos);
    }
  const char *bg = sinopia_colour_name (s->background);
  g_string_append_printf (out, " on %s %s background", article (bg), bg);
  return g_string_free (out, FALSE);
}

/* The scene for the analyzer: objects at their cells, or inside `boxes` (x0, y0, x1, y1) when given. */
static SinopiaScene *
analyzer_scene (const Scene *s, uint32_t W, uint32_t H, const double (*boxes)[4])
{
  SinopiaScene *scene = g_new0 (SinopiaScene, 1);
  scene->width = (int) W;
  scene->height = (int) H;
  scene->background = s->background;
  scene->n_objects = s->n;
  scene->objects = g_new0 (SinopiaSceneObject, s->n);
  for (guint i = 0; i < s->n; i++) {
    SinopiaSceneObject *o = &scene->objects[i];
    o->colour = s->colour[i];
    o->shape = s->shape[i];
    o->size = -1;
    if (boxes) {
      o->place = SINOPIA_PLACE_BOX;
      memcpy (o->box, boxes[i], sizeof o->box);
    } else {
      o->place = SINOPIA_PLACE_CELL;
      o->row = s->row[i];
      o->col = s->col[i];
    }
  }
  return scene;
}

static SinopiaAnalysis *
analyze (const SinopiaImage *img, const SinopiaScene *scene)
{
  g_autoptr (GError) error = NULL;
  SinopiaAnalysis *a = sinopia_analyze (img->rgb, img->width, img->height, scene, &error);
  g_assert (a);  /* images of a valid size always analyze */
  return a;
}

typedef struct {
  guint ok, n;
} Count;

static void
count (Count *c, gboolean ok)
{
  c->ok += ok;
  c->n++;
}

static double
percent (const Count *c)
{
  return c->n ? 100.0 * c->ok / c->n : 0.0;
}

/* What every method benchmark runs with: the model, how many scenes from which seed, its sampling. */
typedef struct {
  SinopiaModel *model;
  guint count, steps;
  guint64 seed;
  float guidance;
} BenchRun;

/* ---- bench regional --------------------------------------------------------------------- */

typedef struct {
  BenchRun run;
  /* the regional parameters to try instead of the model's (NAN / -1: the model's) */
  double base_ratio;
  int inject_steps, double_interval, single_interval;
  const char *save_dir;   /* NULL, or where each layout's two images go */
  Count regional, plain, by_n[MAX_OBJECTS + 1][2];
  Count colour[2];     /* the colour alone inside the region (shape ignored) */
  double seconds;
  guint images;
} Regional;

static gboolean
run_regional (gpointer data, const gint *cancel, GError **error)
{
  Regional *b = data;
  const SinopiaModelInfo *info = sinopia_model_info (b->run.model);
  uint32_t W = info->native_width, H = info->native_height;
  for (guint i = 0; i < b->run.count; i++) {
    g_autoptr (GRand) rng = g_rand_new_with_seed ((guint32) (b->run.seed + i));
    Scene s;
    random_scene (rng, 2 + i % 3, &s);
    g_autofree char *base = caption (&s);
    SinopiaRegion regions[MAX_OBJECTS];
    double boxes[MAX_OBJECTS][4];
    char *prompts[MAX_OBJECTS] = { NULL };
    for (guint k = 0; k < s.n; k++) {
      uint32_t x0 = (uint32_t) s.col[k] * W / 3, x1 = (uint32_t) (s.col[k] + 1) * W / 3;
      uint32_t y0 = (uint32_t) s.row[k] * H / 3, y1 = (uint32_t) (s.row[k] + 1) * H / 3;
      prompts[k] = object_phrase (s.colour[k], s.shape[k]);
      regions[k] = (SinopiaRegion) { .prompt = prompts[k], .x = x0, .y = y0, .w = x1 - x0, .h = y1 - y0 };
      double box[4] = { x0, y0, x1, y1 };
      memcpy (boxes[k], box, sizeof box);
    }
    g_autoptr (SinopiaScene) scene = analyzer_scene (&s, W, H, (const double (*)[4]) boxes);
    for (guint mode = 0; mode < 2; mode++) {
      SinopiaGenerateParams p;
      sinopia_generate_params_init (&p);
      p.prompt = base;
      p.seed = b->run.seed + i;
      p.steps = b->run.steps;
      p.guidance = b->run.guidance;
      p.regions = mode ? NULL : regions;
      p.n_regions = mode ? 0 : s.n;
      p.base_ratio = (float) b->base_ratio;
      p.mask_inject_steps = b->inject_steps;
      p.double_interval = b->double_interval;
      p.single_interval = b->single_interval;
      gint64 t0 = g_get_monotonic_time ();
      g_autoptr (SinopiaImage) img = sinopia_generate (b->run.model, &p, cancel, NULL, NULL, error);
      if (!img) {
        for (guint k = 0; k < s.n; k++)
          g_free (prompts[k]);
        return FALSE;
      }
      b->seconds += (g_get_monotonic_time () - t0) / 1e6;
      b->images++;
      if (b->save_dir) {
        g_autofree char *name = g_strdup_printf ("%03u-%s.png", i, mode ? "caption" : "regional");
        g_autofree char *path = g_build_filename (b->save_dir, name, NULL);
        g_autofree char *params = sinopia_image_parameters_json (img);
        const char *texts[] = { "parameters", params, NULL };
        if (!sinopia_png_save_rgb (path, img->rgb, img->width, img->height, texts, error)) {
          for (guint k = 0; k < s.n; k++)
            g_free (prompts[k]);
          return FALSE;
        }
      }
      g_autoptr (SinopiaAnalysis) a = analyze (img, scene);
      for (guint k = 0; k < s.n; k++) {
        gboolean ok = a->objects[k].found && a->objects[k].shape_ok;
        count (mode ? &b->plain : &b->regional, ok);
        count (&b->by_n[s.n][mode], ok);
        count (&b->colour[mode], a->objects[k].found);
      }
    }
    fprintf (stderr, "\rlayout %u/%u  regional %.1f %%  one caption %.1f %%", i + 1, b->run.count, percent (&b->regional),
             percent (&b->plain));
    for (guint k = 0; k < s.n; k++)
      g_free (prompts[k]);
  }
  fprintf (stderr, "\n");
  return TRUE;
}

/* Options every method benchmark takes; returns the model folder or NULL after a usage error. */
typedef struct {
  char *model_dir, *seed_text;
  int count, steps;
  double guidance;
} Common;

static gboolean
parse_common (const char *name, const char *summary, GOptionEntry *extra, Common *c, int *argc, char ***argv)
{
  GOptionEntry common[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &c->model_dir,
      "Model folder (default: $SINOPIA_MODEL, then the built-in " SINOPIA_DEFAULT_MODEL ")", "DIR" },
    { "count", 0, 0, G_OPTION_ARG_INT, &c->count, "How many scenes (default 50)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &c->seed_text, "Seed of the first scene and its noise (default 0)", "S" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &c->steps, "Sampling steps (default: the model's)", "N" },
    { "guidance", 0, 0, G_OPTION_ARG_DOUBLE, &c->guidance, "Guidance (default: the model's)", "G" },
    { NULL },
  };
  g_autoptr (GArray) entries = g_array_new (TRUE, TRUE, sizeof (GOptionEntry));
  g_array_append_vals (entries, common, G_N_ELEMENTS (common) - 1);
  for (guint i = 0; extra && extra[i].long_name; i++)
    g_array_append_val (entries, extra[i]);
  c->count = 50;
  c->steps = -1;
  c->guidance = NAN;
  g_autofree char *command = g_strconcat ("bench ", name, NULL);
  return cli_parse (command, NULL, summary, (GOptionEntry *) entries->data, argc, argv);
}

static gboolean
check_common (const char *command, Common *c, guint64 *seed, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  if (argc > 1)
    return cli_usage (command, "unexpected argument '%s'", argv[1]), FALSE;
  if (c->count < 1 || c->steps == 0 || c->steps < -1 || c->steps > (int) SINOPIA_MODEL_MAX_STEPS ||
      (!isnan (c->guidance) && !isfinite (c->guidance)))
    return cli_usage (command, "--count must be positive, --steps between 1 and %u, --guidance finite",
                      SINOPIA_MODEL_MAX_STEPS), FALSE;
  if (c->seed_text && !g_ascii_string_to_unsigned (c->seed_text, 10, 0, G_MAXINT64, seed, &error))
    return cli_usage (command, "--seed: %s", error->message), FALSE;
  return TRUE;
}

/* The end of every method benchmark: the error if it failed, then everything freed. */
static int
finish (int rc, const GError *error, SinopiaModel *model, SinopiaVkContext *ctx, Common *c)
{
  if (rc != CLI_OK)
    cli_fail ("%s", error->message);
  sinopia_model_free (model);
  sinopia_vk_context_free (ctx);
  g_free (c->model_dir);
  g_free (c->seed_text);
  return rc;
}

/* Takes the parsed options into `run` and loads its model (the default one without --model). */
static gboolean
start_run (Common *c, BenchRun *run, SinopiaVkContext **ctx, GError **error)
{
  run->count = (guint) c->count;
  run->steps = c->steps > 0 ? (guint) c->steps : 0;
  run->guidance = (float) c->guidance;
  if (!c->model_dir && !sinopia_model_find_default (&c->model_dir, error))
    return FALSE;
  if (!(*ctx = sinopia_vk_context_new (NULL, error)))
    return FALSE;
  return (run->model = sinopia_model_load (*ctx, c->model_dir, error)) != NULL;
}

int
cli_bench_regional (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  Common c = { 0 };
  g_autofree char *save_dir = NULL;
  Regional b = { .base_ratio = NAN, .inject_steps = -1, .double_interval = -1, .single_interval = -1 };
  SinopiaVkContext *ctx = NULL;
  int rc = CLI_ERROR;
  GOptionEntry extra[] = {
    { "base-ratio", 0, 0, G_OPTION_ARG_DOUBLE, &b.base_ratio, "Base ratio, 0 to 1 (default: the model's)", "F" },
    { "mask-inject-steps", 0, 0, G_OPTION_ARG_INT, &b.inject_steps, "Steps that use the regions (default: the "
      "model's)", "N" },
    { "double-interval", 0, 0, G_OPTION_ARG_INT, &b.double_interval, "The region rule in every N-th double block "
      "(default: the model's)", "N" },
    { "single-interval", 0, 0, G_OPTION_ARG_INT, &b.single_interval, "The region rule in every N-th single block "
      "(default: the model's)", "N" },
    { "save", 0, 0, G_OPTION_ARG_FILENAME, &save_dir, "Write every image to DIR as NNN-regional.png and "
      "NNN-caption.png", "DIR" },
    { NULL },
  };
  if (!parse_common ("regional",
                     "Regional prompting on layouts of 2–4 regions (grid cells), each region one object ('a red "
                     "circle'): the share of regions whose object has the right colour and shape inside the "
                     "region, against the same scenes from their caption alone. The model's regional defaults "
                     "unless given.",
                     extra, &c, &argc, &argv) ||
      !check_common ("bench regional", &c, &b.run.seed, argc, argv))
    return CLI_USAGE;
  if (!isnan (b.base_ratio) && !(b.base_ratio >= 0 && b.base_ratio <= 1))
    return cli_usage ("bench regional", "--base-ratio must lie between 0 and 1");
  if (b.inject_steps < -1 || b.double_interval == 0 || b.double_interval < -1 || b.single_interval == 0 ||
      b.single_interval < -1)
    return cli_usage ("bench regional",
                      "--mask-inject-steps must not be negative and the intervals must be at least 1");
  if (save_dir && g_mkdir_with_parents (save_dir, 0777) != 0)
    return cli_fail ("Cannot create %s: %s", save_dir, g_strerror (errno));
  b.save_dir = save_dir;
  if (!start_run (&c, &b.run, &ctx, &error) ||
      !cli_run_cancellable ("sinopia-bench", run_regional, &b, &error))
    goto out;
  printf ("regions right (colour and shape inside the region), %u layouts:\n", b.run.count);
  printf ("  regional prompting  %5.1f %% (%u/%u)\n", percent (&b.regional), b.regional.ok, b.regional.n);
  printf ("  one caption         %5.1f %% (%u/%u)\n", percent (&b.plain), b.plain.ok, b.plain.n);
  printf ("colour alone inside the region: regional %5.1f %%, one caption %5.1f %%\n", percent (&b.colour[0]),
          percent (&b.colour[1]));
  for (guint n = 2; n <= MAX_OBJECTS; n++)
    printf ("  %u regions: regional %5.1f %%, one caption %5.1f %%\n", n, percent (&b.by_n[n][0]),
            percent (&b.by_n[n][1]));
  printf ("  %.2f s per image\n", b.images ? b.seconds / b.images : 0.0);
  rc = CLI_OK;

out:
  return finish (rc, error, b.run.model, ctx, &c);
}

/* ---- bench edit ------------------------------------------------------------------------- */

enum { EDIT_RECOLOUR, EDIT_ADD, EDIT_BACKGROUND, N_EDIT_KINDS };
enum { VITAL_MODEL, VITAL_NONE, VITAL_ALL, N_VITAL };

typedef struct {
  BenchRun run;
  const guint *vital;
  int n_vital;
  Count success[N_VITAL], kept[N_VITAL], by_kind[N_EDIT_KINDS][N_VITAL];
  guint steps_used;            /* what the edits ran with (the model's stable_flow default unless given) */
} Edit;

static gboolean
run_edit (gpointer data, const gint *cancel, GError **error)
{
  Edit *b = data;
  uint32_t n_layers = sinopia_flux_n_layers (sinopia_flux_model_config (sinopia_model_flux (b->run.model)));
  g_autofree guint *all = g_new (guint, n_layers);
  for (uint32_t l = 0; l < n_layers; l++)
    all[l] = l;
  for (guint i = 0; i < b->run.count; i++) {
    g_autoptr (GRand) rng = g_rand_new_with_seed ((guint32) (b->run.seed + i));
    Scene src, dst;
    guint kind = i % N_EDIT_KINDS;
    random_scene (rng, 2, &src);
    dst = src;
    if (kind == EDIT_RECOLOUR)
      do
        dst.colour[0] = free_colour (rng, &src, -1);
      while (held_out (dst.colour[0], dst.shape[0]));
    else if (kind == EDIT_ADD)
      add_object (rng, &dst);
    else
      dst.background = free_colour (rng, &src, -1);
    g_autofree char *source = caption (&src), *target = caption (&dst);
    g_autoptr (SinopiaScene) scene = analyzer_scene (&dst, 0, 0, NULL);
    for (guint v = 0; v < N_VITAL; v++) {
      SinopiaEditParams p;
      sinopia_edit_params_init (&p);
      p.source_prompt = source;
      p.prompt = target;
      p.seed = b->run.seed + i;
      p.steps = b->run.steps;
      p.guidance = b->run.guidance;
      p.vital_layers = v == VITAL_MODEL ? b->vital : all;
      p.n_vital_layers = v == VITAL_MODEL ? b->n_vital : v == VITAL_NONE ? 0 : (int) n_layers;
      g_autoptr (SinopiaImage) img = sinopia_edit (b->run.model, &p, cancel, NULL, NULL, NULL, error);
      if (!img)
        return FALSE;
      b->steps_used = img->steps;
      g_autoptr (SinopiaAnalysis) a = analyze (img, scene);
      gboolean ok = kind == EDIT_BACKGROUND ? a->background_ok
                    : kind == EDIT_ADD      ? a->objects[2].found && a->objects[2].shape_ok
                                            : a->objects[0].found && a->objects[0].shape_ok;
      count (&b->success[v], ok);
      count (&b->by_kind[kind][v], ok);
      /* the objects the edit leaves alone stay at their cell with their colour */
      for (guint k = kind == EDIT_RECOLOUR ? 1 : 0; k < 2; k++)
        count (&b->kept[v], a->objects[k].found);
    }
    fprintf (stderr, "\redit %u/%u  success %.1f %% (vital) %.1f %% (none) %.1f %% (all)", i + 1, b->run.count,
             percent (&b->success[0]), percent (&b->success[1]), percent (&b->success[2]));
  }
  fprintf (stderr, "\n");
  return TRUE;
}

int
cli_bench_edit (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *layers_text = NULL;
  Common c = { 0 };
  Edit b = { .n_vital = -1 };
  SinopiaVkContext *ctx = NULL;
  int rc = CLI_ERROR;
  g_autoptr (GArray) layers = g_array_new (FALSE, FALSE, sizeof (guint));
  GOptionEntry extra[] = {
    { "vital-layers", 0, 0, G_OPTION_ARG_STRING, &layers_text, "Vital layers (default: the model's)", "LIST" },
    { NULL },
  };
  if (!parse_common ("edit",
                     "Stable Flow on generated scenes of two objects: recolour one, add one, or change the "
                     "background; the share of edits done (analyzer) and of untouched objects kept at their place "
                     "with their colour, with the vital layers, no injection and injection in every layer.",
                     extra, &c, &argc, &argv) ||
      !check_common ("bench edit", &c, &b.run.seed, argc, argv))
    return CLI_USAGE;
  if (layers_text) {
    g_auto (GStrv) parts = g_strsplit (layers_text, ",", -1);
    for (guint i = 0; parts[i]; i++) {
      guint64 v;
      if (!g_ascii_string_to_unsigned (g_strstrip (parts[i]), 10, 0, 65535, &v, NULL))
        return cli_usage ("bench edit", "--vital-layers '%s': expected layer indices separated by commas",
                          layers_text);
      guint l = (guint) v;
      g_array_append_val (layers, l);
    }
    b.vital = (const guint *) layers->data;
    b.n_vital = (int) layers->len;
  }
  if (!start_run (&c, &b.run, &ctx, &error) ||
      !cli_run_cancellable ("sinopia-bench", run_edit, &b, &error))
    goto out;
  static const char *const names[N_VITAL] = { "vital layers", "no injection", "all layers" };
  static const char *const kinds[N_EDIT_KINDS] = { "recolour", "add", "background" };
  printf ("Stable Flow, %u edits at %u steps (success: the edit done; kept: untouched objects in place with their "
          "colour):\n", b.run.count, b.steps_used);
  for (guint v = 0; v < N_VITAL; v++) {
    printf ("  %-13s success %5.1f %% (%u/%u), kept %5.1f %% (%u/%u);", names[v], percent (&b.success[v]),
            b.success[v].ok, b.success[v].n, percent (&b.kept[v]), b.kept[v].ok, b.kept[v].n);
    for (guint k = 0; k < N_EDIT_KINDS; k++)
      printf (" %s %.0f %%", kinds[k], percent (&b.by_kind[k][v]));
    printf ("\n");
  }
  rc = CLI_OK;

out:
  return finish (rc, error, b.run.model, ctx, &c);
}

/* ---- bench inpaint ---------------------------------------------------------------------- */

enum { INPAINT_RECOLOUR, INPAINT_REPLACE, INPAINT_ADD, N_INPAINT_KINDS };
enum { INPAINT_KV_EDIT, INPAINT_NO_CACHE, N_INPAINT_METHODS };

/* The figures of one method over the edits. */
typedef struct {
  Count target, colour, by_kind[N_INPAINT_KINDS];
  double psnr_sum, psnr_min, seam_sum;
  guint n;
} InpaintFigures;

typedef struct {
  BenchRun run;
  InpaintFigures method[N_INPAINT_METHODS];
} Inpaint;

/* Decodes a [z, h, w] latent to RGB8 as the engine does (clamp, trunc(127.5·(x + 1))). */
static gboolean
decode_rgb (SinopiaModel *model, const float *latent, uint32_t lh, uint32_t lw, guint8 *rgb, GError **error)
{
  SinopiaAeModel *ae = sinopia_model_ae (model);
  uint32_t f = sinopia_ae_factor (sinopia_ae_config (ae));
  gsize hw = (gsize) lh * f * lw * f;
  g_autofree float *planes = g_new (float, 3 * hw);
  if (!sinopia_ae_decode (ae, latent, lh, lw, planes, NULL, NULL, error))
    return FALSE;
  for (gsize p = 0; p < hw; p++)
    for (guint c = 0; c < 3; c++) {
      float x = planes[c * hw + p];
      rgb[p * 3 + c] = (guint8) (127.5f * (CLAMP (isnan (x) ? -1.0f : x, -1.0f, 1.0f) + 1.0f));
    }
  return TRUE;
}

static gboolean
run_inpaint (gpointer data, const gint *cancel, GError **error)
{
  Inpaint *b = data;
  const SinopiaModelInfo *info = sinopia_model_info (b->run.model);
  SinopiaAeModel *ae = sinopia_model_ae (b->run.model);
  uint32_t W = info->native_width, H = info->native_height, f = sinopia_ae_factor (sinopia_ae_config (ae));
  uint32_t lh = H / f, lw = W / f, z = sinopia_ae_config (ae)->z_channels;
  gsize hw = (gsize) W * H;
  g_autofree guint8 *mask = g_new (guint8, hw), *latent_mask = g_new (guint8, (gsize) lh * lw);
  g_autofree guint8 *round_trip = g_new (guint8, hw * 3), *decoded = g_new (guint8, hw * 3);
  g_autofree float *weights = g_new (float, hw), *lat = g_new (float, (gsize) z * lh * lw);
  g_autofree float *planes = g_new (float, 3 * hw);
  for (guint m = 0; m < N_INPAINT_METHODS; m++)
    b->method[m].psnr_min = INFINITY;
  for (guint i = 0; i < b->run.count; i++) {
    g_autoptr (GRand) rng = g_rand_new_with_seed ((guint32) (b->run.seed + i));
    Scene src, dst;
    guint kind = i % N_INPAINT_KINDS, target = 0;
    random_scene (rng, 2, &src);
    dst = src;
    if (kind == INPAINT_ADD) {
      add_object (rng, &dst);
      target = 2;
    } else {
      do {
        dst.colour[0] = free_colour (rng, &src, -1);
        if (kind == INPAINT_REPLACE)
          dst.shape[0] = (src.shape[0] + 1 + g_rand_int_range (rng, 0, SINOPIA_N_SHAPES - 1)) % SINOPIA_N_SHAPES;
      } while (held_out (dst.colour[0], dst.shape[0]));
    }
    g_autofree char *source = caption (&src), *prompt = caption (&dst);
    SinopiaGenerateParams g;
    sinopia_generate_params_init (&g);
    g.prompt = source;
    g.seed = b->run.seed + i;
    g.steps = b->run.steps;
    g.guidance = b->run.guidance;
    g_autoptr (SinopiaImage) input = sinopia_generate (b->run.model, &g, cancel, NULL, NULL, error);
    if (!input)
      return FALSE;
    /* the mask: the grid cell of the edited object */
    uint32_t x0 = (uint32_t) dst.col[target] * W / 3, x1 = (uint32_t) (dst.col[target] + 1) * W / 3;
    uint32_t y0 = (uint32_t) dst.row[target] * H / 3, y1 = (uint32_t) (dst.row[target] + 1) * H / 3;
    for (uint32_t y = 0; y < H; y++)
      for (uint32_t x = 0; x < W; x++)
        mask[(gsize) y * W + x] = x >= x0 && x < x1 && y >= y0 && y < y1;
    /* the input's autoencoder round trip, which the background is measured against */
    for (gsize px = 0; px < hw; px++)
      for (guint c = 0; c < 3; c++)
        planes[c * hw + px] = input->rgb[px * 3 + c] / 127.5f - 1.0f;
    if (!sinopia_ae_encode (ae, planes, H, W, NULL, lat, NULL, NULL, error) ||
        !decode_rgb (b->run.model, lat, lh, lw, round_trip, error))
      return FALSE;
    sinopia_kv_edit_latent_mask (mask, W, H, f, latent_mask);
    sinopia_inpaint_blend_weights (latent_mask, W, H, f, sinopia_inpaint_band (W, H), weights);
    g_autoptr (SinopiaScene) scene = analyzer_scene (&dst, 0, 0, NULL);
    for (guint m = 0; m < N_INPAINT_METHODS; m++) {
      InpaintFigures *fig = &b->method[m];
      SinopiaInpaintParams p;
      sinopia_inpaint_params_init (&p);
      p.image = input->rgb;
      p.mask = mask;
      p.width = W;
      p.height = H;
      p.source_prompt = source;
      p.prompt = prompt;
      p.steps = b->run.steps;
      p.guidance = b->run.guidance;
      p.seed = b->run.seed + i;
      p.no_cache = m == INPAINT_NO_CACHE;
      g_autoptr (SinopiaImage) out = sinopia_inpaint (b->run.model, &p, cancel, NULL, NULL, error);
      if (!out || !decode_rgb (b->run.model, out->latent, lh, lw, decoded, error))
        return FALSE;
      /* background: the decode before compositing against the round trip, over the pixels
       * beyond the band; the seam: the composite's change in the band */
      double se = 0, seam = 0;
      guint n_far = 0, n_band = 0;
      for (gsize px = 0; px < hw; px++)
        for (guint c = 0; c < 3; c++) {
          double d = (double) decoded[px * 3 + c] - round_trip[px * 3 + c];
          if (weights[px] == 0.0f) {
            se += d * d;
            n_far++;
          } else if (weights[px] < 1.0f) {
            seam += fabs ((double) out->rgb[px * 3 + c] - decoded[px * 3 + c]);
            n_band++;
          }
        }
      double psnr = se > 0 ? 10 * log10 (255.0 * 255.0 * n_far / se) : 99.0;
      fig->psnr_sum += psnr;
      fig->psnr_min = MIN (fig->psnr_min, psnr);
      fig->seam_sum += n_band ? seam / n_band : 0;
      fig->n++;
      g_autoptr (SinopiaAnalysis) a = analyze (out, scene);
      gboolean ok = a->objects[target].found && a->objects[target].shape_ok;
      count (&fig->target, ok);
      count (&fig->colour, a->objects[target].found);
      count (&fig->by_kind[kind], ok);
    }
    const InpaintFigures *kv = &b->method[INPAINT_KV_EDIT], *plain = &b->method[INPAINT_NO_CACHE];
    fprintf (stderr, "\redit %u/%u  background PSNR %.1f dB (no cache %.1f)  target %.1f %% (no cache %.1f %%)", i + 1,
             b->run.count, kv->psnr_sum / kv->n, plain->psnr_sum / plain->n, percent (&kv->target),
             percent (&plain->target));
  }
  fprintf (stderr, "\n");
  return TRUE;
}

static void
print_inpaint (const char *title, const InpaintFigures *fig)
{
  static const char *const kinds[N_INPAINT_KINDS] = { "recolour", "replace", "add" };
  printf ("  %s:\n", title);
  printf ("    background PSNR beyond the band: mean %.2f dB, min %.2f dB\n", fig->psnr_sum / fig->n, fig->psnr_min);
  printf ("    seam (mean |composite − decode| in the band): %.2f levels\n", fig->seam_sum / fig->n);
  printf ("    target right (colour and shape) %5.1f %% (%u/%u), colour alone %5.1f %%;", percent (&fig->target),
          fig->target.ok, fig->target.n, percent (&fig->colour));
  for (guint k = 0; k < N_INPAINT_KINDS; k++)
    printf (" %s %.0f %%", kinds[k], percent (&fig->by_kind[k]));
  printf ("\n");
}

int
cli_bench_inpaint (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  Common c = { 0 };
  Inpaint b = { 0 };
  SinopiaVkContext *ctx = NULL;
  int rc = CLI_ERROR;
  if (!parse_common ("inpaint",
                     "KV-Edit on generated scenes of two objects: recolour or replace one in its grid cell, or add one "
                     "in a free cell. Background PSNR of the decode before compositing against the input's "
                     "autoencoder round trip beyond the blend band, the composite's mean change in the band (seam, "
                     "8-bit levels), and the target object right (analyzer). The model's KV-Edit defaults, against "
                     "plain masked regeneration without the cache on the same edits (same steps, skip, guidance, "
                     "seed and composite).",
                     NULL, &c, &argc, &argv) ||
      !check_common ("bench inpaint", &c, &b.run.seed, argc, argv))
    return CLI_USAGE;
  if (!start_run (&c, &b.run, &ctx, &error) ||
      !cli_run_cancellable ("sinopia-bench", run_inpaint, &b, &error))
    goto out;
  printf ("inpainting, %u edits:\n", b.run.count);
  print_inpaint ("KV-Edit", &b.method[INPAINT_KV_EDIT]);
  print_inpaint ("plain masked regeneration (no cache)", &b.method[INPAINT_NO_CACHE]);
  rc = CLI_OK;

out:
  return finish (rc, error, b.run.model, ctx, &c);
}
