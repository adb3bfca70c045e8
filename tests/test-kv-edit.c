/* KV-Edit (../shared/docs/algorithms.md §3.11) on a tiny random model written by the test: the
 * mask downsampler golden, the inversion bits and key bias, the foreground-only forward
 * against the full forward, the identity edit of the inversion-free variant, background
 * exactness in every mode, the re-init variants and the no-cache baseline in closed form on a
 * constant-velocity model, the cache's bookkeeping and step pairing, inpainting's composite
 * and errors, the no-cache baseline as text-to-image, cancellation and `sinopia-cli inpaint`. */
#define G_LOG_DOMAIN "sinopia-test"

#include <math.h>
#include <string.h>

#include "sinopia-inpaint.h"
#include "sinopia-kv-edit.h"
#include "sinopia-masked-regen.h"
#include "sinopia-png.h"
#include "sinopia-test-golden.h"
#include "sinopia-test-model.h"
#include "sinopia-test-vk.h"

#define SIDE 64                /* 8×8 latent, 16 tokens */
#define STEPS 3
#define TEXT_LENGTH 8
#define N_TOKENS 16
#define C 64

static const SinopiaTestModel tiny = {
  .name = "tiny-kv-edit", .side = SIDE, .steps = STEPS, .text_length = TEXT_LENGTH, .depth = 2, .depth_single = 2,
  .extra_json = ", \"regional_prompting\": {}",
};

static char *tmp_root, *model_dir;
static SinopiaModel *model;

/* §3.11 test 4, on a 16×16 image: (row, col). */
static void
test_mask_downsampler (void)
{
  const uint32_t cases[][4] = {
    { 3, 3, 0, 0 }, { 11, 4, 1, 0 }, { 4, 12, 0, 1 },
  };
  guint8 mask[16 * 16], latent[4], channels_fg;
  g_autofree float *cm = g_new (float, 1 * 64);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    memset (mask, 0, sizeof mask);
    mask[cases[i][0] * 16 + cases[i][1]] = 1;
    sinopia_kv_edit_latent_mask (mask, 16, 16, 8, latent);
    for (uint32_t j = 0; j < 4; j++)
      g_assert_cmpuint (latent[j], ==, j == cases[i][2] * 2 + cases[i][3]);
    /* the one token of this latent holds it, in the channels of that latent pixel only */
    channels_fg = (guint8) sinopia_kv_edit_channel_mask (latent, 2, 2, 16, cm);
    g_assert_cmpuint (channels_fg, ==, 1);
    for (uint32_t ch = 0; ch < 64; ch++)
      g_assert_cmpfloat (cm[ch], ==, ch % 4 == cases[i][2] * 2 + cases[i][3] ? 1.0f : 0.0f);
  }
  /* pixels off the centre 2×2 of their block mark nothing */
  const uint32_t off[][2] = { { 0, 0 }, { 2, 3 }, { 5, 4 }, { 15, 15 } };
  for (guint i = 0; i < G_N_ELEMENTS (off); i++) {
    memset (mask, 0, sizeof mask);
    mask[off[i][0] * 16 + off[i][1]] = 1;
    sinopia_kv_edit_latent_mask (mask, 16, 16, 8, latent);
    g_assert_cmpuint (latent[0] | latent[1] | latent[2] | latent[3], ==, 0);
  }
}

/* §3.11 tests 5 and 6: the inversion bits' pattern and the key bias, written out by hand
 * for T = 2, |F| = 2, |B| = 3 (x: may attend). */
static void
test_bits_and_bias (void)
{
  static const char *const want[7] = {
    "xxxxxxx", "xxxxxxx",            /* text: everything */
    "xxxx...", "xxxx...",            /* foreground: text and foreground */
    "xx..xxx", "xx..xxx", "xx..xxx", /* background: text and background */
  };
  uint32_t q[7], k[7];
  float bias[7];
  sinopia_kv_edit_inversion_bits (2, 2, 3, q, k);
  for (guint i = 0; i < 7; i++)
    for (guint j = 0; j < 7; j++)
      g_assert_cmpint ((q[i] & k[j]) != 0, ==, want[i][j] == 'x');
  sinopia_kv_edit_key_bias (2, 2, 3, 2.5f, bias);
  const float want_bias[7] = { 0, 0, 0, 0, 2.5f, 2.5f, 2.5f };
  g_assert_cmpmem (bias, sizeof bias, want_bias, sizeof want_bias);
}

typedef struct {
  SinopiaFluxModel *m;
  const SinopiaFluxConfig *cfg;
  SinopiaFluxConditioning *cond;
  SinopiaFluxWorkspace *ws;
  uint32_t n_fg, n_bg, D, n_layers;
  SinopiaBuffer **cache;
  SinopiaTensor *views;
} Fixture;

/* Image tokens in a scattered order (foreground first), so the rows' RoPE positions are not
 * their indices. */
static void
fixture_init (Fixture *f, uint32_t n_fg)
{
  g_autoptr (GError) error = NULL;
  f->m = sinopia_model_flux (model);
  f->cfg = sinopia_flux_model_config (f->m);
  f->D = f->cfg->hidden_size;
  f->n_layers = sinopia_flux_n_layers (f->cfg);
  f->n_fg = n_fg;
  f->n_bg = N_TOKENS - n_fg;
  g_autofree float *txt = sinopia_test_random (21, TEXT_LENGTH * f->cfg->context_in_dim, -1, 1);
  g_autofree float *y = sinopia_test_random (22, f->cfg->vec_in_dim, -1, 1);
  g_autofree float *txt_ids = g_new0 (float, TEXT_LENGTH * 3), *grid = g_new (float, N_TOKENS * 3);
  g_autofree float *ids = g_new (float, N_TOKENS * 3);
  sinopia_flux_img_ids (8, 8, grid);
  for (uint32_t r = 0; r < N_TOKENS; r++)
    memcpy (ids + r * 3, grid + ((r * 7) % N_TOKENS) * 3, 3 * sizeof (float));
  float t = 0.7f, g = 1.0f;
  f->cond = sinopia_flux_conditioning_new (f->m, txt, TEXT_LENGTH, txt_ids, y, ids, N_TOKENS, &t, &g, 1, &error);
  g_assert_no_error (error);
  f->ws = sinopia_flux_workspace_new (f->m, N_TOKENS, TEXT_LENGTH, &error);
  g_assert_no_error (error);
  f->cache = g_new (SinopiaBuffer *, f->n_layers);
  f->views = g_new (SinopiaTensor, f->n_layers);
  for (uint32_t l = 0; l < f->n_layers; l++) {
    f->cache[l] = sinopia_test_output (f->n_bg * 2 * f->D);
    f->views[l] = sinopia_tensor (f->cache[l], 0, f->n_bg, 2 * f->D);
  }
}

static void
fixture_clear (Fixture *f)
{
  for (uint32_t l = 0; l < f->n_layers; l++)
    sinopia_buffer_free (f->cache[l]);
  g_free (f->cache);
  g_free (f->views);
  sinopia_flux_workspace_free (f->ws);
  sinopia_flux_conditioning_free (f->cond);
}

/* One forward of `rows` image rows with the options; the prediction and the dump. */
static float *
forward (Fixture *f, const float *x, uint32_t rows, const SinopiaFluxOptions *opts, SinopiaDump *dump)
{
  g_autoptr (GError) error = NULL;
  SinopiaBuffer *img = sinopia_test_buffer (SINOPIA_DTYPE_F32, x, rows * C), *pred = sinopia_test_output (rows * C);
  SinopiaTensor ti = sinopia_tensor (img, 0, rows, C), tp = sinopia_tensor (pred, 0, rows, C);
  SinopiaRecorder *rec = sinopia_test_begin ();
  g_assert_true (sinopia_flux_forward_with (f->m, f->ws, f->cond, 0, opts, &ti, &tp, rec, dump, &error));
  g_assert_no_error (error);
  sinopia_test_submit (rec);
  if (dump)
    g_assert_true (sinopia_dump_collect (dump, &error));
  float *out = sinopia_test_read (pred, rows * C);
  sinopia_buffer_free (img);
  sinopia_buffer_free (pred);
  return out;
}

static const float *
dumped (SinopiaDump *d, const char *name, gsize *n)
{
  GBytes *b = g_hash_table_lookup (d->tensors, name);
  g_assert_nonnull (b);
  gsize size;
  const float *v = g_bytes_get_data (b, &size);
  *n = size / sizeof (float);
  return v;
}

/* §3.11 test 2: fill the cache from a full forward on x, then the foreground-only forward on
 * x[F] with that cache returns the full forward's velocities at F and the same text tokens in
 * every block. Stated tolerance: max abs 1e-5 (float reordering only; the key order is the
 * same, so it is measured 0). A zero bias vector is no bias; a wrong cache is caught. */
static void
test_foreground_forward (void)
{
  Fixture f;
  fixture_init (&f, 5);
  g_autofree float *x = sinopia_test_random (31, N_TOKENS * C, -1, 1);
  SinopiaFluxKV kv = { .layers = f.views, .first_row = f.n_fg };
  SinopiaFluxOptions record = { .record = &kv }, edit = { .inject = &kv, .n_external = f.n_bg };
  g_autoptr (SinopiaDump) full_dump = sinopia_dump_new (), fg_dump = sinopia_dump_new ();
  g_autofree float *full = forward (&f, x, N_TOKENS, &record, full_dump);
  g_autofree float *fg = forward (&f, x, f.n_fg, &edit, fg_dump);
  double diff = sinopia_test_max_abs_diff (full, fg, f.n_fg * C);
  g_test_message ("foreground-only vs full forward: max |Δv| = %g", diff);
  g_assert_cmpfloat (diff, <=, 1e-5);
  for (uint32_t i = 0; i < f.cfg->depth; i++) {
    g_autofree char *name = g_strdup_printf ("inter.double_blocks.%u.txt", i);
    gsize n1, n2;
    const float *a = dumped (full_dump, name, &n1), *b = dumped (fg_dump, name, &n2);
    g_assert_cmpuint (n1, ==, n2);
    g_assert_cmpfloat (sinopia_test_max_abs_diff (a, b, n1), <=, 1e-5);
  }
  for (uint32_t i = 0; i < f.cfg->depth_single; i++) {
    g_autofree char *name = g_strdup_printf ("inter.single_blocks.%u", i);
    gsize n1, n2;
    const float *a = dumped (full_dump, name, &n1), *b = dumped (fg_dump, name, &n2);
    g_assert_cmpuint (n2, ==, (TEXT_LENGTH + f.n_fg) * f.D);
    g_assert_cmpfloat (sinopia_test_max_abs_diff (a, b, n2), <=, 1e-5);  /* text and foreground rows */
  }

  /* a key bias of zeros changes nothing; 2 on the background changes the foreground */
  float zeros[TEXT_LENGTH + N_TOKENS], bias[TEXT_LENGTH + N_TOKENS];
  sinopia_kv_edit_key_bias (TEXT_LENGTH, f.n_fg, f.n_bg, 0.0f, zeros);
  sinopia_kv_edit_key_bias (TEXT_LENGTH, f.n_fg, f.n_bg, 2.0f, bias);
  SinopiaBuffer *bz = sinopia_test_buffer (SINOPIA_DTYPE_F32, zeros, G_N_ELEMENTS (zeros));
  SinopiaBuffer *bb = sinopia_test_buffer (SINOPIA_DTYPE_F32, bias, G_N_ELEMENTS (bias));
  SinopiaTensor tz = sinopia_tensor (bz, 0, 1, G_N_ELEMENTS (zeros)), tb = sinopia_tensor (bb, 0, 1, G_N_ELEMENTS (bias));
  edit.key_bias = &tz;
  g_autofree float *with_zero = forward (&f, x, f.n_fg, &edit, NULL);
  g_assert_cmpmem (with_zero, f.n_fg * C * 4, fg, f.n_fg * C * 4);
  edit.key_bias = &tb;
  g_autofree float *with_bias = forward (&f, x, f.n_fg, &edit, NULL);
  g_assert_cmpfloat (sinopia_test_max_abs_diff (with_bias, fg, f.n_fg * C), >, 1e-4);
  sinopia_buffer_free (bz);
  sinopia_buffer_free (bb);

  /* the cache of another latent gives other velocities */
  g_autofree float *x2 = sinopia_test_random (32, N_TOKENS * C, -1, 1);
  g_autofree float *other = forward (&f, x2, N_TOKENS, &record, NULL);
  edit.key_bias = NULL;
  g_autofree float *stale = forward (&f, x, f.n_fg, &edit, NULL);
  g_assert_cmpfloat (sinopia_test_max_abs_diff (stale, full, f.n_fg * C), >, 1e-4);
  fixture_clear (&f);
}

/* Bad options of the forward are errors, not bad dispatches. */
static void
test_forward_option_errors (void)
{
  Fixture f;
  fixture_init (&f, 5);
  g_autofree float *x = sinopia_test_random (33, N_TOKENS * C, -1, 1);
  SinopiaBuffer *img = sinopia_test_buffer (SINOPIA_DTYPE_F32, x, N_TOKENS * C), *pred = sinopia_test_output (N_TOKENS * C);
  SinopiaTensor ti = sinopia_tensor (img, 0, f.n_fg, C), tp = sinopia_tensor (pred, 0, f.n_fg, C);
  SinopiaFluxKV kv = { .layers = f.views, .first_row = f.n_fg + 1 };
  SinopiaFluxOptions bad[] = {
    { .n_external = f.n_bg },                      /* external tokens without K/V */
    { .inject = &kv, .n_external = f.n_bg },       /* K/V that do not cover them */
    { .n_external = N_TOKENS },                    /* nothing computed */
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;
    SinopiaRecorder *rec = sinopia_test_begin ();
    g_assert_false (sinopia_flux_forward_with (f.m, f.ws, f.cond, 0, &bad[i], &ti, &tp, rec, NULL, &error));
    g_assert_error (error, SINOPIA_FLUX_ERROR, SINOPIA_FLUX_ERROR_INPUT);
    sinopia_test_submit (rec);
  }
  sinopia_buffer_free (img);
  sinopia_buffer_free (pred);
  fixture_clear (&f);
}

/* A KV-Edit request on random text and latents (no text encoders needed). */
typedef struct {
  SinopiaKvEditRequest req;
  float *src_txt, *tar_txt, *neg_txt, *src_y, *tar_y, *neg_y, *txt_ids, *img_ids, *ts, *z0, *mask;
} Edit;

static void
edit_init (Edit *e, gboolean same_prompts)
{
  const SinopiaFluxConfig *cfg = sinopia_flux_model_config (sinopia_model_flux (model));
  uint32_t Tn = TEXT_LENGTH * cfg->context_in_dim;
  e->src_txt = sinopia_test_random (41, Tn, -1, 1);
  e->tar_txt = same_prompts ? g_memdup2 (e->src_txt, Tn * 4) : sinopia_test_random (42, Tn, -1, 1);
  e->neg_txt = sinopia_test_random (43, Tn, -1, 1);
  e->src_y = sinopia_test_random (44, cfg->vec_in_dim, -1, 1);
  e->tar_y = same_prompts ? g_memdup2 (e->src_y, cfg->vec_in_dim * 4) : sinopia_test_random (45, cfg->vec_in_dim, -1, 1);
  e->neg_y = sinopia_test_random (46, cfg->vec_in_dim, -1, 1);
  e->txt_ids = g_new0 (float, TEXT_LENGTH * 3);
  e->img_ids = g_new (float, N_TOKENS * 3);
  e->ts = g_new (float, STEPS + 1);
  e->z0 = sinopia_test_random (47, N_TOKENS * C, -1, 1);
  e->mask = g_new (float, N_TOKENS * C);
  sinopia_flux_img_ids (8, 8, e->img_ids);
  sinopia_flux_schedule (STEPS, N_TOKENS, TRUE, e->ts);
  /* a latent mask of the left 3 columns of rows 2–5: whole tokens and half tokens */
  guint8 lm[64] = { 0 };
  for (uint32_t r = 2; r < 6; r++)
    for (uint32_t c = 0; c < 3; c++)
      lm[r * 8 + c] = 1;
  sinopia_kv_edit_channel_mask (lm, 8, 8, 16, e->mask);
  e->req = (SinopiaKvEditRequest) {
    .model = sinopia_model_flux (model), .src_txt = e->src_txt, .src_y = e->src_y, .tar_txt = e->tar_txt,
    .tar_y = e->tar_y, .neg_txt = e->neg_txt, .neg_y = e->neg_y, .txt_ids = e->txt_ids, .n_txt = TEXT_LENGTH,
    .img_ids = e->img_ids, .n_img = N_TOKENS, .timesteps = e->ts, .n_steps = STEPS, .skip_step = 1,
    .inversion_guidance = 1.0f, .denoise_guidance = 2.0f, .attn_scale = 1.0f, .seed = 5,
  };
}

static void
edit_clear (Edit *e)
{
  float *all[] = { e->src_txt, e->tar_txt, e->neg_txt, e->src_y, e->tar_y, e->neg_y, e->txt_ids, e->img_ids, e->ts,
                   e->z0, e->mask };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    g_free (all[i]);
}

typedef struct {
  guint calls, n_steps, stop_at, previews;
  GArray *t_eval;
} Progress;

static gboolean
on_step (const SinopiaStepInfo *info, gpointer user)
{
  Progress *p = user;
  g_assert_cmpuint (info->step, ==, p->calls);
  g_assert_cmpuint (info->n_img, ==, N_TOKENS);
  p->calls++;
  p->n_steps = info->n_steps;
  p->previews += info->preview_rgb && info->preview_width == SIDE / 8 && info->preview_height == SIDE / 8;
  if (p->t_eval)
    g_array_append_val (p->t_eval, info->t_eval);
  return p->calls != p->stop_at;
}

static float *
run_edit (Edit *e, uint64_t *bytes, Progress *progress)
{
  g_autoptr (GError) error = NULL;
  float *out = g_new (float, N_TOKENS * C);
  g_assert_true (sinopia_kv_edit (&e->req, e->z0, e->mask, out, bytes, progress ? on_step : NULL, progress, &error));
  g_assert_no_error (error);
  return out;
}

/* The no-cache baseline on an edit's latent, mask, target prompt, schedule and skip, with ε =
 * noise. */
static gboolean
regen (const Edit *e, const float *noise, float *out, SinopiaStepFunc step, gpointer user, GError **error)
{
  SinopiaMaskedRegenRequest m = {
    .model = e->req.model, .txt = e->tar_txt, .y = e->tar_y, .neg_txt = e->neg_txt, .neg_y = e->neg_y,
    .txt_ids = e->txt_ids, .n_txt = TEXT_LENGTH, .img_ids = e->img_ids, .n_img = N_TOKENS, .timesteps = e->ts,
    .n_steps = STEPS, .skip_step = e->req.skip_step, .guidance = e->req.denoise_guidance, .noise = noise,
    .cancel = e->req.cancel,
  };
  return sinopia_masked_regen (&m, e->z0, e->mask, out, step, user, error);
}

/* Largest change over the masked channels; asserts every unmasked channel is z0's bit for bit
 * (§3.11 test 1). */
static double
check_background (const Edit *e, const float *out)
{
  double changed = 0;
  for (uint32_t i = 0; i < N_TOKENS * C; i++) {
    if (e->mask[i] == 0.0f)
      g_assert_cmpmem (&out[i], sizeof (float), &e->z0[i], sizeof (float));
    else
      changed = fmax (changed, fabs (out[i] - e->z0[i]));
  }
  return changed;
}

/* §3.11 test 1 in every mode: the reference's, both re-inits, aligned start, mask-guided
 * inversion, inversion-free, and the no-cache baseline; each changes the masked channels. */
static void
test_background_exact (void)
{
  for (guint mode = 0; mode < 7; mode++) {
    Edit e;
    edit_init (&e, FALSE);
    e.req.reinit = mode == 1 ? SINOPIA_KV_EDIT_REINIT_INPUT
                   : mode == 2 ? SINOPIA_KV_EDIT_REINIT_INVERSION
                               : SINOPIA_KV_EDIT_REINIT_OFF;
    e.req.aligned_start = mode == 3;
    e.req.attn_mask = mode == 4;
    e.req.inversion_free = mode == 5;
    g_autofree float *out = NULL;
    if (mode < 6) {
      out = run_edit (&e, NULL, NULL);
    } else {
      g_autoptr (GError) error = NULL;
      g_autofree float *noise = sinopia_test_random (48, N_TOKENS * C, -2, 2);
      out = g_new (float, N_TOKENS * C);
      g_assert_true (regen (&e, noise, out, NULL, NULL, &error));
      g_assert_no_error (error);
    }
    g_assert_cmpfloat (check_background (&e, out), >, 1e-3);
    edit_clear (&e);
  }
}

/* The latents a sampling loop reports, one copy per step. */
static gboolean
keep_latent (const SinopiaStepInfo *info, gpointer user)
{
  g_ptr_array_add (user, g_memdup2 (info->latent, (gsize) info->n_img * info->channels * sizeof (float)));
  return TRUE;
}

/* Σ (τ_{k+1} − τ_k)·c over steps from..to−1, added to y in float as the sampler's steps do. */
static float
walk (const float *ts, guint from, guint to, float y, float c)
{
  for (guint k = from; k < to; k++)
    y += (ts[k + 1] - ts[k]) * c;
  return y;
}

/* A copy of the tiny model whose final layer has zero weights: its velocity is that layer's
 * bias c, whatever the latent, prompt, step or cache, so every path has a closed form (c
 * measured as one Euler step of length 1 from 0). Inversion reaches X_inv(τ_s) = z0 +
 * Σ_{k≥s} (τ_k − τ_{k+1})·c; editing adds Σ_{k≥s} (τ_{k+1} − τ_k)·c to its start. On the
 * masked channels: the reference code's re-init starts from (1 − τ_s)·z0 + τ_s·ε, the paper's
 * from (1 − τ_s)·X_inv(τ_s) + τ_s·ε (ε = sinopia_noise (seed), token order); each is checked
 * against its formula and shown to miss the other's, which differs by (1 − τ_s)·(X_inv − z0).
 * The no-cache baseline starts from (1 − τ_s)·z0 + τ_s·ε (its own ε) and before every step k
 * puts the unmasked channels at (1 − τ_k)·z0 + τ_k·ε: the latent it reports after step k is
 * that plus (τ_{k+1} − τ_k)·c there. Stated tolerance: max abs 1e-5 (the device's steps against
 * the host's float arithmetic; measured 0 or a few ulp). */
static void
test_constant_velocity (void)
{
  g_autoptr (GError) error = NULL;
  const char *zeroed[] = { "final_layer.linear.weight", NULL };
  SinopiaTestModel flat = tiny;
  flat.zeroed = zeroed;
  g_autofree char *dir = g_build_filename (tmp_root, "constant", NULL);
  g_autofree char *tokenizer = g_test_build_filename (G_TEST_DIST, "data", "spm-nmt.model", NULL);
  sinopia_test_write_model (dir, tokenizer, &flat);
  g_autoptr (SinopiaModel) constant = sinopia_model_load (sinopia_test_context (), dir, &error);
  g_assert_no_error (error);

  Edit e;
  edit_init (&e, FALSE);
  e.req.model = sinopia_model_flux (constant);
  guint s = e.req.skip_step;
  float tau = e.ts[s], one = 1.0f, c[C];
  g_autofree float *c_tokens = g_new0 (float, N_TOKENS * C);
  SinopiaSampleRequest measure = {
    .model = e.req.model, .txt = e.tar_txt, .txt_ids = e.txt_ids, .y = e.tar_y, .n_txt = TEXT_LENGTH,
    .guidance = 1.0f, .img_ids = e.img_ids, .n_img = N_TOKENS, .t_eval = &one, .dt = &one, .n_steps = 1,
  };
  g_assert_true (sinopia_flux_sample (&measure, c_tokens, NULL, NULL, &error));
  g_assert_no_error (error);
  memcpy (c, c_tokens, sizeof c);
  for (uint32_t i = 0; i < N_TOKENS * C; i++)
    g_assert_cmpfloat (c_tokens[i], ==, c[i % C]);
  /* a c far from 0 makes the two re-inits differ by (1 − τ_s)·(X_inv − z0) ≈ (1 − τ_s)·τ_s·c */
  g_assert_cmpfloat (sinopia_test_max_abs_diff (c, (float[C]) { 0 }, C), >, 0.05);

  g_autofree float *eps = g_new (float, N_TOKENS * C), *inv = g_memdup2 (e.z0, N_TOKENS * C * sizeof (float));
  sinopia_noise (e.req.seed, eps, N_TOKENS * C);
  for (guint k = STEPS; k-- > s;)
    for (uint32_t i = 0; i < N_TOKENS * C; i++)
      inv[i] += (e.ts[k] - e.ts[k + 1]) * c[i % C];
  for (int variant = SINOPIA_KV_EDIT_REINIT_INPUT; variant <= SINOPIA_KV_EDIT_REINIT_INVERSION; variant++) {
    e.req.reinit = variant;
    g_autofree float *out = run_edit (&e, NULL, NULL);
    check_background (&e, out);
    const float *clean = variant == SINOPIA_KV_EDIT_REINIT_INVERSION ? inv : e.z0;
    const float *other = variant == SINOPIA_KV_EDIT_REINIT_INVERSION ? e.z0 : inv;
    double err = 0, miss = 0;
    for (uint32_t i = 0; i < N_TOKENS * C; i++)
      if (e.mask[i] != 0.0f) {
        err = fmax (err, fabs (out[i] - walk (e.ts, s, STEPS, (1.0f - tau) * clean[i] + tau * eps[i], c[i % C])));
        miss = fmax (miss, fabs (out[i] - walk (e.ts, s, STEPS, (1.0f - tau) * other[i] + tau * eps[i], c[i % C])));
      }
    g_test_message ("re-init %d: max |Δ| = %g against its formula, %g against the other's", variant, err, miss);
    g_assert_cmpfloat (err, <=, 1e-5);
    g_assert_cmpfloat (miss, >, 1e-3);
  }

  g_autofree float *noise = sinopia_test_random (49, N_TOKENS * C, -2, 2), *out = g_new (float, N_TOKENS * C);
  g_autoptr (GPtrArray) steps = g_ptr_array_new_with_free_func (g_free);
  g_assert_true (regen (&e, noise, out, keep_latent, steps, &error));
  g_assert_no_error (error);
  check_background (&e, out);
  g_assert_cmpuint (steps->len, ==, STEPS - s);
  double err = 0;
  for (guint j = 0; j < steps->len; j++) {
    const float *x = g_ptr_array_index (steps, j);
    guint k = s + j;
    for (uint32_t i = 0; i < N_TOKENS * C; i++) {
      float start = e.mask[i] != 0.0f ? (1.0f - tau) * e.z0[i] + tau * noise[i]
                                      : (1.0f - e.ts[k]) * e.z0[i] + e.ts[k] * noise[i];
      guint from = e.mask[i] != 0.0f ? s : k;
      err = fmax (err, fabs (x[i] - walk (e.ts, from, k + 1, start, c[i % C])));
    }
  }
  for (uint32_t i = 0; i < N_TOKENS * C; i++)
    if (e.mask[i] != 0.0f)
      err = fmax (err, fabs (out[i] - walk (e.ts, s, STEPS, (1.0f - tau) * e.z0[i] + tau * noise[i], c[i % C])));
  g_test_message ("no-cache baseline: max |Δ| = %g against its formula", err);
  g_assert_cmpfloat (err, <=, 1e-5);
  edit_clear (&e);
}

/* §3.11 test 3: the inversion-free identity edit (target = source, equal guidances, no bias)
 * returns the input latent: v_tar = v_src at F in every step by test 2, with and without
 * classifier-free guidance. Stated tolerance: max abs 1e-5 (measured 7e-7 without CFG and 3e-6
 * with: the reference's z_tar = z_src − z0 + z_fe rounds). */
static void
test_identity_inversion_free (void)
{
  for (guint cfg = 0; cfg < 2; cfg++) {
    Edit e;
    edit_init (&e, TRUE);
    e.req.inversion_free = TRUE;
    e.req.attn_scale = 0.0f;
    e.req.skip_step = 0;
    e.req.inversion_guidance = e.req.denoise_guidance = cfg ? 2.5f : 1.0f;
    g_autofree float *out = run_edit (&e, NULL, NULL);
    double diff = sinopia_test_max_abs_diff (out, e.z0, N_TOKENS * C);
    g_test_message ("identity edit (cfg %u): max |Δ| = %g", cfg, diff);
    g_assert_cmpfloat (diff, <=, 1e-5);
    /* a different target prompt does move it */
    g_free (e.tar_txt);
    e.req.tar_txt = e.tar_txt = sinopia_test_random (99, TEXT_LENGTH * SINOPIA_TEST_TEXT_WIDTH, -1, 1);
    g_autofree float *moved = run_edit (&e, NULL, NULL);
    g_assert_cmpfloat (sinopia_test_max_abs_diff (moved, e.z0, N_TOKENS * C), >, 1e-3);
    edit_clear (&e);
  }
}

/* §3.11 tests 7 and 8: the cache holds (M − s) steps × layers × K and V of n_bg × hidden floats,
 * the inversion-free one step; the bytes follow §3.8's formula. Inversion step i evaluates at
 * τ_{k+1} for the k it is paired with, and the steps are reported in order: inversion upward,
 * then editing from τ_s. */
static void
test_cache_and_pairing (void)
{
  const SinopiaFluxConfig *cfg = sinopia_flux_model_config (sinopia_model_flux (model));
  Edit e;
  edit_init (&e, FALSE);
  uint64_t bytes = 0, bytes_free = 0;
  Progress p = { .t_eval = g_array_new (FALSE, FALSE, sizeof (float)) };
  g_autofree float *out = run_edit (&e, &bytes, &p);
  uint32_t n_bg = 0;
  for (uint32_t t = 0; t < N_TOKENS; t++) {
    gboolean fg = FALSE;
    for (uint32_t ch = 0; ch < C; ch++)
      fg |= e.mask[t * C + ch] != 0.0f;
    n_bg += !fg;
  }
  g_assert_cmpuint (n_bg, ==, 12);
  uint64_t per_step = (uint64_t) (cfg->depth + cfg->depth_single) * 2 * n_bg * cfg->hidden_size * 4;
  g_assert_cmpuint (bytes, ==, (STEPS - 1) * per_step);
  g_assert_cmpuint (sinopia_kv_edit_cache_bytes (cfg, n_bg, STEPS - 1), ==, bytes);

  /* M = 3, s = 1: inversion at τ3, τ2, τ1 (step i pairs with k = 2 − i, evaluated at τ_{k+1}),
   * then editing at τ1, τ2 */
  g_assert_cmpuint (p.calls, ==, 2 * STEPS - 1);
  g_assert_cmpuint (p.n_steps, ==, 2 * STEPS - 1);
  float *t = (float *) p.t_eval->data;
  for (guint i = 0; i < STEPS; i++) {
    guint k = sinopia_kv_edit_cache_step (STEPS, i);
    g_assert_cmpuint (k, ==, STEPS - 1 - i);
    g_assert_cmpfloat (t[i], ==, e.ts[k + 1]);
  }
  g_assert_cmpfloat (t[STEPS], ==, e.ts[1]);
  g_assert_cmpfloat (t[STEPS + 1], ==, e.ts[2]);
  g_array_unref (p.t_eval);

  e.req.inversion_free = TRUE;
  g_autofree float *out2 = run_edit (&e, &bytes_free, NULL);
  g_assert_cmpuint (bytes_free, ==, per_step);
  edit_clear (&e);
}

/* The cache of a FLUX.1-dev-shaped transformer (hidden 3072) with fewer blocks (2 double + 4
 * single) for 28 steps skipping 4, a centred quarter of the image masked: 24 × 6 × 2 × n_bg ×
 * 3072 × 4 bytes. At 256² (256 tokens, 192 in the background) 679 MB, at 1024² (4096 tokens,
 * 3072 background) 10.9 GB; the full model's 57 layers scale it by 57/6 (103 GB at 1024²), the
 * inversion-free variant divides it by the 24 steps. */
static void
test_cache_bytes_flux_dev (void)
{
  SinopiaFluxConfig cfg = { .hidden_size = 3072, .num_heads = 24, .depth = 2, .depth_single = 4 };
  g_assert_cmpuint (sinopia_kv_edit_cache_bytes (&cfg, 192, 24), ==, 679477248ull);
  g_assert_cmpuint (sinopia_kv_edit_cache_bytes (&cfg, 3072, 24), ==, 10871635968ull);
  cfg.depth = 19;
  cfg.depth_single = 38;
  g_assert_cmpuint (sinopia_kv_edit_cache_bytes (&cfg, 3072, 24), ==, 103280541696ull);
  g_assert_cmpuint (sinopia_kv_edit_cache_bytes (&cfg, 3072, 1), ==, 4303355904ull);
}

/* Cancelling from the callback stops in the inversion and in the editing; so does the flag. */
static void
test_cancel (void)
{
  for (guint stop = 1; stop <= STEPS + 1; stop += STEPS) {
    Edit e;
    edit_init (&e, FALSE);
    Progress p = { .stop_at = stop };
    g_autoptr (GError) error = NULL;
    g_autofree float *out = g_new (float, N_TOKENS * C);
    g_assert_false (sinopia_kv_edit (&e.req, e.z0, e.mask, out, NULL, on_step, &p, &error));
    g_assert_error (error, SINOPIA_SAMPLER_ERROR, SINOPIA_SAMPLER_ERROR_CANCELLED);
    g_assert_cmpuint (p.calls, ==, stop);
    edit_clear (&e);
  }
  Edit e;
  edit_init (&e, FALSE);
  gint flag = 1;
  e.req.cancel = &flag;
  e.req.inversion_free = TRUE;
  g_autoptr (GError) error = NULL;
  g_autofree float *out = g_new (float, N_TOKENS * C);
  g_assert_false (sinopia_kv_edit (&e.req, e.z0, e.mask, out, NULL, NULL, NULL, &error));
  g_assert_error (error, SINOPIA_SAMPLER_ERROR, SINOPIA_SAMPLER_ERROR_CANCELLED);
  g_clear_error (&error);

  /* the no-cache baseline: the flag before the first step, the callback after the first */
  g_autofree float *noise = sinopia_test_random (48, N_TOKENS * C, -2, 2);
  g_assert_false (regen (&e, noise, out, NULL, NULL, &error));
  g_assert_error (error, SINOPIA_SAMPLER_ERROR, SINOPIA_SAMPLER_ERROR_CANCELLED);
  g_clear_error (&error);
  e.req.cancel = NULL;
  Progress p = { .stop_at = 1 };
  g_assert_false (regen (&e, noise, out, on_step, &p, &error));
  g_assert_error (error, SINOPIA_SAMPLER_ERROR, SINOPIA_SAMPLER_ERROR_CANCELLED);
  g_assert_cmpuint (p.calls, ==, 1);
  edit_clear (&e);
}

/* The composite's weights: 1 on the regenerated blocks, fading over the band, 0 beyond. */
static void
test_blend_weights (void)
{
  guint8 lm[4 * 4] = { 0 };
  lm[1 * 4 + 1] = 1;   /* pixels 8–15 × 8–15 of a 32×32 image */
  float w[32 * 32];
  sinopia_inpaint_blend_weights (lm, 32, 32, 8, 3, w);
  g_assert_cmpfloat (w[8 * 32 + 8], ==, 1.0f);
  g_assert_cmpfloat (w[15 * 32 + 15], ==, 1.0f);
  g_assert_cmpfloat (w[16 * 32 + 12], ==, 0.75f);   /* distance 1 */
  g_assert_cmpfloat (w[5 * 32 + 18], ==, 0.25f);    /* chessboard distance 3 */
  g_assert_cmpfloat (w[4 * 32 + 12], ==, 0.0f);     /* distance 4 > band */
  g_assert_cmpfloat (w[0], ==, 0.0f);
  g_assert_cmpuint (sinopia_inpaint_band (128, 128), ==, 8);
  g_assert_cmpuint (sinopia_inpaint_band (1024, 768), ==, 48);
}

/* An image with structure: diagonal colour ramps. */
static guint8 *
test_image (void)
{
  guint8 *rgb = g_new (guint8, SIDE * SIDE * 3);
  for (uint32_t y = 0; y < SIDE; y++)
    for (uint32_t x = 0; x < SIDE; x++) {
      guint8 *p = rgb + (y * SIDE + x) * 3;
      p[0] = (guint8) (x * 4);
      p[1] = (guint8) (y * 4);
      p[2] = (guint8) ((x + y) * 2);
    }
  return rgb;
}

static guint8 *
box_mask (uint32_t x0, uint32_t y0, uint32_t x1, uint32_t y1)
{
  guint8 *m = g_malloc0 (SIDE * SIDE);
  for (uint32_t y = y0; y < y1; y++)
    memset (m + y * SIDE + x0, 255, x1 - x0);
  return m;
}

/* The inpainting of the tests: the test image, red circle → blue square, skipping one step. */
static void
inpaint_params (SinopiaInpaintParams *p, const guint8 *rgb, const guint8 *mask)
{
  sinopia_inpaint_params_init (p);
  p->image = rgb;
  p->mask = mask;
  p->width = p->height = SIDE;
  p->source_prompt = "a red circle";
  p->prompt = "a blue square";
  p->skip_step = 1;
}

/* Latent tokens outside the mask are the encoded input's bit for bit, pixels farther than the
 * band from the regenerated blocks are the input's, and the masked area changes. */
static void
check_kept (const SinopiaImage *img, const guint8 *rgb, const guint8 *mask)
{
  g_autoptr (GError) error = NULL;
  /* the encoded input */
  SinopiaAeModel *ae = sinopia_model_ae (model);
  g_autofree float *planes = g_new (float, 3 * SIDE * SIDE), *lat = g_new (float, 16 * 8 * 8);
  for (uint32_t px = 0; px < SIDE * SIDE; px++)
    for (uint32_t c = 0; c < 3; c++)
      planes[c * SIDE * SIDE + px] = rgb[px * 3 + c] / 127.5f - 1.0f;
  g_assert_true (sinopia_ae_encode (ae, planes, SIDE, SIDE, NULL, lat, NULL, NULL, &error));
  guint8 lm[64];
  sinopia_kv_edit_latent_mask (mask, SIDE, SIDE, 8, lm);
  double changed = 0;
  for (uint32_t ch = 0; ch < 16; ch++)
    for (uint32_t i = 0; i < 64; i++) {
      float a = img->latent[ch * 64 + i], b = lat[ch * 64 + i];
      if (!lm[i])
        g_assert_cmpmem (&a, sizeof a, &b, sizeof b);
      else
        changed = fmax (changed, fabs (a - b));
    }
  g_assert_cmpfloat (changed, >, 1e-3);

  g_autofree float *w = g_new (float, SIDE * SIDE);
  sinopia_inpaint_blend_weights (lm, SIDE, SIDE, 8, sinopia_inpaint_band (SIDE, SIDE), w);
  guint kept = 0;
  for (uint32_t px = 0; px < SIDE * SIDE; px++)
    if (w[px] == 0.0f) {
      g_assert_cmpmem (img->rgb + px * 3, 3, rgb + px * 3, 3);
      kept++;
    }
  g_assert_cmpuint (kept, >, SIDE * SIDE / 2);
}

/* The method object of an image's parameters. */
static SinopiaJson *
method_of (const SinopiaImage *img, const SinopiaJsonNode **method)
{
  g_autoptr (GError) error = NULL;
  SinopiaJson *doc = sinopia_json_parse (img->method_json, strlen (img->method_json), &error);
  g_assert_no_error (error);
  *method = sinopia_json_root (doc);
  return doc;
}

/* Inpainting end to end (check_kept); every step, inversion included, comes with a preview. */
static void
test_inpaint (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *rgb = test_image (), *mask = box_mask (16, 16, 40, 40);
  SinopiaInpaintParams p;
  inpaint_params (&p, rgb, mask);
  p.preview = TRUE;
  Progress progress = { 0 };
  g_autoptr (SinopiaImage) img = sinopia_inpaint (model, &p, NULL, on_step, &progress, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (progress.calls, ==, 2 * STEPS - 1);
  g_assert_cmpuint (progress.previews, ==, 2 * STEPS - 1);
  check_kept (img, rgb, mask);
  g_assert_cmpuint (img->kv_cache_bytes, >, 0);
  g_assert_cmpstr (img->prompt, ==, "a blue square");
}

/* The no-cache baseline end to end: what KV-Edit keeps it keeps (check_kept), without a source
 * prompt; it reports its M − s steps with previews and holds no cache. */
static void
test_inpaint_no_cache (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *rgb = test_image (), *mask = box_mask (16, 16, 40, 40);
  SinopiaInpaintParams p;
  inpaint_params (&p, rgb, mask);
  p.source_prompt = NULL;
  p.no_cache = TRUE;
  p.preview = TRUE;
  Progress progress = { 0 };
  g_autoptr (SinopiaImage) img = sinopia_inpaint (model, &p, NULL, on_step, &progress, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (progress.calls, ==, STEPS - 1);
  g_assert_cmpuint (progress.previews, ==, STEPS - 1);
  check_kept (img, rgb, mask);
  g_assert_cmpuint (img->kv_cache_bytes, ==, 0);
  const SinopiaJsonNode *method;
  g_autoptr (SinopiaJson) doc = method_of (img, &method);
  g_assert_cmpstr (sinopia_json_get_string (method, "name", NULL), ==, "masked-regeneration");
}

/* The no-cache baseline with every token masked and no skip is text-to-image from the same
 * seed, prompt, guidance and steps: it starts at τ_0 = 1 from (1 − 1)·z0 + 1·ε = ε, the noise
 * text-to-image draws, resets nothing and composites nothing. Stated tolerance: bit for bit
 * (latent and pixels: the blend weight is 1 everywhere), with classifier-free guidance. */
static void
test_no_cache_is_text_to_image (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *rgb = test_image (), *all = box_mask (0, 0, SIDE, SIDE);
  SinopiaInpaintParams p;
  inpaint_params (&p, rgb, all);
  p.no_cache = TRUE;
  p.skip_step = 0;
  p.seed = 11;
  p.guidance = 2.5f;
  g_autoptr (SinopiaImage) img = sinopia_inpaint (model, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  SinopiaGenerateParams g;
  sinopia_generate_params_init (&g);
  g.prompt = p.prompt;
  g.seed = p.seed;
  g.guidance = p.guidance;
  g_autoptr (SinopiaImage) t2i = sinopia_generate (model, &g, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (img->steps, ==, t2i->steps);
  g_assert_cmpmem (img->latent, 16 * 8 * 8 * 4, t2i->latent, 16 * 8 * 8 * 4);
  g_assert_cmpmem (img->rgb, SIDE * SIDE * 3, t2i->rgb, SIDE * SIDE * 3);
  /* another seed is another image */
  p.seed = 12;
  g_autoptr (SinopiaImage) other = sinopia_inpaint (model, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (sinopia_test_max_abs_diff (other->latent, t2i->latent, 16 * 8 * 8), >, 1e-3);
}

static void
expect_inpaint_error (SinopiaInpaintParams *p, GQuark domain, gint code, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaImage) img = sinopia_inpaint (model, p, NULL, NULL, NULL, &error);
  g_assert_null (img);
  g_assert_error (error, domain, code);
  if (!strstr (error->message, needle))
    g_error ("expected \"%s\" in: %s", needle, error->message);
}

static void
test_inpaint_errors (void)
{
  g_autofree guint8 *rgb = test_image (), *empty = g_malloc0 (SIDE * SIDE), *thin = box_mask (0, 0, 2, SIDE);
  g_autofree guint8 *all = box_mask (0, 0, SIDE, SIDE), *some = box_mask (16, 16, 40, 40);
  SinopiaInpaintParams p;
  sinopia_inpaint_params_init (&p);
  p.image = rgb;
  p.width = p.height = SIDE;
  p.source_prompt = "a";
  p.prompt = "b";
  p.mask = empty;
  expect_inpaint_error (&p, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT, "selects no part");
  p.mask = thin;
  expect_inpaint_error (&p, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT, "selects no part");
  p.mask = all;
  expect_inpaint_error (&p, SINOPIA_KV_EDIT_ERROR, SINOPIA_KV_EDIT_ERROR_INPUT, "needs a background");
  p.mask = some;
  p.skip_step = STEPS;
  expect_inpaint_error (&p, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT, "must be below the 3 steps");
  p.skip_step = -1;   /* the default, 4, is kept below the 3 steps: no error */
  p.width = 60;
  expect_inpaint_error (&p, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_SIZE, "nearest valid width is 64");
  p.width = SIDE;
  p.mask = NULL;
  expect_inpaint_error (&p, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT, "an image and a mask");
  p.mask = some;
  p.reinit = SINOPIA_KV_EDIT_REINIT_INVERSION + 1;
  expect_inpaint_error (&p, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT, "reinit from −1 to 2");
  p.source_prompt = NULL;
  p.reinit = -1;
  expect_inpaint_error (&p, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT, "must be UTF-8 text");

  /* the no-cache baseline takes none of the inversion's or the cache's options */
  p.no_cache = TRUE;
  for (guint i = 0; i < 6; i++) {
    p.reinit = i == 0 ? SINOPIA_KV_EDIT_REINIT_INPUT : i == 1 ? SINOPIA_KV_EDIT_REINIT_INVERSION : -1;
    p.inversion_free = i == 2;
    p.aligned_start = i == 3;
    p.attn_mask = i == 4;
    p.attn_scale = i == 5 ? 1.0f : NAN;
    expect_inpaint_error (&p, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT, "no inversion and no cache");
  }
  p.attn_scale = NAN;
  p.inversion_guidance = 1.0f;
  expect_inpaint_error (&p, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT, "no inversion and no cache");
  p.inversion_guidance = NAN;
  p.no_cache = FALSE;
  p.source_prompt = "a";

  /* the inversion-free variant has no inverted latent to re-init from or align to */
  p.inversion_free = TRUE;
  for (guint i = 0; i < 3; i++) {
    p.reinit = i == 0 ? SINOPIA_KV_EDIT_REINIT_INPUT : i == 1 ? SINOPIA_KV_EDIT_REINIT_INVERSION : -1;
    p.aligned_start = i == 2;
    expect_inpaint_error (&p, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT, "no re-init and no aligned start");
  }
  p.reinit = -1;
  p.aligned_start = FALSE;
  p.inversion_free = FALSE;

  /* cancelled before the autoencoder's first submission */
  p.mask = some;
  gint flag = 1;
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaImage) img = sinopia_inpaint (model, &p, &flag, NULL, NULL, &error);
  g_assert_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_CANCELLED);
}

/* `sinopia-cli inpaint`: the PNG holds the engine's pixels and the method's parameters; bad
 * masks and sizes are usage errors before the model loads. */
static void
test_cli (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *rgb = test_image (), *mask = box_mask (16, 16, 40, 40);
  g_autofree guint8 *mask_rgb = g_new (guint8, SIDE * SIDE * 3);
  for (uint32_t px = 0; px < SIDE * SIDE; px++)
    memset (mask_rgb + px * 3, mask[px], 3);
  g_autofree char *in = g_build_filename (tmp_root, "in.png", NULL), *mp = g_build_filename (tmp_root, "m.png", NULL);
  g_autofree char *small = g_build_filename (tmp_root, "small.png", NULL);
  g_autofree char *out = g_build_filename (tmp_root, "out.png", NULL), *bad = g_build_filename (tmp_root, "bad.png", NULL);
  g_assert_true (sinopia_png_save_rgb (in, rgb, SIDE, SIDE, NULL, &error));
  g_assert_true (sinopia_png_save_rgb (mp, mask_rgb, SIDE, SIDE, NULL, &error));
  g_assert_true (sinopia_png_save_rgb (small, mask_rgb, SIDE / 2, SIDE, NULL, &error));

  SinopiaTestRun r = sinopia_test_run_cli ("inpaint", "--model", model_dir, "--image", in, "--mask", mp,
                                           "--source-prompt", "a red circle", "--prompt", "a blue square",
                                           "--skip-step", "1", "--attn-scale", "0.5", "--reinit", "--seed", "9",
                                           "--out", out, NULL);
  if (r.status != 0)
    g_error ("inpaint failed: %s", r.err);
  g_assert_nonnull (strstr (r.err, "KV cache"));
  sinopia_test_run_clear (&r);
  SinopiaInpaintParams p;
  inpaint_params (&p, rgb, mask);
  p.attn_scale = 0.5f;
  p.reinit = 1;
  p.seed = 9;
  g_autoptr (SinopiaImage) img = sinopia_inpaint (model, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (SinopiaPngImage) png = sinopia_png_load (out, 0, &error);
  g_assert_no_error (error);
  g_autofree guint8 *got = sinopia_png_image_to_rgb (png, NULL);
  g_assert_cmpmem (got, SIDE * SIDE * 3, img->rgb, SIDE * SIDE * 3);
  const SinopiaJsonNode *method;
  g_autoptr (SinopiaJson) doc = sinopia_test_png_method (png, &method);
  int64_t skip;
  gboolean reinit = FALSE;
  g_assert_cmpstr (sinopia_json_get_string (method, "name", NULL), ==, "kv-edit");
  g_assert_cmpstr (sinopia_json_get_string (method, "source_prompt", NULL), ==, "a red circle");
  g_assert_true (sinopia_json_get_int64 (method, "skip_step", 0, 100, &skip, NULL) && skip == 1);
  g_assert_true (sinopia_json_get_bool (method, "reinit", &reinit, NULL) && reinit);
  g_assert_true (sinopia_json_get_bool (method, "reinit_from_inversion", &reinit, NULL) && !reinit);

  /* the paper's re-init and the no-cache baseline (which needs no source prompt) */
  const char *variants[][3] = {
    { "--reinit-from-inversion", "--source-prompt", "a red circle" },
    { "--no-cache", NULL, NULL },
  };
  for (guint v = 0; v < G_N_ELEMENTS (variants); v++) {
    r = sinopia_test_run_cli ("inpaint", "--model", model_dir, "--image", in, "--mask", mp, "--prompt", "a blue square",
                              "--skip-step", "1", "--seed", "9", "--out", out, variants[v][0], variants[v][1],
                              variants[v][2], NULL);
    if (r.status != 0)
      g_error ("inpaint %s failed: %s", variants[v][0], r.err);
    sinopia_test_run_clear (&r);
    inpaint_params (&p, rgb, mask);
    p.seed = 9;
    p.reinit = v == 0 ? SINOPIA_KV_EDIT_REINIT_INVERSION : -1;
    p.no_cache = v == 1;
    g_autoptr (SinopiaImage) want = sinopia_inpaint (model, &p, NULL, NULL, NULL, &error);
    g_assert_no_error (error);
    g_autoptr (SinopiaPngImage) written = sinopia_png_load (out, 0, &error);
    g_assert_no_error (error);
    g_autofree guint8 *pixels = sinopia_png_image_to_rgb (written, NULL);
    g_assert_cmpmem (pixels, SIDE * SIDE * 3, want->rgb, SIDE * SIDE * 3);
    const SinopiaJsonNode *m;
    g_autoptr (SinopiaJson) d = sinopia_test_png_method (written, &m);
    if (v == 0)
      g_assert_true (sinopia_json_get_bool (m, "reinit_from_inversion", &reinit, NULL) && reinit);
    else
      g_assert_cmpstr (sinopia_json_get_string (m, "name", NULL), ==, "masked-regeneration");
  }

  const char *cases[][4] = {
    { "--mask", "SMALL", "a mask must have the image's size" },
    { "--skip-step", "-2", "must not be negative" },
    { "--steps", "0", "--steps must be between" },
    { "--reinit-from-inversion", "--reinit", "two variants of one option" },
    { "--no-cache", "--reinit", "--no-cache has no inversion and no cache" },
    { "--no-cache", "--inversion-free", "--no-cache has no inversion and no cache" },
    { "--no-cache", "--aligned-start", "--no-cache has no inversion and no cache" },
    { "--inversion-free", "--reinit", "--inversion-free starts from the input itself" },
    { "--inversion-free", "--aligned-start", "--inversion-free starts from the input itself" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    const char *value = strcmp (cases[i][1], "SMALL") == 0 ? small : cases[i][1];
    r = sinopia_test_run_cli ("inpaint", "--model", model_dir, "--image", in, "--mask", mp, "--source-prompt", "a",
                              "--prompt", "b", cases[i][0], value, "--out", bad, NULL);
    g_assert_cmpint (r.status, ==, 2);
    if (!strstr (r.err, cases[i][2]))
      g_error ("expected \"%s\" in: %s", cases[i][2], r.err);
    sinopia_test_run_clear (&r);
  }
  /* `bench inpaint` runs its edits and prints the background PSNR */
  r = sinopia_test_run_cli ("bench", "inpaint", "--model", model_dir, "--count", "3", "--steps", "2", NULL);
  if (r.status != 0)
    g_error ("bench inpaint failed: %s", r.err);
  g_assert_nonnull (strstr (r.out, "background PSNR beyond the band"));
  g_assert_nonnull (strstr (r.out, "/3), colour alone"));
  g_assert_nonnull (strstr (r.out, "plain masked regeneration (no cache)"));
  sinopia_test_run_clear (&r);

  r = sinopia_test_run_cli ("inpaint", "--model", model_dir, "--image", in, "--mask", mp, "--out", bad, NULL);
  g_assert_cmpint (r.status, ==, 2);
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

  g_test_add_func ("/kv-edit/mask-downsampler", test_mask_downsampler);
  g_test_add_func ("/kv-edit/bits-and-bias", test_bits_and_bias);
  g_test_add_func ("/kv-edit/foreground-forward", test_foreground_forward);
  g_test_add_func ("/kv-edit/forward-option-errors", test_forward_option_errors);
  g_test_add_func ("/kv-edit/background-exact", test_background_exact);
  g_test_add_func ("/kv-edit/identity-inversion-free", test_identity_inversion_free);
  g_test_add_func ("/kv-edit/constant-velocity", test_constant_velocity);
  g_test_add_func ("/kv-edit/cache-and-pairing", test_cache_and_pairing);
  g_test_add_func ("/kv-edit/cache-bytes-flux-dev", test_cache_bytes_flux_dev);
  g_test_add_func ("/kv-edit/cancel", test_cancel);
  g_test_add_func ("/kv-edit/blend-weights", test_blend_weights);
  g_test_add_func ("/kv-edit/inpaint", test_inpaint);
  g_test_add_func ("/kv-edit/inpaint-no-cache", test_inpaint_no_cache);
  g_test_add_func ("/kv-edit/no-cache-is-text-to-image", test_no_cache_is_text_to_image);
  g_test_add_func ("/kv-edit/inpaint-errors", test_inpaint_errors);
  g_test_add_func ("/kv-edit/cli", test_cli);
  int rc = g_test_run ();

  sinopia_test_model_folder_close (&folder);
  sinopia_test_context_finish ();
  return rc;
}
