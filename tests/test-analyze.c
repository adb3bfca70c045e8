/* The shapes-world analyzer: every generator sample of tests/data/shapes (tools/make-shapes-fixture.sh)
 * analysed correctly; edited images (object removed, recoloured, moved, reshaped) reported as
 * wrong; places given as boxes; scene errors; `sinopia-cli analyze`. */
#define G_LOG_DOMAIN "sinopia-test"

#include <math.h>
#include <string.h>
#include <sys/wait.h>

#include "sinopia-analyze.h"
#include "sinopia-json.h"
#include "sinopia-png.h"

#define N_SAMPLES 24

typedef struct {
  guint width, height;
  guint8 *rgb;
  char *json;
  gsize json_len;
  SinopiaJson *doc; /* the scene JSON, for the edits */
} Sample;

static void
sample_clear (Sample *s)
{
  g_free (s->rgb);
  g_free (s->json);
  sinopia_json_free (s->doc);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Sample, sample_clear)

static void
load_sample (guint index, Sample *s)
{
  g_autofree char *base = g_strdup_printf ("%06u", index);
  g_autofree char *png = g_strconcat (base, ".png", NULL);
  g_autofree char *json = g_strconcat (base, ".json", NULL);
  g_autofree char *png_path = g_test_build_filename (G_TEST_DIST, "data", "shapes", png, NULL);
  g_autofree char *json_path = g_test_build_filename (G_TEST_DIST, "data", "shapes", json, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaPngImage) image = sinopia_png_load (png_path, 0, &error);
  g_assert_no_error (error);
  s->width = image->width;
  s->height = image->height;
  s->rgb = sinopia_png_image_to_rgb (image, NULL);
  g_assert_true (g_file_get_contents (json_path, &s->json, &s->json_len, &error));
  s->doc = sinopia_json_parse (s->json, s->json_len, &error);
  g_assert_no_error (error);
}

static const SinopiaJsonNode *
scene_object (const Sample *s, guint k)
{
  return sinopia_json_array_get (sinopia_json_object_get (sinopia_json_root (s->doc), "objects"), k);
}

static guint
n_scene_objects (const Sample *s)
{
  return (guint) sinopia_json_length (sinopia_json_object_get (sinopia_json_root (s->doc), "objects"));
}

static void
get_ints (const SinopiaJsonNode *array, int n, int *out)
{
  for (int i = 0; i < n; i++) {
    int64_t v;
    g_assert_true (sinopia_json_as_int64 (sinopia_json_array_get (array, (gsize) i), 0, 255, &v, NULL));
    out[i] = (int) v;
  }
}

static void
background_rgb (const Sample *s, int rgb[3])
{
  get_ints (sinopia_json_object_get (sinopia_json_object_get (sinopia_json_root (s->doc), "background"), "rgb"), 3,
            rgb);
}

static SinopiaAnalysis *
analyze_text (const Sample *s, const char *json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaScene) scene = sinopia_scene_parse (json, strlen (json), &error);
  g_assert_no_error (error);
  SinopiaAnalysis *a = sinopia_analyze (s->rgb, s->width, s->height, scene, &error);
  g_assert_no_error (error);
  return a;
}

static SinopiaAnalysis *
analyze_sample (const Sample *s)
{
  g_autofree char *json = g_strndup (s->json, s->json_len);
  return analyze_text (s, json);
}

/* ---- Generator samples ---------------------------------------------------------------------- */

static void
test_fixture (void)
{
  guint n_objects = 0, shapes_seen = 0;
  for (guint i = 0; i < N_SAMPLES; i++) {
    g_auto (Sample) s = { 0 };
    load_sample (i, &s);
    g_autoptr (SinopiaAnalysis) a = analyze_sample (&s);
    g_autofree char *report = sinopia_analysis_to_json (a);
    g_autoptr (GError) error = NULL;
    g_autoptr (SinopiaJson) parsed = sinopia_json_parse (report, strlen (report), &error);
    g_assert_no_error (error);
    const SinopiaJsonNode *summary = sinopia_json_object_get (sinopia_json_root (parsed), "summary");
    gboolean all_ok = FALSE;
    g_assert_true (sinopia_json_get_bool (summary, "all_ok", &all_ok, NULL));
    if (!all_ok || !a->background_ok || a->n_extra != 0)
      g_error ("sample %06u: %s", i, report);
    for (guint k = 0; k < a->n_objects; k++) {
      const SinopiaObjectResult *r = &a->objects[k];
      if (!r->found || !r->shape_ok || !r->size_ok || r->blob.colour != r->expected.colour)
        g_error ("sample %06u object %u: %s", i, k, report);
      shapes_seen |= 1u << r->blob.shape;
      n_objects++;
    }
  }
  g_assert_cmpuint (shapes_seen, ==, (1u << SINOPIA_N_SHAPES) - 1);
  g_assert_cmpuint (n_objects, >=, 40);
}

/* A Gaussian blur (σ pixels, edges clamped) of the whole image, as a soft decoder output might be. */
static void
blur_image (Sample *s, double sigma)
{
  int radius = (int) ceil (3 * sigma), w = (int) s->width, h = (int) s->height;
  double kernel[64], total = 0;
  g_assert_cmpint (radius, <, 32);
  for (int i = -radius; i <= radius; i++)
    total += kernel[i + radius] = exp (-0.5 * i * i / (sigma * sigma));
  g_autofree double *tmp = g_new (double, (gsize) w * h * 3);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++) {
        double acc = 0;
        for (int i = -radius; i <= radius; i++)
          acc += kernel[i + radius] * s->rgb[((gsize) y * w + CLAMP (x + i, 0, w - 1)) * 3 + c];
        tmp[((gsize) y * w + x) * 3 + c] = acc / total;
      }
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++) {
        double acc = 0;
        for (int i = -radius; i <= radius; i++)
          acc += kernel[i + radius] * tmp[((gsize) CLAMP (y + i, 0, h - 1) * w + x) * 3 + c];
        s->rgb[((gsize) y * w + x) * 3 + c] = (guint8) lround (acc / total);
      }
}

/* The shapes are matched against templates blurred like the blob, so a blur of one pixel (which
 * rounds a 16 px square's corners and fills much of a small star's notches) changes nothing. */
static void
test_blurred (void)
{
  for (guint i = 0; i < N_SAMPLES; i++) {
    g_auto (Sample) s = { 0 };
    load_sample (i, &s);
    blur_image (&s, 1.0);
    g_autoptr (SinopiaAnalysis) a = analyze_sample (&s);
    for (guint k = 0; k < a->n_objects; k++)
      if (!a->objects[k].found || !a->objects[k].shape_ok) {
        g_autofree char *report = sinopia_analysis_to_json (a);
        g_error ("blurred sample %06u object %u: %s", i, k, report);
      }
    g_assert_true (a->background_ok);
    g_assert_cmpfloat (a->objects[0].blob.blur, >=, 0.4);
  }
}

/* ---- Edited samples that must fail ---------------------------------------------------------- */

/* The first single-object sample and one with three objects. */
static guint
find_sample (guint n_objects)
{
  for (guint i = 0; i < N_SAMPLES; i++) {
    g_auto (Sample) s = { 0 };
    load_sample (i, &s);
    if (n_scene_objects (&s) == n_objects)
      return i;
  }
  g_assert_not_reached ();
}

static void
object_box (const Sample *s, guint k, int box[4])
{
  const SinopiaJsonNode *bbox = sinopia_json_object_get (scene_object (s, k), "bbox");
  for (int i = 0; i < 4; i++) {
    int64_t v;
    g_assert_true (sinopia_json_as_int64 (sinopia_json_array_get (bbox, (gsize) i), 0, 4096, &v, NULL));
    box[i] = (int) v;
  }
}

static void
paint_box (Sample *s, const int box[4], const int rgb[3])
{
  for (int y = box[1]; y < box[3]; y++)
    for (int x = box[0]; x < box[2]; x++)
      for (int c = 0; c < 3; c++)
        s->rgb[((gsize) y * s->width + x) * 3 + c] = (guint8) rgb[c];
}

static void
test_removed (void)
{
  g_auto (Sample) s = { 0 };
  load_sample (find_sample (3), &s);
  int bg[3], box[4];
  background_rgb (&s, bg);
  object_box (&s, 1, box);
  paint_box (&s, box, bg);
  g_autoptr (SinopiaAnalysis) a = analyze_sample (&s);
  g_assert_true (a->background_ok);
  g_assert_true (a->objects[0].found && a->objects[0].shape_ok);
  g_assert_false (a->objects[1].found);
  g_assert_false (a->objects[1].shape_ok);
  g_assert_false (a->objects[1].other_in_place);
  g_assert_true (a->objects[2].found && a->objects[2].shape_ok);
  g_autofree char *report = sinopia_analysis_to_json (a);
  g_assert_nonnull (strstr (report, "\"all_ok\": false"));
}

/* Repaints an object in another colour, anti-aliasing kept: each pixel's coverage along the line
 * from the background to the old colour is moved to the line to the new one. */
static void
test_recoloured (void)
{
  g_auto (Sample) s = { 0 };
  load_sample (find_sample (3), &s);
  int bg[3], box[4], old_rgb[3];
  background_rgb (&s, bg);
  object_box (&s, 2, box);
  get_ints (sinopia_json_object_get (scene_object (&s, 2), "rgb"), 3, old_rgb);
  g_autoptr (SinopiaAnalysis) before = analyze_sample (&s);
  int old_colour = before->objects[2].expected.colour;
  int new_colour = -1;
  for (int c = 0; c < SINOPIA_N_COLOURS && new_colour < 0; c++)
    if (c != old_colour && c != before->background)
      new_colour = c;
  guint8 proto[3];
  g_assert_true (sinopia_colour_prototype (new_colour, proto));
  double len2 = 0;
  for (int c = 0; c < 3; c++)
    len2 += (double) (old_rgb[c] - bg[c]) * (old_rgb[c] - bg[c]);
  for (int y = box[1]; y < box[3]; y++)
    for (int x = box[0]; x < box[2]; x++) {
      guint8 *p = s.rgb + ((gsize) y * s.width + x) * 3;
      double dot = 0;
      for (int c = 0; c < 3; c++)
        dot += (double) (p[c] - bg[c]) * (old_rgb[c] - bg[c]);
      double t = CLAMP (dot / len2, 0.0, 1.0);
      for (int c = 0; c < 3; c++)
        p[c] = (guint8) lround (bg[c] + t * (proto[c] - bg[c]));
    }
  g_autoptr (SinopiaAnalysis) a = analyze_sample (&s);
  g_assert_true (a->objects[0].found && a->objects[1].found);
  const SinopiaObjectResult *r = &a->objects[2];
  g_assert_false (r->found);
  g_assert_true (r->other_in_place);
  g_assert_cmpint (r->in_place.colour, ==, new_colour);
  /* The blob keeps its shape: only the colour is wrong. */
  g_assert_cmpint (r->in_place.shape, ==, r->expected.shape);
}

static void
test_moved (void)
{
  g_auto (Sample) s = { 0 };
  load_sample (find_sample (1), &s);
  int bg[3], box[4];
  background_rgb (&s, bg);
  object_box (&s, 0, box);
  g_autoptr (SinopiaAnalysis) before = analyze_sample (&s);
  g_assert_true (before->objects[0].found);
  /* To the opposite cell: shift the box so its centre lands on that cell's centre. */
  int row = 2 - before->objects[0].expected.row, col = 2 - before->objects[0].expected.col;
  if (row == 1 && col == 1)
    row = 0;
  double cell = s.width / 3.0;
  int dx = (int) lround ((col + 0.5) * cell - (box[0] + box[2]) / 2.0);
  int dy = (int) lround ((row + 0.5) * cell - (box[1] + box[3]) / 2.0);
  g_autofree guint8 *copy = g_memdup2 (s.rgb, (gsize) s.width * s.height * 3);
  paint_box (&s, box, bg);
  for (int y = box[1]; y < box[3]; y++)
    for (int x = box[0]; x < box[2]; x++) {
      int tx = x + dx, ty = y + dy;
      g_assert_true (tx >= 0 && ty >= 0 && tx < (int) s.width && ty < (int) s.height);
      memcpy (s.rgb + ((gsize) ty * s.width + tx) * 3, copy + ((gsize) y * s.width + x) * 3, 3);
    }
  g_autoptr (SinopiaAnalysis) a = analyze_sample (&s);
  const SinopiaObjectResult *r = &a->objects[0];
  g_assert_false (r->found);
  g_assert_true (r->seen_elsewhere);
  g_assert_cmpint (r->elsewhere.row, ==, row);
  g_assert_cmpint (r->elsewhere.col, ==, col);
  g_assert_cmpint (r->elsewhere.shape, ==, r->expected.shape);
}

/* An object's box filled with its colour: found where expected, but a square. */
static void
test_reshaped (void)
{
  for (guint i = 0; i < N_SAMPLES; i++) {
    g_auto (Sample) s = { 0 };
    load_sample (i, &s);
    g_autoptr (SinopiaAnalysis) before = analyze_sample (&s);
    if (before->objects[0].expected.shape == SINOPIA_SHAPE_SQUARE)
      continue;
    int box[4], rgb[3];
    object_box (&s, 0, box);
    get_ints (sinopia_json_object_get (scene_object (&s, 0), "rgb"), 3, rgb);
    paint_box (&s, box, rgb);
    g_autoptr (SinopiaAnalysis) a = analyze_sample (&s);
    g_assert_true (a->objects[0].found);
    g_assert_false (a->objects[0].shape_ok);
    g_assert_cmpint (a->objects[0].blob.shape, ==, SINOPIA_SHAPE_SQUARE);
    return;
  }
  g_assert_not_reached ();
}

/* ---- Places --------------------------------------------------------------------------------- */

static void
test_boxes (void)
{
  g_auto (Sample) s = { 0 };
  load_sample (find_sample (3), &s);
  g_autoptr (SinopiaAnalysis) truth = analyze_sample (&s);
  int box[4];
  object_box (&s, 0, box);
  const char *colour = sinopia_colour_name (truth->objects[0].expected.colour);
  const char *shape = sinopia_shape_name (truth->objects[0].expected.shape);

  /* The object's own box, in the scene's pixels (width/height 64: half the image's). */
  g_autofree char *inside = g_strdup_printf ("{\"width\": 64, \"height\": 64, \"objects\": [{\"colour\": \"%s\", "
                                             "\"shape\": \"%s\", \"bbox\": [%g, %g, %g, %g]}]}",
                                             colour, shape, box[0] / 2.0, box[1] / 2.0, box[2] / 2.0, box[3] / 2.0);
  g_autoptr (SinopiaAnalysis) a = analyze_text (&s, inside);
  g_assert_true (a->objects[0].found && a->objects[0].shape_ok);
  g_assert_true (a->background_ok); /* none expected */
  g_assert_cmpint (a->objects[0].expected.place, ==, SINOPIA_PLACE_BOX);
  /* Other objects are reported as extra blobs. */
  g_assert_cmpuint (a->n_extra, ==, 2);

  /* A box that holds only a third of the object is not "inside". */
  double w = box[2] - box[0];
  g_autofree char *partial = g_strdup_printf ("{\"objects\": [{\"colour\": \"%s\", \"bbox\": [%g, %d, %g, %d]}]}",
                                              colour, box[0] + w / 3, box[1], box[0] + 2 * w / 3, box[3]);
  g_autoptr (SinopiaAnalysis) b = analyze_text (&s, partial);
  g_assert_false (b->objects[0].found);

  /* The whole image: found; no place at all: the largest blob of the colour. */
  g_autofree char *whole = g_strdup_printf ("{\"objects\": [{\"colour\": \"%s\", \"bbox\": [0, 0, %u, %u]}]}",
                                            colour, s.width, s.height);
  g_autoptr (SinopiaAnalysis) c = analyze_text (&s, whole);
  g_assert_true (c->objects[0].found);
  g_autofree char *anywhere = g_strdup_printf ("{\"objects\": [{\"colour\": \"%s\"}]}", colour);
  g_autoptr (SinopiaAnalysis) d = analyze_text (&s, anywhere);
  g_assert_true (d->objects[0].found);
  g_assert_cmpint (d->objects[0].expected.place, ==, SINOPIA_PLACE_ANY);
  g_assert_true (d->objects[0].shape_ok); /* no shape expected */
}

/* ---- Errors --------------------------------------------------------------------------------- */

static void
scene_fails (const char *json, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaScene) scene = sinopia_scene_parse (json, strlen (json), &error);
  g_assert_null (scene);
  g_assert_error (error, SINOPIA_SCENE_ERROR, SINOPIA_SCENE_ERROR_INVALID);
  if (strstr (error->message, needle) == NULL)
    g_error ("%s: error \"%s\" lacks \"%s\"", json, error->message, needle);
}

static void
test_scene_errors (void)
{
  scene_fails ("", "byte 0");
  scene_fails ("[]", "must be a JSON object");
  scene_fails ("{}", "objects is missing");
  scene_fails ("{\"objects\": {}}", "objects must be an array");
  scene_fails ("{\"objects\": [1]}", "objects[0] must be an object");
  scene_fails ("{\"objects\": [{}]}", "objects[0].colour is missing");
  scene_fails ("{\"objects\": [{\"colour\": \"mauve\"}]}", "unknown value \"mauve\"");
  scene_fails ("{\"objects\": [{\"colour\": 3}]}", "objects[0].colour must be a string");
  scene_fails ("{\"objects\": [{\"colour\": \"red\", \"shape\": \"hexagon\"}]}", "objects[0].shape");
  scene_fails ("{\"objects\": [{\"colour\": \"red\", \"size\": \"huge\"}]}", "objects[0].size");
  scene_fails ("{\"objects\": [{\"colour\": \"red\", \"cell\": [0, 3]}]}", "objects[0].cell[1]");
  scene_fails ("{\"objects\": [{\"colour\": \"red\", \"cell\": [0]}]}", "[row, col]");
  scene_fails ("{\"objects\": [{\"colour\": \"red\", \"cell\": [0, 0], \"position\": \"top\"}]}", "is not the position");
  scene_fails ("{\"objects\": [{\"colour\": \"red\", \"position\": \"middle\"}]}", "objects[0].position");
  scene_fails ("{\"objects\": [{\"colour\": \"red\", \"bbox\": [5, 0, 5, 9]}]}", "x0 < x1");
  scene_fails ("{\"objects\": [{\"colour\": \"red\", \"bbox\": [0, 0, 5]}]}", "[x0, y0, x1, y1]");
  scene_fails ("{\"width\": 128, \"objects\": []}", "together");
  scene_fails ("{\"width\": 0, \"height\": 128, \"objects\": []}", "width/height");
  scene_fails ("{\"background\": \"red\", \"objects\": []}", "background must be an object");
  scene_fails ("{\"background\": {\"colour\": \"teal\"}, \"objects\": []}", "background.colour");
  GString *many = g_string_new ("{\"objects\": [");
  for (int i = 0; i <= SINOPIA_SCENE_MAX_OBJECTS; i++)
    g_string_append (many, i ? ", {\"colour\": \"red\"}" : "{\"colour\": \"red\"}");
  g_string_append (many, "]}");
  scene_fails (many->str, "more than");
  g_string_free (many, TRUE);

  /* Unknown keys and nulls are ignored; position alone gives the cell. */
  const char *ok = "{\"version\": 1, \"extra\": [1], \"background\": {\"colour\": null}, \"objects\": "
                   "[{\"colour\": \"red\", \"position\": \"bottom left\", \"shape\": null, \"note\": \"x\"}]}";
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaScene) scene = sinopia_scene_parse (ok, strlen (ok), &error);
  g_assert_no_error (error);
  g_assert_cmpint (scene->background, ==, -1);
  g_assert_cmpint (scene->objects[0].place, ==, SINOPIA_PLACE_CELL);
  g_assert_cmpint (scene->objects[0].row, ==, 2);
  g_assert_cmpint (scene->objects[0].col, ==, 0);
  g_assert_cmpint (scene->objects[0].shape, ==, -1);

  guint8 rgb[2 * 2 * 3] = { 0 };
  g_autoptr (SinopiaAnalysis) a = sinopia_analyze (rgb, 2, 2, scene, &error);
  g_assert_null (a);
  g_assert_error (error, SINOPIA_SCENE_ERROR, SINOPIA_SCENE_ERROR_IMAGE);
}

/* A plain image: the background only, every object missing, nothing extra. */
static void
test_plain (void)
{
  const char *json = "{\"background\": {\"colour\": \"cyan\"}, \"objects\": [{\"colour\": \"red\", \"cell\": [1, 1]}]}";
  g_autoptr (SinopiaScene) scene = sinopia_scene_parse (json, strlen (json), NULL);
  guint8 rgb[48 * 32 * 3];
  for (gsize i = 0; i < 48 * 32; i++) {
    rgb[i * 3] = 45;
    rgb[i * 3 + 1] = 195;
    rgb[i * 3 + 2] = 215;
  }
  g_autoptr (SinopiaAnalysis) a = sinopia_analyze (rgb, 48, 32, scene, NULL);
  g_assert_nonnull (a);
  g_assert_cmpint (a->background, ==, SINOPIA_COLOUR_CYAN);
  g_assert_true (a->background_ok);
  g_assert_cmpfloat (a->background_share, ==, 1.0);
  g_assert_cmpuint (a->background_rgb[2], ==, 215);
  g_assert_false (a->objects[0].found || a->objects[0].seen_elsewhere || a->objects[0].other_in_place);
  g_assert_cmpuint (a->n_extra, ==, 0);
}

/* Confetti (what an untrained model paints): 4-pixel cells of random prototypes, the expected
 * ones among them everywhere. No colour holds the border, so nothing is found. */
static void
test_confetti (void)
{
  const char *json = "{\"background\": {\"colour\": \"blue\"}, \"objects\": [{\"colour\": \"red\", "
                     "\"position\": \"center\"}]}";
  g_autoptr (SinopiaScene) scene = sinopia_scene_parse (json, strlen (json), NULL);
  enum { SIDE = 128 };
  g_autofree guint8 *rgb = g_new (guint8, SIDE * SIDE * 3);
  g_autoptr (GRand) rand = g_rand_new_with_seed (5);
  static const guint8 palette[4][3] = { { 40, 70, 210 }, { 220, 40, 40 }, { 240, 220, 40 }, { 245, 245, 245 } };
  guint8 cells[SIDE / 4][SIDE / 4];
  for (int y = 0; y < SIDE / 4; y++)
    for (int x = 0; x < SIDE / 4; x++)
      cells[y][x] = (guint8) g_rand_int_range (rand, 0, 4);
  for (int y = 0; y < SIDE; y++)
    for (int x = 0; x < SIDE; x++)
      memcpy (rgb + ((gsize) y * SIDE + x) * 3, palette[cells[y / 4][x / 4]], 3);
  g_autoptr (SinopiaAnalysis) a = sinopia_analyze (rgb, SIDE, SIDE, scene, NULL);
  g_assert_nonnull (a);
  g_assert_cmpfloat (a->background_share, <, SINOPIA_ANALYZE_MIN_BORDER_SHARE);
  g_assert_false (a->plain_background);
  g_assert_false (a->background_ok);
  g_assert_false (a->objects[0].found || a->objects[0].shape_ok);

  /* the same scene on a plain blue background with a red disc in the middle is found */
  for (int y = 0; y < SIDE; y++)
    for (int x = 0; x < SIDE; x++) {
      double d = hypot (x + 0.5 - SIDE / 2.0, y + 0.5 - SIDE / 2.0);
      memcpy (rgb + ((gsize) y * SIDE + x) * 3, palette[d < 20 ? 1 : 0], 3);
    }
  g_autoptr (SinopiaAnalysis) b = sinopia_analyze (rgb, SIDE, SIDE, scene, NULL);
  g_assert_true (b->plain_background && b->background_ok && b->objects[0].found);
}

/* ---- CLI ------------------------------------------------------------------------------------ */

static int
run_cli (const char *const *args, char **out)
{
  const char *cli = g_getenv ("SINOPIA_CLI");
  g_assert_nonnull (cli);
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) cli);
  for (const char *const *a = args; *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, NULL);
  int status = 0;
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, &err, &status,
                               &error));
  g_ptr_array_unref (argv);
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

static void
test_cli (void)
{
  if (g_getenv ("SINOPIA_CLI") == NULL) {
    g_test_skip ("SINOPIA_CLI is not set (run through meson test)");
    return;
  }
  g_autofree char *png = g_test_build_filename (G_TEST_DIST, "data", "shapes", "000000.png", NULL);
  g_autofree char *json = g_test_build_filename (G_TEST_DIST, "data", "shapes", "000000.json", NULL);
  g_autofree char *other = g_test_build_filename (G_TEST_DIST, "data", "shapes", "000001.json", NULL);

  g_autofree char *out = NULL;
  const char *ok[] = { "analyze", png, "--scene", json, NULL };
  g_assert_cmpint (run_cli (ok, &out), ==, 0);
  g_autoptr (SinopiaJson) doc = sinopia_json_parse (out, strlen (out), NULL);
  g_assert_nonnull (doc);
  gboolean all_ok = FALSE;
  g_assert_true (sinopia_json_get_bool (sinopia_json_object_get (sinopia_json_root (doc), "summary"), "all_ok",
                                        &all_ok, NULL));
  g_assert_true (all_ok);

  /* Another sample's scene: objects missing, still a measurement. */
  g_autofree char *out2 = NULL;
  const char *wrong[] = { "analyze", png, "--scene", other, NULL };
  g_assert_cmpint (run_cli (wrong, &out2), ==, 0);
  g_assert_nonnull (strstr (out2, "\"all_ok\": false"));

  const char *missing_image[] = { "analyze", "/nonexistent.png", "--scene", json, NULL };
  const char *bad_image[] = { "analyze", json, "--scene", json, NULL };
  const char *bad_scene[] = { "analyze", png, "--scene", png, NULL };
  const char *no_scene[] = { "analyze", png, NULL };
  const char *two_images[] = { "analyze", png, png, "--scene", json, NULL };
  const char *bad_option[] = { "analyze", png, "--scene", json, "--bogus", NULL };
  g_autofree char *o1 = NULL, *o2 = NULL, *o3 = NULL, *o4 = NULL, *o5 = NULL, *o6 = NULL;
  g_assert_cmpint (run_cli (missing_image, &o1), ==, 1);
  g_assert_cmpint (run_cli (bad_image, &o2), ==, 1);
  g_assert_cmpint (run_cli (bad_scene, &o3), ==, 1);
  g_assert_cmpint (run_cli (no_scene, &o4), ==, 2);
  g_assert_cmpint (run_cli (two_images, &o5), ==, 2);
  g_assert_cmpint (run_cli (bad_option, &o6), ==, 2);
  g_assert_cmpstr (o1, ==, "");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/analyze/fixture", test_fixture);
  g_test_add_func ("/analyze/blurred", test_blurred);
  g_test_add_func ("/analyze/removed", test_removed);
  g_test_add_func ("/analyze/recoloured", test_recoloured);
  g_test_add_func ("/analyze/moved", test_moved);
  g_test_add_func ("/analyze/reshaped", test_reshaped);
  g_test_add_func ("/analyze/boxes", test_boxes);
  g_test_add_func ("/analyze/scene-errors", test_scene_errors);
  g_test_add_func ("/analyze/plain", test_plain);
  g_test_add_func ("/analyze/confetti", test_confetti);
  g_test_add_func ("/analyze/cli", test_cli);
  return g_test_run ();
}
