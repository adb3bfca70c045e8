/* Regional prompting (../shared/docs/algorithms.md §1) on a tiny random model written by the
 * test: the token bits and the attention pattern they give for the spec's golden layout, the
 * attention op under those bits against a dense boolean mask, the exact properties of the
 * method (no injected steps ≡ plain sampling bit for bit; base ratio 1 ≡ plain sampling;
 * regions isolated from each other with base ratio 0), the model's defaults from
 * sinopia-model.json, bad input and `sinopia-cli generate --region`. */
#define G_LOG_DOMAIN "sinopia-test"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "sinopia-generate.h"
#include "sinopia-mask.h"
#include "sinopia-png.h"
#include "sinopia-regional.h"
#include "sinopia-test-golden.h"
#include "sinopia-test-model.h"
#include "sinopia-test-vk.h"

#define SIDE 64                /* 8×8 latent, 4×4 tokens */
#define STEPS 3
#define TEXT_LENGTH 8
#define N_TOKENS ((SIDE / 16) * (SIDE / 16))

static const SinopiaTestModel tiny = {
  .name = "tiny-regional", .side = SIDE, .steps = STEPS, .text_length = TEXT_LENGTH, .depth = 2,
  .depth_single = 2,
  .extra_json = ", \"regional_prompting\": {\"base_ratio\": 0.25, \"injection_end\": 0.5, \"double_blocks\": \"all\", "
                "\"single_interval\": 2}",
};

static char *tmp_root;
static char *model_dir;
static SinopiaModel *model;

/* The spec's golden layout (§1.13 test 1): 64×64 pixels, 4×4 tokens, T = 4, region 0 = rows
 * 0–31 × cols 0–47, region 1 = rows 16–63 × cols 32–63, background appended. The sequence is
 * [regional text (3 × 4) ; image (16)], written out by hand from the §1.4 table with the
 * memberships the spec lists (x: may attend). */
static const char *const golden_pattern[28] = {
  "xxxx........xxx.xxx.........",
  "xxxx........xxx.xxx.........",
  "xxxx........xxx.xxx.........",
  "xxxx........xxx.xxx.........",
  "....xxxx..........xx..xx..xx",
  "....xxxx..........xx..xx..xx",
  "....xxxx..........xx..xx..xx",
  "....xxxx..........xx..xx..xx",
  "........xxxx...x..x.xx..xx..",
  "........xxxx...x..x.xx..xx..",
  "........xxxx...x..x.xx..xx..",
  "........xxxx...x..x.xx..xx..",
  "xxxx........xxx.xxx.........",
  "xxxx........xxx.xxx.........",
  "xxxx........xxx.xxx.........",
  "........xxxx...x..x.xx..xx..",
  "xxxx........xxx.xxx.........",
  "xxxx........xxx.xxx.........",
  "xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
  "....xxxx..........xx..xx..xx",
  "........xxxx...x..x.xx..xx..",
  "........xxxx...x..x.xx..xx..",
  "....xxxx..........xx..xx..xx",
  "....xxxx..........xx..xx..xx",
  "........xxxx...x..x.xx..xx..",
  "........xxxx...x..x.xx..xx..",
  "....xxxx..........xx..xx..xx",
  "....xxxx..........xx..xx..xx",
};

static guint8 *
box_mask (uint32_t W, uint32_t H, uint32_t y0, uint32_t y1, uint32_t x0, uint32_t x1)
{
  guint8 *m = g_malloc0 ((gsize) W * H);
  for (uint32_t y = y0; y < y1; y++)
    for (uint32_t x = x0; x < x1; x++)
      m[(gsize) y * W + x] = 255;
  return m;
}

/* The golden layout's bits in the spec's order [text ; image]. */
static uint32_t *
golden_bits (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *m0 = box_mask (64, 64, 0, 32, 0, 48), *m1 = box_mask (64, 64, 16, 64, 32, 64);
  const guint8 *masks[] = { m0, m1 };
  uint32_t token_bits[16], rows[2 * 16 + 12];
  guint n_entries;
  g_assert_true (sinopia_regional_token_bits (masks, 2, 64, 64, 16, token_bits, &n_entries, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_entries, ==, 3);
  sinopia_regional_row_bits (token_bits, 16, n_entries, 4, rows);
  /* rows are [image ; text ; image]: the single blocks' view is the spec's order */
  g_assert_cmpmem (rows, 16 * 4, rows + 28, 16 * 4);
  uint32_t *seq = g_new (uint32_t, 28);
  memcpy (seq, rows + 16, 28 * sizeof (uint32_t));
  return seq;
}

static void
test_golden_pattern (void)
{
  g_autofree uint32_t *bits = golden_bits ();
  for (guint i = 0; i < 28; i++) {
    gboolean any = FALSE;
    for (guint j = 0; j < 28; j++) {
      gboolean allowed = (bits[i] & bits[j]) != 0;
      if (allowed != (golden_pattern[i][j] == 'x'))
        g_error ("query %u, key %u: %s, expected %c", i, j, allowed ? "allowed" : "masked", golden_pattern[i][j]);
      g_assert_true (allowed == ((bits[j] & bits[i]) != 0));  /* symmetric */
      any |= allowed;
    }
    g_assert_true (any);  /* no empty row, so no NaN */
  }
  /* the overlap token (1, 2) is in both regions and the background */
  g_assert_cmpuint (bits[12 + 6], ==, 7);
}

/* Token bits: the patch centre decides, "outside" when no entry holds a token. */
static void
test_token_bits (void)
{
  g_autoptr (GError) error = NULL;
  uint32_t bits[16];
  guint n;
  /* two boxes that overlap and leave a gap, while their areas add up to more than the image:
   * Σ(1 − Σ masks) ≤ 0, so no background entry and the gap tokens are "outside" */
  g_autofree guint8 *a = box_mask (64, 64, 0, 64, 0, 48), *b = box_mask (64, 64, 0, 48, 16, 64);
  const guint8 *masks[] = { a, b };
  g_assert_true (sinopia_regional_token_bits (masks, 2, 64, 64, 16, bits, &n, &error));
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpuint (bits[0], ==, 1);                           /* (0,0): a only */
  g_assert_cmpuint (bits[1], ==, 3);                           /* (0,1): both */
  g_assert_cmpuint (bits[3], ==, 2);                           /* (0,3): b only */
  g_assert_cmpuint (bits[15], ==, SINOPIA_REGIONAL_OUTSIDE);   /* (3,3): neither */
  /* a mask that misses every centre pixel covers no token; an empty one is empty */
  g_autofree guint8 *thin = box_mask (64, 64, 0, 64, 0, 4), *empty = g_malloc0 (64 * 64);
  const guint8 *bad[] = { thin, empty };
  g_assert_false (sinopia_regional_token_bits (bad, 1, 64, 64, 16, bits, &n, &error));
  g_assert_error (error, SINOPIA_REGIONAL_ERROR, SINOPIA_REGIONAL_ERROR_INPUT);
  g_assert_nonnull (strstr (error->message, "covers no token"));
  g_clear_error (&error);
  g_assert_false (sinopia_regional_token_bits (bad + 1, 1, 64, 64, 16, bits, &n, &error));
  g_assert_nonnull (strstr (error->message, "is empty"));
}

/* PNG masks: grey (the mean of R, G, B) ≥ 128 is inside, whatever the alpha. */
static void
test_mask_rule (void)
{
  const guint8 rgba[] = { 200, 200, 200, 0, 127, 128, 128, 255, 128, 128, 128, 255, 255, 0, 0, 255 };
  g_autofree guint8 *mask = sinopia_mask_from_rgba (rgba, 4, 1);
  const guint8 want[] = { 1, 0, 1, 0 };
  g_assert_cmpmem (mask, 4, want, 4);
}

/* The attention op under the golden bits equals attention with the hand-written boolean mask
 * (a dense −∞ mask on the scores, in double), max abs error 1e-5. */
static void
test_attention_pattern (void)
{
  const uint32_t L = 28, H = 2, dh = 16, cols = H * dh;
  g_autofree uint32_t *bits = golden_bits ();
  g_autofree float *q = sinopia_test_random (11, L * cols, -1, 1), *k = sinopia_test_random (12, L * cols, -1, 1);
  g_autofree float *v = sinopia_test_random (13, L * cols, -1, 1), *want = g_new (float, L * cols);
  double scale = 1.0 / sqrt (dh);
  for (uint32_t h = 0; h < H; h++)
    for (uint32_t i = 0; i < L; i++) {
      double s[28], m = -INFINITY, sum = 0;
      for (uint32_t j = 0; j < L; j++) {
        double dot = 0;
        for (uint32_t d = 0; d < dh; d++)
          dot += (double) q[i * cols + h * dh + d] * k[j * cols + h * dh + d];
        s[j] = golden_pattern[i][j] == 'x' ? dot * scale : -INFINITY;
        m = fmax (m, s[j]);
      }
      for (uint32_t j = 0; j < L; j++)
        sum += exp (s[j] - m);
      for (uint32_t d = 0; d < dh; d++) {
        double acc = 0;
        for (uint32_t j = 0; j < L; j++)
          acc += exp (s[j] - m) / sum * v[j * cols + h * dh + d];
        want[i * cols + h * dh + d] = (float) acc;
      }
    }
  SinopiaBuffer *bq = sinopia_test_buffer (SINOPIA_DTYPE_F32, q, L * cols);
  SinopiaBuffer *bk = sinopia_test_buffer (SINOPIA_DTYPE_F32, k, L * cols);
  SinopiaBuffer *bv = sinopia_test_buffer (SINOPIA_DTYPE_F32, v, L * cols);
  SinopiaBuffer *bb = sinopia_test_buffer_u32 (bits, L), *out = sinopia_test_output (L * cols);
  SinopiaTensor tq = sinopia_tensor (bq, 0, L, cols), tk = sinopia_tensor (bk, 0, L, cols);
  SinopiaTensor tv = sinopia_tensor (bv, 0, L, cols), tb = sinopia_tensor (bb, 0, 1, L);
  SinopiaTensor to = sinopia_tensor (out, 0, L, cols);
  SinopiaAttentionOptions opts = { .n_heads = H, .head_dim = dh, .scale = (float) scale,
                                   .q_region_bits = &tb, .k_region_bits = &tb };
  g_autoptr (GError) error = NULL;
  SinopiaRecorder *rec = sinopia_test_begin ();
  g_assert_true (sinopia_op_attention (rec, &tq, &tk, &tv, &opts, &to, &error));
  sinopia_test_submit (rec);
  g_autofree float *got = sinopia_test_read (out, L * cols);
  sinopia_test_assert_close (got, want, L * cols, 1e-5, 0, "attention under the region bits");
  sinopia_buffer_free (bq);
  sinopia_buffer_free (bk);
  sinopia_buffer_free (bv);
  sinopia_buffer_free (bb);
  sinopia_buffer_free (out);
}

/* The packed latent after every step. */
typedef struct {
  GPtrArray *latents;
} Steps;

static gboolean
keep_latent (const SinopiaStepInfo *info, gpointer user)
{
  Steps *s = user;
  g_ptr_array_add (s->latents, g_memdup2 (info->latent, (gsize) info->n_img * info->channels * sizeof (float)));
  return TRUE;
}

static SinopiaImage *
generate (const SinopiaGenerateParams *p, Steps *steps)
{
  g_autoptr (GError) error = NULL;
  if (steps)
    steps->latents = g_ptr_array_new_with_free_func (g_free);
  SinopiaImage *img = sinopia_generate (model, p, NULL, steps ? keep_latent : NULL, steps, &error);
  g_assert_no_error (error);
  return img;
}

static gsize
latent_size (const SinopiaImage *img)
{
  return (gsize) img->latent_channels * img->latent_height * img->latent_width;
}

static void
base_params (SinopiaGenerateParams *p, const SinopiaRegion *regions, guint n)
{
  sinopia_generate_params_init (p);
  p->prompt = "a red circle on a blue background";
  p->seed = 7;
  p->regions = regions;
  p->n_regions = n;
}

/* Two regions that overlap (so the rule has every case) and leave a background. */
static const SinopiaRegion two_regions[] = {
  { .prompt = "a green square", .x = 0, .y = 0, .w = 48, .h = 32 },
  { .prompt = "a yellow triangle", .x = 32, .y = 16, .w = 32, .h = 48 },
};

/* mask_inject_steps = 0: the same pixels and latent as plain sampling, bit for bit. */
static void
test_no_injection (void)
{
  SinopiaGenerateParams p;
  base_params (&p, NULL, 0);
  g_autoptr (SinopiaImage) plain = generate (&p, NULL);
  base_params (&p, two_regions, 2);
  p.mask_inject_steps = 0;
  p.base_ratio = 0.0f;
  g_autoptr (SinopiaImage) regional = generate (&p, NULL);
  g_assert_cmpmem (plain->latent, latent_size (plain) * 4, regional->latent, latent_size (regional) * 4);
  g_assert_cmpmem (plain->rgb, SIDE * SIDE * 3, regional->rgb, SIDE * SIDE * 3);
  /* and the regions do change the image when injected */
  p.mask_inject_steps = STEPS;
  g_autoptr (SinopiaImage) injected = generate (&p, NULL);
  g_assert_cmpfloat (sinopia_test_max_abs_diff (plain->latent, injected->latent, latent_size (plain)), >, 1e-2);
}

/* base_ratio = 1 through the full path (every step injected, the rule in every block): the
 * image attends only through the base branch, so the latent is plain sampling's. Stated
 * tolerance: max abs 1e-5 on a latent of unit scale (float reordering only; measured 0). */
static void
test_base_ratio_one (void)
{
  SinopiaGenerateParams p;
  base_params (&p, NULL, 0);
  g_autoptr (SinopiaImage) plain = generate (&p, NULL);
  base_params (&p, two_regions, 2);
  p.base_ratio = 1.0f;
  p.mask_inject_steps = STEPS;
  p.double_interval = 1;
  p.single_interval = 1;
  g_autoptr (SinopiaImage) regional = generate (&p, NULL);
  double diff = sinopia_test_max_abs_diff (plain->latent, regional->latent, latent_size (plain));
  g_test_message ("base_ratio 1: max |Δ latent| = %g", diff);
  g_assert_cmpfloat (diff, <=, 1e-5);
  /* a base ratio just below 1 already moves it */
  p.base_ratio = 0.5f;
  g_autoptr (SinopiaImage) half = generate (&p, NULL);
  g_assert_cmpfloat (sinopia_test_max_abs_diff (plain->latent, half->latent, latent_size (plain)), >, 1e-3);
}

/* Largest difference over the tokens whose column is inside [c0, c1) of the token grid. */
static double
token_columns_diff (const float *a, const float *b, uint32_t c0, uint32_t c1)
{
  const uint32_t grid = SIDE / 16;
  double d = 0;
  for (uint32_t t = 0; t < N_TOKENS; t++)
    if (t % grid >= c0 && t % grid < c1)
      for (uint32_t ch = 0; ch < 64; ch++)
        d = fmax (d, fabs ((double) a[t * 64 + ch] - b[t * 64 + ch]));
  return d;
}

/* Region isolation (§1.13 test 4): base ratio 0, the rule in every block, regions covering the
 * image (left and right halves, no background). Changing the right region's prompt leaves the
 * left region's tokens unchanged after the first step — with CFG, whose unconditional pass sees
 * the whole image, from the second step on they may differ — and after every step without CFG.
 * With the rule only in every other single block the left tokens do see the change. */
static void
test_isolation (void)
{
  SinopiaRegion halves[] = {
    { .prompt = "a red circle", .x = 0, .y = 0, .w = SIDE / 2, .h = SIDE },
    { .prompt = "a blue square", .x = SIDE / 2, .y = 0, .w = SIDE / 2, .h = SIDE },
  };
  const uint32_t half = SIDE / 32;
  for (guint cfg = 0; cfg < 2; cfg++) {
    SinopiaGenerateParams p;
    Steps a, b;
    base_params (&p, halves, 2);
    p.base_ratio = 0.0f;
    p.mask_inject_steps = STEPS;
    p.double_interval = 1;
    p.single_interval = 1;
    p.guidance = cfg ? 3.0f : 1.0f;
    g_autoptr (SinopiaImage) first = generate (&p, &a);
    halves[1].prompt = "a green triangle";
    g_autoptr (SinopiaImage) second = generate (&p, &b);
    halves[1].prompt = "a blue square";
    guint checked = cfg ? 1 : STEPS;
    for (guint k = 0; k < checked; k++) {
      const float *la = g_ptr_array_index (a.latents, k), *lb = g_ptr_array_index (b.latents, k);
      g_assert_cmpfloat (token_columns_diff (la, lb, 0, half), ==, 0.0);
      g_assert_cmpfloat (token_columns_diff (la, lb, half, 2 * half), >, 1e-4);
    }
    g_ptr_array_unref (a.latents);
    g_ptr_array_unref (b.latents);
  }

  /* single_interval 2: single block 1 attends over all regional prompts unmasked */
  SinopiaGenerateParams p;
  g_autoptr (GPtrArray) la = NULL, lb = NULL;
  Steps a, b;
  base_params (&p, halves, 2);
  p.base_ratio = 0.0f;
  p.mask_inject_steps = STEPS;
  p.double_interval = 1;
  p.single_interval = 2;
  p.guidance = 1.0f;
  g_autoptr (SinopiaImage) first = generate (&p, &a);
  halves[1].prompt = "a green triangle";
  g_autoptr (SinopiaImage) second = generate (&p, &b);
  la = a.latents;
  lb = b.latents;
  g_assert_cmpfloat (token_columns_diff (g_ptr_array_index (la, 0), g_ptr_array_index (lb, 0), 0, half), >, 1e-6);
}

/* Interval gating (§1.13 test 5): the rule applies in block l iff l mod interval = 0. With two
 * blocks of each kind, intervals 2 and 5 both mean "block 0 only", bit for bit; interval 1
 * (both blocks) differs from them. */
static void
test_interval_gating (void)
{
  SinopiaGenerateParams p;
  base_params (&p, two_regions, 2);
  p.base_ratio = 0.3f;
  p.mask_inject_steps = STEPS;
  p.double_interval = p.single_interval = 2;
  g_autoptr (SinopiaImage) two = generate (&p, NULL);
  p.double_interval = p.single_interval = 5;
  g_autoptr (SinopiaImage) five = generate (&p, NULL);
  g_assert_cmpmem (two->latent, latent_size (two) * 4, five->latent, latent_size (five) * 4);
  p.double_interval = 1;
  g_autoptr (SinopiaImage) doubles = generate (&p, NULL);
  p.double_interval = 5;
  p.single_interval = 1;
  g_autoptr (SinopiaImage) singles = generate (&p, NULL);
  g_assert_cmpfloat (sinopia_test_max_abs_diff (doubles->latent, two->latent, latent_size (two)), >, 1e-5);
  g_assert_cmpfloat (sinopia_test_max_abs_diff (singles->latent, two->latent, latent_size (two)), >, 1e-5);
}

static void
expect_error (const SinopiaGenerateParams *p, GQuark domain, gint code, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaImage) img = sinopia_generate (model, p, NULL, NULL, NULL, &error);
  g_assert_null (img);
  g_assert_error (error, domain, code);
  if (!strstr (error->message, needle))
    g_error ("expected \"%s\" in: %s", needle, error->message);
}

/* Bad regions and parameters are clear errors, before any sampling. */
static void
test_errors (void)
{
  SinopiaRegion many[SINOPIA_MAX_REGIONS + 1];
  for (guint i = 0; i < G_N_ELEMENTS (many); i++)
    many[i] = (SinopiaRegion) { .prompt = "a red circle", .x = 0, .y = 0, .w = 16, .h = 16 };
  SinopiaGenerateParams p;
  base_params (&p, many, SINOPIA_MAX_REGIONS + 1);
  expect_error (&p, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT, "more than the 8");

  SinopiaRegion outside = { .prompt = "a red circle", .x = 40, .y = 0, .w = 32, .h = 16 };
  base_params (&p, &outside, 1);
  expect_error (&p, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT, "inside the 64×64 image");
  outside.w = 0;
  outside.x = 0;
  expect_error (&p, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT, "non-empty rectangle");

  g_autofree guint8 *empty = g_malloc0 (SIDE * SIDE), *thin = box_mask (SIDE, SIDE, 0, SIDE, 0, 2);
  SinopiaRegion masked = { .prompt = "a red circle", .mask = empty };
  base_params (&p, &masked, 1);
  expect_error (&p, SINOPIA_REGIONAL_ERROR, SINOPIA_REGIONAL_ERROR_INPUT, "Region 1 is empty");
  masked.mask = thin;
  expect_error (&p, SINOPIA_REGIONAL_ERROR, SINOPIA_REGIONAL_ERROR_INPUT, "covers no token");

  SinopiaRegion ok = { .prompt = "a red circle", .x = 0, .y = 0, .w = 32, .h = 32 };
  base_params (&p, &ok, 1);
  p.base_ratio = 1.5f;
  expect_error (&p, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT, "base ratio");
  base_params (&p, &ok, 1);
  p.double_interval = 0;
  expect_error (&p, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT, "at least 1");
  ok.prompt = NULL;
  base_params (&p, &ok, 1);
  expect_error (&p, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT, "Region 1 needs a prompt");
}

/* sinopia-model.json's regional_prompting section: values, the reference's defaults when
 * absent, and bad values named. */
static void
test_model_defaults (void)
{
  const SinopiaModelInfo *info = sinopia_model_info (model);
  g_assert_cmpfloat (info->regional.base_ratio, ==, 0.25f);
  g_assert_cmpint (info->regional.mask_inject_steps, ==, -1);
  g_assert_cmpfloat (info->regional.injection_end, ==, 0.5);
  g_assert_cmpuint (info->regional.double_interval, ==, 1);
  g_assert_cmpuint (info->regional.single_interval, ==, 2);

  g_autoptr (GError) error = NULL;
  const char *plain = "{\"native_size\": 64}";
  g_autoptr (SinopiaModelInfo) absent = sinopia_model_info_parse (plain, strlen (plain), "x", &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (absent->regional.base_ratio, ==, 0.3f);
  g_assert_cmpint (absent->regional.mask_inject_steps, ==, -1);
  g_assert_true (isnan (absent->regional.injection_end));
  g_assert_cmpuint (absent->regional.double_interval, ==, 0);

  const char *bad[][2] = {
    { "{\"regional_prompting\": {\"base_ratio\": 2}}", "base_ratio 2 is outside [0, 1]" },
    { "{\"regional_prompting\": {\"double_interval\": 0}}", "double_interval" },
    { "{\"regional_prompting\": {\"single_blocks\": \"some\"}}", "single_blocks is \"some\"" },
    { "{\"regional_prompting\": {\"injection_end\": 1.5}}", "injection_end 1.5" },
    { "{\"regional_prompting\": 3}", "regional_prompting: the section is a number" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_clear_error (&error);
    g_autoptr (SinopiaModelInfo) info2 = sinopia_model_info_parse (bad[i][0], strlen (bad[i][0]), "m.json", &error);
    g_assert_null (info2);
    g_assert_error (error, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_INFO);
    if (!strstr (error->message, bad[i][1]))
      g_error ("expected \"%s\" in: %s", bad[i][1], error->message);
  }
}

/* The model's defaults reach sampling: the file's base ratio 0.25 and injection over half of
 * the steps give the same image as those values passed explicitly. */
static void
test_defaults_used (void)
{
  SinopiaGenerateParams p;
  base_params (&p, two_regions, 2);
  g_autoptr (SinopiaImage) by_default = generate (&p, NULL);
  p.base_ratio = 0.25f;
  p.mask_inject_steps = (int) lround (0.5 * STEPS);
  p.double_interval = 1;
  p.single_interval = 2;
  g_autoptr (SinopiaImage) explicit_ = generate (&p, NULL);
  g_assert_cmpmem (by_default->latent, latent_size (by_default) * 4, explicit_->latent, latent_size (explicit_) * 4);
}

/* `sinopia-cli generate --region/--region-mask`: the PNG holds the engine's pixels for the same
 * regions (a mask PNG read as grey ≥ 128) and the method's parameters in its chunk; bad regions are usage errors (exit 2)
 * found before the model loads, and leave no file. */
static void
test_cli (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *out = g_build_filename (tmp_root, "cli.png", NULL);
  g_autofree char *mask_path = g_build_filename (tmp_root, "mask.png", NULL);
  g_autofree char *small = g_build_filename (tmp_root, "small.png", NULL);
  g_autofree char *bad = g_build_filename (tmp_root, "bad.png", NULL);
  /* the right half in grey 200 (≥ 128: inside) */
  g_autofree guint8 *rgb = g_malloc0 (SIDE * SIDE * 3);
  for (uint32_t y = 0; y < SIDE; y++)
    for (uint32_t x = SIDE / 2; x < SIDE; x++)
      memset (rgb + ((gsize) y * SIDE + x) * 3, 200, 3);
  g_assert_true (sinopia_png_save_rgb (mask_path, rgb, SIDE, SIDE, NULL, &error));
  g_assert_true (sinopia_png_save_rgb (small, rgb, SIDE / 2, SIDE / 2, NULL, &error));
  g_assert_no_error (error);

  g_autofree char *mask_arg = g_strconcat (mask_path, "=a blue square", NULL);
  SinopiaTestRun r = sinopia_test_run_cli ("generate", "--model", model_dir, "--prompt", "a scene", "--seed", "3",
                                           "--region", "0,0,32,64=a red circle", "--region-mask", mask_arg,
                                           "--base-ratio", "0.5",
                                           "--mask-inject-steps", "2", "--double-interval", "1",
                                           "--single-interval", "1", "--background-prompt", "nothing", "--out", out,
                                           NULL);
  if (r.status != 0)
    g_error ("generate --region failed: %s", r.err);
  sinopia_test_run_clear (&r);

  SinopiaRegion regions[] = {
    { .prompt = "a red circle", .x = 0, .y = 0, .w = 32, .h = 64 },
    { .prompt = "a blue square", .x = 32, .y = 0, .w = 32, .h = 64 },
  };
  SinopiaGenerateParams p;
  sinopia_generate_params_init (&p);
  p.prompt = "a scene";
  p.seed = 3;
  p.regions = regions;
  p.n_regions = 2;
  p.base_ratio = 0.5f;
  p.mask_inject_steps = 2;
  p.double_interval = p.single_interval = 1;
  p.background_prompt = "nothing";
  g_autoptr (SinopiaImage) img = generate (&p, NULL);
  g_autoptr (SinopiaPngImage) png = sinopia_png_load (out, 0, &error);
  g_assert_no_error (error);
  g_autofree guint8 *png_rgb = sinopia_png_image_to_rgb (png, NULL);
  g_assert_cmpmem (png_rgb, SIDE * SIDE * 3, img->rgb, SIDE * SIDE * 3);
  const SinopiaJsonNode *method;
  g_autoptr (SinopiaJson) doc = sinopia_test_png_method (png, &method);
  double ratio;
  int64_t steps;
  g_assert_cmpstr (sinopia_json_get_string (method, "name", NULL), ==, "regional");
  g_assert_cmpuint (sinopia_json_length (sinopia_json_object_get (method, "regions")), ==, 2);
  g_assert_true (sinopia_json_get_double (method, "base_ratio", &ratio, NULL) && ratio == 0.5);
  g_assert_true (sinopia_json_get_int64 (method, "mask_inject_steps", 0, 100, &steps, NULL) && steps == 2);
  g_assert_cmpstr (sinopia_json_get_string (method, "background_prompt", NULL), ==, "nothing");

  const char *cases[][3] = {
    { "--region", "0,0,80,16=x", "inside the 64×64 image" },
    { "--region", "0,0,16=x", "four numbers" },
    { "--region", "0,0,16,16", "expected X,Y,W,H=TEXT" },
    { "--region-mask", NULL, "a mask must have the image's size" },
    { "--base-ratio", "1.5", "--base-ratio must lie between 0 and 1" },
    { "--double-interval", "0", "intervals must be at least 1" },
  };
  g_autofree char *small_arg = g_strconcat (small, "=x", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    r = sinopia_test_run_cli ("generate", "--model", model_dir, "--prompt", "x", cases[i][0],
                              cases[i][1] ? cases[i][1] : small_arg, "--out", bad, NULL);
    g_assert_cmpint (r.status, ==, 2);
    if (!strstr (r.err, cases[i][2]))
      g_error ("expected \"%s\" in: %s", cases[i][2], r.err);
    g_assert_null (strstr (r.err, "loading"));
    sinopia_test_run_clear (&r);
  }
  /* `bench regional` runs its layouts and prints both shares */
  r = sinopia_test_run_cli ("bench", "regional", "--model", model_dir, "--count", "2", "--steps", "1", NULL);
  if (r.status != 0)
    g_error ("bench regional failed: %s", r.err);
  g_assert_nonnull (strstr (r.out, "regional prompting"));
  g_assert_nonnull (strstr (r.out, "/5)"));   /* 2 + 3 regions */
  sinopia_test_run_clear (&r);
  r = sinopia_test_run_cli ("bench", "regional", "--count", "0", NULL);
  g_assert_cmpint (r.status, ==, 2);
  sinopia_test_run_clear (&r);
  /* given regional parameters reach the engine: the saved regional image's parameters chunk
   * holds them (the model's defaults are 0.25, half the steps, intervals 1 and 2) */
  g_autofree char *saved = g_build_filename (tmp_root, "bench", NULL);
  r = sinopia_test_run_cli ("bench", "regional", "--model", model_dir, "--count", "1", "--steps", "1",
                            "--base-ratio", "0.5", "--mask-inject-steps", "1", "--double-interval", "2",
                            "--single-interval", "1", "--save", saved, NULL);
  if (r.status != 0)
    g_error ("bench regional --save failed: %s", r.err);
  sinopia_test_run_clear (&r);
  g_autofree char *caption = g_build_filename (saved, "000-caption.png", NULL);
  g_autofree char *with_regions = g_build_filename (saved, "000-regional.png", NULL);
  g_assert_true (g_file_test (caption, G_FILE_TEST_IS_REGULAR));
  g_autoptr (SinopiaPngImage) bench_png = sinopia_png_load (with_regions, 0, &error);
  g_assert_no_error (error);
  g_autoptr (SinopiaJson) bench_doc = sinopia_test_png_method (bench_png, &method);
  g_assert_true (sinopia_json_get_double (method, "base_ratio", &ratio, NULL) && ratio == 0.5);
  g_assert_true (sinopia_json_get_int64 (method, "double_interval", 1, 100, &steps, NULL) && steps == 2);
  g_assert_true (sinopia_json_get_int64 (method, "mask_inject_steps", 0, 100, &steps, NULL) && steps == 1);
  r = sinopia_test_run_cli ("bench", "regional", "--model", model_dir, "--single-interval", "0", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "intervals must be at least 1"));
  sinopia_test_run_clear (&r);

  r = sinopia_test_run_cli ("generate", "--model", model_dir, "--prompt", "x", "--region", "0,0,16,16=a",
                            "--region", "0,0,16,16=b", "--region", "0,0,16,16=c", "--region", "0,0,16,16=d",
                            "--region", "0,0,16,16=e", "--region", "0,0,16,16=f", "--region", "0,0,16,16=g",
                            "--region", "0,0,16,16=h", "--region", "0,0,16,16=i", "--out", bad, NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "9 regions given; at most 8"));
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

  g_test_add_func ("/regional/golden-pattern", test_golden_pattern);
  g_test_add_func ("/regional/token-bits", test_token_bits);
  g_test_add_func ("/regional/attention-pattern", test_attention_pattern);
  g_test_add_func ("/regional/mask-rule", test_mask_rule);
  g_test_add_func ("/regional/model-defaults", test_model_defaults);
  g_test_add_func ("/regional/no-injection", test_no_injection);
  g_test_add_func ("/regional/base-ratio-one", test_base_ratio_one);
  g_test_add_func ("/regional/isolation", test_isolation);
  g_test_add_func ("/regional/interval-gating", test_interval_gating);
  g_test_add_func ("/regional/errors", test_errors);
  g_test_add_func ("/regional/defaults-used", test_defaults_used);
  g_test_add_func ("/regional/cli", test_cli);
  int rc = g_test_run ();

  sinopia_test_model_folder_close (&folder);
  sinopia_test_context_finish ();
  return rc;
}
