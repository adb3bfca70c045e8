/* test-ui-project.c — the editor's model without a display: mask drawing, compositions, the
 * undo stack, and the project file (round trip, and each kind of malformed file refused with a
 * message naming what is wrong). */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "sinopia-mask.h"
#include "sinopia-png.h"
#include "sinopia-project.h"
#include "sinopia-undo.h"

static guint
count_inside (const guint8 *mask, gsize n)
{
  guint inside = 0;
  for (gsize i = 0; i < n; i++)
    inside += mask[i] != 0;
  return inside;
}

static void
test_mask_shapes (void)
{
  guint8 mask[32 * 16] = { 0 };
  /* pixel centres inside [2, 6) × [3, 5): 4 × 2 pixels, corners in any order */
  sinopia_mask_fill_rect (mask, 32, 16, 6, 5, 2, 3, 255);
  g_assert_cmpuint (count_inside (mask, sizeof mask), ==, 8);
  uint32_t box[4];
  g_assert_true (sinopia_mask_bounds (mask, 32, 16, box));
  g_assert_cmpuint (box[0], ==, 2);
  g_assert_cmpuint (box[1], ==, 3);
  g_assert_cmpuint (box[2], ==, 4);
  g_assert_cmpuint (box[3], ==, 2);
  /* clipped: nothing outside the mask is written */
  memset (mask, 0, sizeof mask);
  sinopia_mask_fill_rect (mask, 32, 16, -100, -100, 1000, 1000, 1);
  g_assert_cmpuint (count_inside (mask, sizeof mask), ==, 32 * 16);
  g_assert_cmpfloat (sinopia_mask_coverage (mask, 32, 16), ==, 1.0);
  /* an ellipse covers about π/4 of its box */
  memset (mask, 0, sizeof mask);
  sinopia_mask_fill_ellipse (mask, 32, 16, 0, 0, 16, 16, 255);
  double share = count_inside (mask, sizeof mask) / 256.0;
  g_assert_cmpfloat (fabs (share - G_PI / 4), <, 0.03);
  g_assert_cmpint (mask[8 * 32 + 8], !=, 0);
  g_assert_cmpint (mask[0], ==, 0);
  /* a stroke: every pixel within the radius of the segment */
  memset (mask, 0, sizeof mask);
  sinopia_mask_stroke (mask, 32, 16, 4, 8, 28, 8, 2, 255);
  g_assert_cmpint (mask[8 * 32 + 16], !=, 0);
  g_assert_cmpint (mask[5 * 32 + 16], ==, 0);
  g_assert_false (sinopia_mask_bounds ((guint8[4]) { 0 }, 2, 2, box));
}

static void
test_mask_remap (void)
{
  guint8 mask[16 * 16] = { 0 };
  sinopia_mask_fill_rect (mask, 16, 16, 2, 2, 6, 4, 255);
  /* moved by (5, 7) */
  g_autofree guint8 *moved = sinopia_mask_remap (mask, 16, 16, (double[]) { 2, 2, 4, 2 }, (double[]) { 7, 9, 4, 2 });
  uint32_t box[4];
  g_assert_true (sinopia_mask_bounds (moved, 16, 16, box));
  g_assert_cmpuint (box[0], ==, 7);
  g_assert_cmpuint (box[1], ==, 9);
  g_assert_cmpuint (count_inside (moved, 256), ==, 8);
  /* scaled twice as large */
  g_autofree guint8 *scaled = sinopia_mask_remap (mask, 16, 16, (double[]) { 2, 2, 4, 2 }, (double[]) { 2, 2, 8, 4 });
  g_assert_cmpuint (count_inside (scaled, 256), ==, 32);
  /* partly outside: clipped */
  g_autofree guint8 *out = sinopia_mask_remap (mask, 16, 16, (double[]) { 2, 2, 4, 2 }, (double[]) { 14, 2, 4, 2 });
  g_assert_cmpuint (count_inside (out, 256), ==, 4);
  g_autofree guint8 *resampled = sinopia_mask_resample (mask, 16, 16, 32, 8);
  g_assert_cmpuint (count_inside (resampled, 256), ==, 8);
}

static SinopiaProject *
sample_project (void)
{
  SinopiaProject *p = sinopia_project_new (32, 16);
  SinopiaComposition *c = p->composition;
  g_free (c->prompt);
  c->prompt = g_strdup ("a white background, \"quoted\" \\ and ünïcode ✓");
  SinopiaDocRegion *a = sinopia_composition_add_region (c);
  g_free (a->prompt);
  a->prompt = g_strdup ("a red circle");
  sinopia_mask_fill_ellipse (a->mask, 32, 16, 1, 1, 15, 15, 255);
  SinopiaDocRegion *b = sinopia_composition_add_region (c);
  b->visible = FALSE;
  sinopia_mask_fill_rect (b->mask, 32, 16, 16, 0, 32, 16, 255);
  p->settings.mode = SINOPIA_MODE_INPAINT;
  p->settings.steps = 12;
  p->settings.seed = ((guint64) 1 << 53) - 1;
  p->settings.keep_seed = FALSE;
  p->settings.guidance = 3.25;
  p->settings.base_ratio = 0.2;
  p->settings.double_interval = 2;
  p->input_rgb = g_malloc (32 * 16 * 3);
  for (int i = 0; i < 32 * 16 * 3; i++)
    p->input_rgb[i] = (guint8) (i * 13);
  SinopiaHistoryItem *item = g_new0 (SinopiaHistoryItem, 1);
  item->width = 16;
  item->height = 16;
  item->rgb = g_malloc0 (16 * 16 * 3);
  item->rgb[5] = 200;
  item->parameters = g_strdup ("{\"seed\":1}");
  g_ptr_array_add (p->history, item);
  p->shown = 0;
  return p;
}

static void
test_project_round_trip (void)
{
  g_autoptr (SinopiaProject) p = sample_project ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = sinopia_project_to_bytes (p, &error);
  g_assert_no_error (error);
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  g_autoptr (SinopiaProject) q = sinopia_project_from_bytes (data, len, "test", &error);
  g_assert_no_error (error);
  g_assert_true (sinopia_composition_equal (p->composition, q->composition));
  g_assert_cmpint (q->settings.mode, ==, SINOPIA_MODE_INPAINT);
  g_assert_cmpuint (q->settings.steps, ==, 12);
  g_assert_cmpuint (q->settings.seed, ==, p->settings.seed);
  g_assert_false (q->settings.keep_seed);
  g_assert_cmpfloat (q->settings.guidance, ==, 3.25);
  g_assert_cmpfloat (q->settings.base_ratio, ==, 0.2);
  g_assert_cmpint (q->settings.double_interval, ==, 2);
  g_assert_cmpint (q->settings.single_interval, ==, -1);
  g_assert_cmpmem (q->input_rgb, 32 * 16 * 3, p->input_rgb, 32 * 16 * 3);
  g_assert_nonnull (q->input_png);
  g_assert_cmpuint (q->history->len, ==, 1);
  const SinopiaHistoryItem *item = g_ptr_array_index (q->history, 0);
  g_assert_cmpuint (item->width, ==, 16);
  g_assert_cmpint (item->rgb[5], ==, 200);
  g_assert_cmpstr (item->parameters, ==, "{\"seed\":1}");
  g_assert_cmpint (q->shown, ==, 0);
  /* the history image's file is kept and written back as it was */
  g_assert_nonnull (item->png);
  /* the file is deterministic */
  g_autoptr (GBytes) again = sinopia_project_to_bytes (q, &error);
  g_assert_true (g_bytes_equal (bytes, again));
  /* a default guidance is null in the file */
  p->settings.guidance = NAN;
  g_autoptr (GBytes) nan_bytes = sinopia_project_to_bytes (p, &error);
  g_assert_nonnull (strstr (g_bytes_get_data (nan_bytes, NULL), "\"guidance\":null"));
  /* so is a default base ratio, a new project's, and it reads back as the model's default */
  g_autoptr (SinopiaProject) fresh = sinopia_project_new (32, 16);
  g_assert_true (isnan (fresh->settings.base_ratio));
  g_autoptr (GBytes) fresh_bytes = sinopia_project_to_bytes (fresh, &error);
  g_assert_nonnull (strstr (g_bytes_get_data (fresh_bytes, NULL), "\"base_ratio\":null"));
  g_autoptr (SinopiaProject) fresh_back
      = sinopia_project_from_bytes (g_bytes_get_data (fresh_bytes, NULL), g_bytes_get_size (fresh_bytes), "test", &error);
  g_assert_no_error (error);
  g_assert_true (isnan (fresh_back->settings.base_ratio));

  g_autofree char *path = g_build_filename (g_get_tmp_dir (), "sinopia-test-project.sinopia", NULL);
  g_assert_true (sinopia_project_save (q, path, &error));
  g_autoptr (SinopiaProject) r = sinopia_project_load (path, &error);
  g_assert_no_error (error);
  g_assert_true (sinopia_composition_equal (q->composition, r->composition));
  g_remove (path);
  g_autoptr (SinopiaProject) missing = sinopia_project_load (path, &error);
  g_assert_null (missing);
  g_assert_error (error, SINOPIA_PROJECT_ERROR, SINOPIA_PROJECT_ERROR_IO);
}

/* The sample file with `from` replaced by `to` (once) must fail with `code` and a message
 * containing `words`. */
static void
check_refused (const char *from, const char *to, int code, const char *words)
{
  g_autoptr (SinopiaProject) p = sample_project ();
  g_autoptr (GBytes) bytes = sinopia_project_to_bytes (p, NULL);
  g_autofree char *text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  char *at = strstr (text, from);
  g_assert_nonnull (at);
  g_autofree char *edited = g_strdup_printf ("%.*s%s%s", (int) (at - text), text, to, at + strlen (from));
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaProject) q = sinopia_project_from_bytes (edited, strlen (edited), "bad.sinopia", &error);
  g_assert_null (q);
  g_assert_error (error, SINOPIA_PROJECT_ERROR, code);
  if (!strstr (error->message, words))
    g_error ("\"%s\" does not mention \"%s\"", error->message, words);
  g_assert_true (g_str_has_prefix (error->message, "bad.sinopia: "));
}

static void
test_project_refused (void)
{
  check_refused ("\"format\":\"sinopia-project\"", "\"format\":\"other\"", SINOPIA_PROJECT_ERROR_INVALID,
                 "not a Sinopia project");
  check_refused ("\"version\":1", "\"version\":2", SINOPIA_PROJECT_ERROR_VERSION, "newer Sinopia");
  check_refused ("\"width\":32", "\"width\":31", SINOPIA_PROJECT_ERROR_INVALID, "do not add up");
  check_refused ("\"width\":32", "\"width\":100000", SINOPIA_PROJECT_ERROR_INVALID, "width");
  check_refused ("\"mode\":\"inpaint\"", "\"mode\":\"paint\"", SINOPIA_PROJECT_ERROR_INVALID, "mode");
  check_refused ("\"colour\":\"#e01b24\"", "\"colour\":\"red\"", SINOPIA_PROJECT_ERROR_INVALID, "colour");
  check_refused ("\"steps\":12", "\"steps\":-1", SINOPIA_PROJECT_ERROR_INVALID, "steps");
  check_refused ("\"base_ratio\":0.2", "\"base_ratio\":2", SINOPIA_PROJECT_ERROR_INVALID, "base_ratio");
  check_refused ("\"guidance\":3.25", "\"guidance\":101", SINOPIA_PROJECT_ERROR_INVALID, "guidance 101 is outside");
  check_refused ("\"visible\":false", "\"visible\":0", SINOPIA_PROJECT_ERROR_INVALID, "visible");
  check_refused ("\"input\":\"", "\"input\":\"AAAA", SINOPIA_PROJECT_ERROR_INVALID, "input");
  check_refused ("\"shown\":0", "\"shown\":1", SINOPIA_PROJECT_ERROR_INVALID, "shown");
  check_refused ("\"regions\":[", "\"regions\":7,\"x\":[", SINOPIA_PROJECT_ERROR_INVALID, "regions");
  check_refused ("{", "[", SINOPIA_PROJECT_ERROR_INVALID, "not a Sinopia project");
}

static void
test_project_size_mismatch (void)
{
  /* an input image of another size than the project is refused */
  g_autoptr (SinopiaProject) p = sample_project ();
  g_autoptr (SinopiaProject) small = sinopia_project_new (16, 16);
  small->input_rgb = g_malloc0 (16 * 16 * 3);
  g_autoptr (GBytes) small_bytes = sinopia_project_to_bytes (small, NULL);
  g_autoptr (GBytes) bytes = sinopia_project_to_bytes (p, NULL);
  /* splice the 16 × 16 input into the 32 × 16 project */
  const char *s = g_bytes_get_data (small_bytes, NULL), *t = g_bytes_get_data (bytes, NULL);
  const char *s_in = strstr (s, "\"input\":"), *s_end = strstr (s_in, ",\"history\"");
  const char *t_in = strstr (t, "\"input\":"), *t_end = strstr (t_in, ",\"history\"");
  g_autofree char *spliced = g_strdup_printf ("%.*s%.*s%s", (int) (t_in - t), t, (int) (s_end - s_in), s_in, t_end);
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaProject) q = sinopia_project_from_bytes (spliced, strlen (spliced), NULL, &error);
  g_assert_null (q);
  g_assert_error (error, SINOPIA_PROJECT_ERROR, SINOPIA_PROJECT_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "16 × 16"));
}

static void
test_history_png_kept (void)
{
  /* a history entry's own PNG is written as it is, not encoded again */
  g_autoptr (SinopiaProject) p = sample_project ();
  SinopiaHistoryItem *item = g_ptr_array_index (p->history, 0);
  const char *texts[] = { "marker", "kept", NULL };
  item->png = sinopia_png_encode_rgb (item->rgb, item->width, item->height, texts, NULL);
  g_assert_nonnull (item->png);
  g_autoptr (GBytes) bytes = sinopia_project_to_bytes (p, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaProject) q = sinopia_project_from_bytes (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                                             NULL, &error);
  g_assert_no_error (error);
  const SinopiaHistoryItem *back = g_ptr_array_index (q->history, 0);
  g_assert_true (g_bytes_equal (back->png, item->png));
  g_autoptr (SinopiaPngImage) png = sinopia_png_decode (g_bytes_get_data (back->png, NULL),
                                                        g_bytes_get_size (back->png), 0, NULL, NULL);
  g_assert_cmpstr (sinopia_png_image_get_text (png, "marker"), ==, "kept");
  g_assert_cmpmem (back->rgb, 16 * 16 * 3, item->rgb, 16 * 16 * 3);
}

static void
test_regions_json (void)
{
  g_autoptr (SinopiaProject) p = sample_project ();
  g_autofree char *json = sinopia_composition_regions_json (p->composition);
  /* the hidden region is left out */
  g_assert_cmpstr (json, ==, "[{\"prompt\":\"a red circle\",\"colour\":\"#e01b24\",\"box\":[1,1,14,14]}]");
}

static SinopiaComposition *
with_prompt (const char *prompt)
{
  SinopiaComposition *c = sinopia_composition_new (4, 4);
  g_free (c->prompt);
  c->prompt = g_strdup (prompt);
  return c;
}

static void
test_undo_stack (void)
{
  g_autoptr (SinopiaUndoStack) stack = sinopia_undo_stack_new ();
  g_autoptr (SinopiaComposition) a = with_prompt ("a");
  g_autoptr (SinopiaComposition) ab = with_prompt ("ab");
  SinopiaComposition *current = with_prompt ("abc");
  g_assert_false (sinopia_undo_stack_undo (stack, &current));
  /* two records under one key within the coalescing time are one step */
  sinopia_undo_stack_record (stack, a, "prompt");
  sinopia_undo_stack_record (stack, ab, "prompt");
  g_assert_true (sinopia_undo_stack_undo (stack, &current));
  g_assert_cmpstr (current->prompt, ==, "a");
  g_assert_false (sinopia_undo_stack_can_undo (stack));
  g_assert_true (sinopia_undo_stack_redo (stack, &current));
  g_assert_cmpstr (current->prompt, ==, "abc");
  /* a new record forgets the redo states; different keys are separate steps */
  sinopia_undo_stack_record (stack, a, "prompt");
  sinopia_undo_stack_record (stack, ab, "negative");
  g_assert_false (sinopia_undo_stack_can_redo (stack));
  g_assert_true (sinopia_undo_stack_undo (stack, &current));
  g_assert_true (sinopia_undo_stack_undo (stack, &current));
  g_assert_true (sinopia_undo_stack_undo (stack, &current));
  g_assert_cmpstr (current->prompt, ==, "a");
  /* bounded */
  for (int i = 0; i < SINOPIA_UNDO_DEPTH + 10; i++)
    sinopia_undo_stack_record (stack, a, NULL);
  int steps = 0;
  while (sinopia_undo_stack_undo (stack, &current))
    steps++;
  g_assert_cmpint (steps, ==, SINOPIA_UNDO_DEPTH);
  sinopia_composition_free (current);
}

static void
test_composition_edits (void)
{
  g_autoptr (SinopiaComposition) c = sinopia_composition_new (8, 8);
  for (int i = 0; i < SINOPIA_COMPOSITION_MAX_REGIONS; i++)
    g_assert_nonnull (sinopia_composition_add_region (c));
  g_assert_null (sinopia_composition_add_region (c));
  SinopiaDocRegion *first = g_ptr_array_index (c->regions, 0);
  guint id = first->id;
  sinopia_mask_fill_rect (first->mask, 8, 8, 0, 0, 8, 8, 255);
  SinopiaDocRegion *second = g_ptr_array_index (c->regions, 1);
  sinopia_mask_fill_rect (second->mask, 8, 8, 0, 0, 8, 8, 255);
  g_assert_cmpuint (sinopia_composition_region_at (c, 3, 3), ==, id);
  sinopia_composition_move (c, 0, 5);
  guint index;
  g_assert_nonnull (sinopia_composition_find (c, id, &index));
  g_assert_cmpuint (index, ==, 5);
  g_assert_cmpuint (sinopia_composition_region_at (c, 3, 3), ==, second->id);
  g_assert_cmpuint (sinopia_composition_region_at (c, -1, 3), ==, 0);
  sinopia_composition_resize (c, 16, 4);
  g_assert_cmpuint (c->width, ==, 16);
  g_assert_cmpint (second->mask[3 * 16 + 15], !=, 0);
  g_autoptr (SinopiaComposition) copy = sinopia_composition_copy (c);
  g_assert_true (sinopia_composition_equal (c, copy));
  second->mask[0] = 0;
  g_assert_false (sinopia_composition_equal (c, copy));
  guint8 colour[3];
  g_assert_true (sinopia_colour_parse ("#0aFf10", colour));
  g_assert_cmpint (colour[1], ==, 255);
  g_assert_false (sinopia_colour_parse ("#0aFf1", colour));
  g_assert_false (sinopia_colour_parse ("#0aFf1g", colour));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ui-model/mask/shapes", test_mask_shapes);
  g_test_add_func ("/ui-model/mask/remap", test_mask_remap);
  g_test_add_func ("/ui-model/composition/edits", test_composition_edits);
  g_test_add_func ("/ui-model/undo/stack", test_undo_stack);
  g_test_add_func ("/ui-model/project/round-trip", test_project_round_trip);
  g_test_add_func ("/ui-model/project/refused", test_project_refused);
  g_test_add_func ("/ui-model/project/input-size", test_project_size_mismatch);
  g_test_add_func ("/ui-model/project/history-png-kept", test_history_png_kept);
  g_test_add_func ("/ui-model/project/regions-json", test_regions_json);
  return g_test_run ();
}
