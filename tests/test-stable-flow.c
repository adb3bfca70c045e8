/* Stable Flow (../shared/docs/algorithms.md §2.10) on a tiny random model written by the test:
 * the reference branch is plain sampling of the source prompt bit for bit (whatever the vital
 * layers), an identity edit is the reference, no vital layers give independent sampling, the
 * real-image reference mapping, the model's vital layers, errors, cancel and `sinopia-cli edit`. */
#define G_LOG_DOMAIN "sinopia-test"

#include <math.h>
#include <string.h>

#include "sinopia-edit.h"
#include "sinopia-vital-layers.h"
#include "sinopia-png.h"
#include "sinopia-test-golden.h"
#include "sinopia-test-model.h"
#include "sinopia-test-vk.h"

#define SIDE 64
#define STEPS 3
#define TEXT_LENGTH 8
#define N_TOKENS 16
#define C 64

/* vital: double block 0 and single block 1 (global layer 3) */
static const SinopiaTestModel tiny = {
  .name = "tiny-stable-flow", .side = SIDE, .steps = STEPS, .text_length = TEXT_LENGTH, .depth = 2,
  .depth_single = 2, .extra_json = ", \"vital_layers\": {\"double_blocks\": [0], \"single_blocks\": [1]}",
};

static char *tmp_root, *model_dir;
static SinopiaModel *model;

static gsize
latent_size (const SinopiaImage *img)
{
  return (gsize) img->latent_channels * img->latent_height * img->latent_width * sizeof (float);
}

static void
edit_params (SinopiaEditParams *p, const char *source, const char *prompt)
{
  sinopia_edit_params_init (p);
  p->source_prompt = source;
  p->prompt = prompt;
  p->seed = 11;
}

static SinopiaImage *
generate (const char *prompt)
{
  g_autoptr (GError) error = NULL;
  SinopiaGenerateParams p;
  sinopia_generate_params_init (&p);
  p.prompt = prompt;
  p.seed = 11;
  SinopiaImage *img = sinopia_generate (model, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  return img;
}

static SinopiaImage *
edit (const SinopiaEditParams *p, SinopiaImage **reference)
{
  g_autoptr (GError) error = NULL;
  SinopiaImage *img = sinopia_edit (model, p, NULL, NULL, NULL, reference, &error);
  g_assert_no_error (error);
  return img;
}

/* §2.10 test 1, the exact test: the reference branch equals sinopia_generate of the
 * source prompt bit for bit (latent and pixels), with the model's vital layers, with every
 * layer vital and with none (CFG on: the model's guidance is 2.5). */
static void
test_reference_is_plain (void)
{
  g_autoptr (SinopiaImage) plain = generate ("a red circle on a blue background");
  const guint all[] = { 0, 1, 2, 3 };
  int counts[] = { -1, 4, 0 };
  for (guint i = 0; i < G_N_ELEMENTS (counts); i++) {
    SinopiaEditParams p;
    edit_params (&p, "a red circle on a blue background", "a green square on a blue background");
    p.vital_layers = all;
    p.n_vital_layers = counts[i];
    SinopiaImage *ref = NULL;
    g_autoptr (SinopiaImage) edited = edit (&p, &ref);
    g_autoptr (SinopiaImage) reference = ref;
    g_assert_cmpmem (reference->latent, latent_size (reference), plain->latent, latent_size (plain));
    g_assert_cmpmem (reference->rgb, SIDE * SIDE * 3, plain->rgb, SIDE * SIDE * 3);
    g_assert_cmpfloat (sinopia_test_max_abs_diff (edited->latent, plain->latent, latent_size (plain) / 4), >, 1e-3);
    g_assert_cmpstr (edited->prompt, ==, "a green square on a blue background");
    g_assert_cmpstr (reference->prompt, ==, "a red circle on a blue background");
  }
}

/* §2.10 tests 2 and 3: the same prompt gives the reference; no vital layers give independent
 * sampling of the edit prompt; the model's vital layers pull the edit towards the reference. */
static void
test_identity_and_independence (void)
{
  SinopiaEditParams p;
  edit_params (&p, "a red circle", "a red circle");
  SinopiaImage *ref = NULL;
  g_autoptr (SinopiaImage) same = edit (&p, &ref);
  g_autoptr (SinopiaImage) reference = ref;
  g_assert_cmpmem (same->latent, latent_size (same), reference->latent, latent_size (reference));

  g_autoptr (SinopiaImage) alone = generate ("a green square");
  edit_params (&p, "a red circle", "a green square");
  p.n_vital_layers = 0;
  g_autoptr (SinopiaImage) independent = edit (&p, NULL);
  g_assert_cmpmem (independent->latent, latent_size (independent), alone->latent, latent_size (alone));
  p.n_vital_layers = -1;
  g_autoptr (SinopiaImage) injected = edit (&p, NULL);
  g_assert_cmpfloat (sinopia_test_max_abs_diff (injected->latent, alone->latent, latent_size (alone) / 4), >, 1e-4);
}

/* §2.10 test 5: with N = 6 the literal mapping puts the reference on I[(6 − i) mod 6] after
 * step i and the aligned one on I[4 − i]. End to end on random inputs: the inversion's first
 * step is variant B's, and after the last edit step the reference is I[1] (literal) or the
 * clean latent (aligned), bit for bit. */
static void
test_reference_mapping (void)
{
  const int literal[6] = { 0, 5, 4, 3, 2, 1 }, aligned[6] = { 4, 3, 2, 1, 0, -1 };
  for (guint i = 0; i < 6; i++) {
    g_assert_cmpint (sinopia_stable_flow_reference_index (6, i, FALSE), ==, literal[i]);
    g_assert_cmpint (sinopia_stable_flow_reference_index (6, i, TRUE), ==, aligned[i]);
  }

  const SinopiaFluxConfig *cfg = sinopia_flux_model_config (sinopia_model_flux (model));
  uint32_t Tn = TEXT_LENGTH * cfg->context_in_dim;
  g_autofree float *txt = sinopia_test_random (51, Tn, -1, 1), *txt2 = sinopia_test_random (52, Tn, -1, 1);
  g_autofree float *y = sinopia_test_random (53, cfg->vec_in_dim, -1, 1), *txt_ids = g_new0 (float, TEXT_LENGTH * 3);
  g_autofree float *ids = g_new (float, N_TOKENS * 3), *ts = g_new (float, STEPS + 1);
  g_autofree float *clean = sinopia_test_random (54, N_TOKENS * C, -1, 1);
  g_autofree float *trajectory = g_new (float, STEPS * N_TOKENS * C);
  g_autofree float *ref = g_new (float, N_TOKENS * C), *out = g_new (float, N_TOKENS * C);
  gboolean vital[4] = { TRUE, FALSE, FALSE, TRUE };
  sinopia_flux_img_ids (8, 8, ids);
  sinopia_flux_schedule (STEPS, N_TOKENS, TRUE, ts);
  SinopiaStableFlowRequest req = {
    .model = sinopia_model_flux (model), .src_txt = txt, .src_y = y, .tar_txt = txt2, .tar_y = y, .txt_ids = txt_ids,
    .n_txt = TEXT_LENGTH, .img_ids = ids, .n_img = N_TOKENS, .timesteps = ts, .n_steps = STEPS,
    .ref_guidance = 1.0f, .edit_guidance = 1.0f, .vital = vital, .clean = clean,
  };
  g_autoptr (GError) error = NULL;
  g_assert_true (sinopia_stable_flow_invert (&req, clean, trajectory, NULL, NULL, &error));
  g_assert_no_error (error);
  /* the inversion walks up: the last latent is at σ_0 = 1 and far from the clean one */
  g_assert_cmpfloat (sinopia_test_max_abs_diff (trajectory + 2 * N_TOKENS * C, clean, N_TOKENS * C), >, 0.1);
  /* variant B: the first step evaluates the clean latent at its destination σ_{N−1} and jumps
   * from 0 there — one plain Euler step written out */
  float t_eval = ts[STEPS - 1], dt = ts[STEPS - 1] - ts[STEPS];
  g_autofree float *first = g_memdup2 (clean, N_TOKENS * C * sizeof (float));
  SinopiaSampleRequest one = {
    .model = req.model, .txt = txt, .txt_ids = txt_ids, .y = y, .n_txt = TEXT_LENGTH, .guidance = 1.0f,
    .img_ids = ids, .n_img = N_TOKENS, .t_eval = &t_eval, .dt = &dt, .n_steps = 1,
  };
  g_assert_true (sinopia_flux_sample (&one, first, NULL, NULL, &error));
  g_assert_cmpmem (first, N_TOKENS * C * 4, trajectory, N_TOKENS * C * 4);
  req.trajectory = trajectory;
  g_assert_true (sinopia_stable_flow (&req, trajectory + 2 * N_TOKENS * C, ref, out, NULL, NULL, &error));
  g_assert_cmpmem (ref, N_TOKENS * C * 4, trajectory + 1 * N_TOKENS * C, N_TOKENS * C * 4);
  req.aligned = TRUE;
  g_assert_true (sinopia_stable_flow (&req, trajectory + 2 * N_TOKENS * C, ref, out, NULL, NULL, &error));
  g_assert_cmpmem (ref, N_TOKENS * C * 4, clean, N_TOKENS * C * 4);
}

typedef struct {
  guint calls, n_steps, stop_at, previews;
} Progress;

static gboolean
on_step (const SinopiaStepInfo *info, gpointer user)
{
  Progress *p = user;
  g_assert_cmpuint (info->step, ==, p->calls);
  p->calls++;
  p->n_steps = info->n_steps;
  p->previews += info->preview_rgb && info->preview_width == SIDE / 8 && info->preview_height == SIDE / 8;
  return p->calls != p->stop_at;
}

static guint8 *
test_image (void)
{
  guint8 *rgb = g_new (guint8, SIDE * SIDE * 3);
  for (uint32_t px = 0; px < SIDE * SIDE; px++) {
    rgb[px * 3] = (guint8) (px % SIDE * 4);
    rgb[px * 3 + 1] = (guint8) (px / SIDE * 4);
    rgb[px * 3 + 2] = 128;
  }
  return rgb;
}

/* Real images: inversion then editing, counted together, each step with a preview; cancelling
 * in the inversion and in the edit stops it. */
static void
test_real_image (void)
{
  g_autofree guint8 *rgb = test_image ();
  SinopiaEditParams p;
  edit_params (&p, "a red circle", "a green circle");
  p.image = rgb;
  p.width = p.height = SIDE;
  p.preview = TRUE;
  Progress progress = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaImage) img = sinopia_edit (model, &p, NULL, on_step, &progress, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (progress.calls, ==, 2 * STEPS);
  g_assert_cmpuint (progress.previews, ==, 2 * STEPS);
  g_assert_cmpuint (progress.n_steps, ==, 2 * STEPS);
  g_assert_cmpuint (img->width, ==, SIDE);
  g_assert_cmpfloat (img->guidance, ==, 2.5f);
  for (guint stop = 1; stop <= STEPS + 1; stop += STEPS) {
    Progress cancel = { .stop_at = stop };
    g_autoptr (GError) e2 = NULL;
    g_autoptr (SinopiaImage) none = sinopia_edit (model, &p, NULL, on_step, &cancel, NULL, &e2);
    g_assert_null (none);
    g_assert_error (e2, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_CANCELLED);
    g_assert_cmpuint (cancel.calls, ==, stop);
  }
}

static void
expect_error (const SinopiaEditParams *p, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaImage) img = sinopia_edit (model, p, NULL, NULL, NULL, NULL, &error);
  g_assert_null (img);
  g_assert_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT);
  if (!strstr (error->message, needle))
    g_error ("expected \"%s\" in: %s", needle, error->message);
}

/* The model's vital layers come from sinopia-model.json (double and single lists, or global
 * "layers"); indices past the model and models without a list are errors. */
static void
test_vital_layers (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gboolean *flags = sinopia_edit_model_vital_layers (model, &error);
  g_assert_no_error (error);
  const gboolean want[4] = { TRUE, FALSE, FALSE, TRUE };
  g_assert_cmpmem (flags, sizeof want, want, sizeof want);

  const char *json = "{\"vital_layers\": {\"layers\": [2, 0]}}";
  g_autoptr (SinopiaModelInfo) info = sinopia_model_info_parse (json, strlen (json), "m", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (info->vital.n_layers, ==, 2);
  g_assert_cmpuint (info->vital.layers[0], ==, 2);
  const char *bad = "{\"vital_layers\": {\"layers\": [1, -2]}}";
  g_assert_null (sinopia_model_info_parse (bad, strlen (bad), "m", &error));
  g_assert_nonnull (strstr (error->message, "vital_layers: layers[1]"));

  const guint past[] = { 4 };
  SinopiaEditParams p;
  edit_params (&p, "a", "b");
  p.vital_layers = past;
  p.n_vital_layers = 1;
  expect_error (&p, "Vital layer 4 is past the transformer's 4 layers");
}

/* sinopia-model.json's stable_flow.generated_steps is the step count of generated edits left at
 * the default (the same edit as with those steps given), not of real-image edits; bad values
 * are errors that name the key. */
static void
test_generated_steps (void)
{
  g_autoptr (GError) error = NULL;
  SinopiaTestModel fewer = tiny;
  fewer.extra_json = ", \"vital_layers\": {\"double_blocks\": [0], \"single_blocks\": [1]}, "
                     "\"stable_flow\": {\"generated_steps\": 2}";
  g_autofree char *dir = g_build_filename (tmp_root, "generated-steps", NULL);
  g_autofree char *tokenizer = g_test_build_filename (G_TEST_DIST, "data", "spm-nmt.model", NULL);
  sinopia_test_write_model (dir, tokenizer, &fewer);
  g_autoptr (SinopiaModel) m = sinopia_model_load (sinopia_test_context (), dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sinopia_model_info (m)->stable_flow.generated_steps, ==, 2);

  SinopiaEditParams p;
  edit_params (&p, "a red circle", "a green circle");
  g_autoptr (SinopiaImage) by_default = sinopia_edit (m, &p, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  p.steps = 2;
  g_autoptr (SinopiaImage) two = sinopia_edit (m, &p, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  p.steps = STEPS;
  g_autoptr (SinopiaImage) three = sinopia_edit (m, &p, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (by_default->steps, ==, 2);
  g_assert_cmpmem (by_default->latent, latent_size (two), two->latent, latent_size (two));
  g_assert_cmpfloat (sinopia_test_max_abs_diff (by_default->latent, three->latent, latent_size (three) / 4), >, 1e-4);

  g_autofree guint8 *rgb = test_image ();
  edit_params (&p, "a red circle", "a green circle");
  p.image = rgb;
  p.width = p.height = SIDE;
  Progress progress = { 0 };
  g_autoptr (SinopiaImage) real = sinopia_edit (m, &p, NULL, on_step, &progress, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (real->steps, ==, STEPS);
  g_assert_cmpuint (progress.calls, ==, 2 * STEPS);

  const char *bad[] = { "{\"stable_flow\": {\"generated_steps\": 0}}", "{\"stable_flow\": {\"generated_steps\": 2.5}}",
                        "{\"stable_flow\": [15]}" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) e = NULL;
    g_assert_null (sinopia_model_info_parse (bad[i], strlen (bad[i]), "m", &e));
    g_assert_error (e, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_INFO);
    if (!strstr (e->message, "stable_flow: "))
      g_error ("expected the section in: %s", e->message);
  }
}

/* SSIM: 1 for equal images, lower for noise and for a brightness shift; symmetric. */
static void
test_ssim (void)
{
  g_autofree guint8 *a = test_image (), *b = test_image (), *c = test_image ();
  for (uint32_t i = 0; i < SIDE * SIDE * 3; i++) {
    b[i] = (guint8) CLAMP (b[i] + (int) (i * 7919 % 41) - 20, 0, 255);
    c[i] = (guint8) MIN (c[i] + 40, 255);
  }
  g_assert_cmpfloat (sinopia_ssim (a, a, SIDE, SIDE), ==, 1.0);
  double noisy = sinopia_ssim (a, b, SIDE, SIDE), shifted = sinopia_ssim (a, c, SIDE, SIDE);
  g_assert_cmpfloat (noisy, <, 0.99);
  g_assert_cmpfloat (noisy, >, 0.0);
  g_assert_cmpfloat (shifted, <, 0.99);
  g_assert_cmpfloat (fabs (sinopia_ssim (b, a, SIDE, SIDE) - noisy), <, 1e-12);
}

/* §2.10 test 7: bypassing a layer is running the model with that block deleted — here a copy
 * of the model whose block has zero modulation weights, so it adds gate 0 × anything — bit for
 * bit; the detector ranks layers by mean 1 − SSIM and is deterministic. */
static void
test_vital_layer_detector (void)
{
  g_autoptr (GError) error = NULL;
  const char *zeroed[] = { "single_blocks.1.modulation", NULL };
  SinopiaTestModel deleted = tiny;
  deleted.zeroed = zeroed;
  g_autofree char *dir = g_build_filename (tmp_root, "deleted", NULL);
  g_autofree char *tokenizer = g_test_build_filename (G_TEST_DIST, "data", "spm-nmt.model", NULL);
  sinopia_test_write_model (dir, tokenizer, &deleted);
  g_autoptr (SinopiaModel) without = sinopia_model_load (sinopia_test_context (), dir, &error);
  g_assert_no_error (error);

  gboolean bypass[4] = { FALSE, FALSE, FALSE, TRUE };
  SinopiaGenerateParams p;
  sinopia_generate_params_init (&p);
  p.prompt = "a red circle";
  p.seed = 4;
  g_autoptr (SinopiaImage) plain = sinopia_generate (model, &p, NULL, NULL, NULL, &error);
  g_autoptr (SinopiaImage) deleted_img = sinopia_generate (without, &p, NULL, NULL, NULL, &error);
  p.bypass = bypass;
  g_autoptr (SinopiaImage) bypassed = sinopia_generate (model, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (bypassed->latent, latent_size (bypassed), deleted_img->latent, latent_size (deleted_img));
  g_assert_cmpfloat (sinopia_test_max_abs_diff (bypassed->latent, plain->latent, latent_size (plain) / 4), >, 1e-3);

  const char *prompts[] = { "a red circle", "a blue square on a green background" };
  SinopiaVitalLayersParams vp = { .prompts = prompts, .n_prompts = 2, .seed = 1, .guidance = NAN };
  double scores[4], again[4];
  g_assert_true (sinopia_vital_layers_measure (model, &vp, NULL, NULL, NULL, scores, &error));
  g_assert_true (sinopia_vital_layers_measure (model, &vp, NULL, NULL, NULL, again, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (scores, sizeof scores, again, sizeof again);
  for (guint l = 0; l < 4; l++) {
    g_test_message ("layer %u: 1 − SSIM %.4f", l, scores[l]);
    g_assert_cmpfloat (scores[l], >, 0.0);
  }
  const double ranked[5] = { 0.1, 0.5, 0.2, 0.5, 0.0 };
  guint picked[5];
  g_assert_cmpuint (sinopia_vital_layers_select (ranked, 5, 2, picked), ==, 2);
  g_assert_cmpuint (picked[0], ==, 1);
  g_assert_cmpuint (picked[1], ==, 3);
  g_assert_cmpuint (sinopia_vital_layers_select (ranked, 5, 3, picked), ==, 3);
  g_assert_cmpuint (picked[1], ==, 2);
}

/* `sinopia-cli edit`: the edit and the reference as the engine makes them; usage errors; and
 * `sinopia-cli vital-layers`. */
static void
test_cli (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *out = g_build_filename (tmp_root, "e.png", NULL), *ref = g_build_filename (tmp_root, "r.png", NULL);
  g_autofree char *bad = g_build_filename (tmp_root, "bad.png", NULL);
  SinopiaTestRun r = sinopia_test_run_cli ("edit", "--model", model_dir, "--seed", "11", "--source-prompt",
                                           "a red circle", "--prompt", "a blue circle", "--vital-layers", "0,3",
                                           "--out", out, "--reference-out", ref, NULL);
  if (r.status != 0)
    g_error ("edit failed: %s", r.err);
  sinopia_test_run_clear (&r);
  const guint layers[] = { 0, 3 };
  SinopiaEditParams p;
  edit_params (&p, "a red circle", "a blue circle");
  p.vital_layers = layers;
  p.n_vital_layers = 2;
  SinopiaImage *reference = NULL;
  g_autoptr (SinopiaImage) img = edit (&p, &reference);
  g_autoptr (SinopiaImage) ref_img = reference;
  const char *paths[] = { out, ref };
  const SinopiaImage *want[] = { img, ref_img };
  for (guint i = 0; i < 2; i++) {
    g_autoptr (SinopiaPngImage) png = sinopia_png_load (paths[i], 0, &error);
    g_assert_no_error (error);
    g_autofree guint8 *rgb = sinopia_png_image_to_rgb (png, NULL);
    g_assert_cmpmem (rgb, SIDE * SIDE * 3, want[i]->rgb, SIDE * SIDE * 3);
    if (i == 0) {
      const SinopiaJsonNode *method;
      g_autoptr (SinopiaJson) doc = sinopia_test_png_method (png, &method);
      const SinopiaJsonNode *list = sinopia_json_object_get (method, "vital_layers");
      int64_t l;
      g_assert_cmpstr (sinopia_json_get_string (method, "name", NULL), ==, "stable-flow");
      g_assert_cmpstr (sinopia_json_get_string (method, "mode", NULL), ==, "generated");
      g_assert_cmpuint (sinopia_json_length (list), ==, 2);
      g_assert_true (sinopia_json_as_int64 (sinopia_json_array_get (list, 1), 0, 9, &l, NULL) && l == 3);
    }
  }

  const char *cases[][3] = {
    { "--vital-layers", "0,x", "expected layer indices" },
    { "--width", "32", "for generated images" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    r = sinopia_test_run_cli ("edit", "--model", model_dir, "--image", out, "--source-prompt", "a", "--prompt", "b",
                              cases[i][0], cases[i][1], "--out", bad, NULL);
    g_assert_cmpint (r.status, ==, 2);
    if (!strstr (r.err, cases[i][2]))
      g_error ("expected \"%s\" in: %s", cases[i][2], r.err);
    sinopia_test_run_clear (&r);
  }
  /* `vital-layers` prints every layer's score and the JSON member for sinopia-model.json */
  r = sinopia_test_run_cli ("vital-layers", "--model", model_dir, "--steps", "1", "--count", "2", "a red circle",
                            NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "layer  3  single block  1"));
  g_assert_nonnull (strstr (r.out, "\"vital_layers\": {\"layers\": ["));
  sinopia_test_run_clear (&r);
  /* `bench edit` with the model's vital layers, none and all */
  r = sinopia_test_run_cli ("bench", "edit", "--model", model_dir, "--count", "3", "--steps", "1", NULL);
  if (r.status != 0)
    g_error ("bench edit failed: %s", r.err);
  g_assert_nonnull (strstr (r.out, "Stable Flow, 3 edits at 1 steps"));
  g_assert_nonnull (strstr (r.out, "vital layers  success"));
  g_assert_nonnull (strstr (r.out, "all layers"));
  sinopia_test_run_clear (&r);
  r = sinopia_test_run_cli ("vital-layers", "--model", model_dir, "--count", "0", NULL);
  g_assert_cmpint (r.status, ==, 2);
  sinopia_test_run_clear (&r);

  r = sinopia_test_run_cli ("edit", "--model", model_dir, "--image", out, "--seed", "1", "--source-prompt", "a",
                            "--prompt", "b", "--out", bad, NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "either --image"));
  sinopia_test_run_clear (&r);
  g_assert_false (g_file_test (bad, G_FILE_TEST_EXISTS));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  SinopiaTestModelFolder folder;
  sinopia_test_model_folder_open (&folder, &tiny);
  tmp_root = folder.tmp_root;
  model_dir = folder.model_dir;
  model = folder.model;

  g_test_add_func ("/stable-flow/reference-is-plain", test_reference_is_plain);
  g_test_add_func ("/stable-flow/identity-and-independence", test_identity_and_independence);
  g_test_add_func ("/stable-flow/reference-mapping", test_reference_mapping);
  g_test_add_func ("/stable-flow/real-image", test_real_image);
  g_test_add_func ("/stable-flow/vital-layers", test_vital_layers);
  g_test_add_func ("/stable-flow/generated-steps", test_generated_steps);
  g_test_add_func ("/stable-flow/ssim", test_ssim);
  g_test_add_func ("/stable-flow/vital-layer-detector", test_vital_layer_detector);
  g_test_add_func ("/stable-flow/cli", test_cli);
  int rc = g_test_run ();

  sinopia_test_model_folder_close (&folder);
  sinopia_test_context_finish ();
  return rc;
}
