/* Sampler: schedules against schedules.json, the 4-step reference denoise loop against its
 * golden latents, packing, noise determinism, inversion and cancellation. */
#define G_LOG_DOMAIN "sinopia-test"

#include <math.h>
#include <glib/gstdio.h>
#include <string.h>

#include "sinopia-ae.h"
#include "sinopia-json.h"
#include "sinopia-sampler.h"
#include "sinopia-test-golden.h"
#include "sinopia-test-vk.h"

#define GOLDEN "flux-reference"

static void
test_schedules (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = sinopia_test_golden_path (GOLDEN, "schedules.json");
  g_autofree char *text = NULL;
  gsize len;
  if (!path)
    return;
  g_file_get_contents (path, &text, &len, &error);
  g_assert_no_error (error);
  g_autoptr (SinopiaJson) doc = sinopia_json_parse (text, len, &error);
  g_assert_no_error (error);
  const SinopiaJsonNode *list = sinopia_json_object_get (sinopia_json_root (doc), "schedules");
  guint checked = 0;
  for (const SinopiaJsonNode *s; (s = sinopia_json_array_get (list, checked)); checked++) {
    int64_t steps, seq;
    gboolean shift;
    g_assert_true (sinopia_json_get_int64 (s, "num_steps", 1, 1000, &steps, &error));
    g_assert_true (sinopia_json_get_int64 (s, "image_seq_len", 1, 1 << 20, &seq, &error));
    g_assert_true (sinopia_json_get_bool (s, "shift", &shift, &error));
    const SinopiaJsonNode *want = sinopia_json_object_get (s, "timesteps");
    g_autofree float *ts = g_new (float, steps + 1);
    sinopia_flux_schedule (steps, seq, shift, ts);
    for (int64_t i = 0; i <= steps; i++) {
      double w;
      g_assert_true (sinopia_json_as_double (sinopia_json_array_get (want, i), &w, &error));
      /* The reference's values are float32 results of float32 math, which we repeat: equal
       * up to one float32 ulp (exp(mu) is rounded by torch, not by us). */
      g_assert_cmpfloat_with_epsilon (ts[i], w, 1.2e-7);
    }
  }
  g_assert_cmpuint (checked, ==, 4);
}

static void
test_pack_round_trip (void)
{
  const uint32_t C = 16, H = 6, W = 10;
  g_autofree float *lat = sinopia_test_random (7, C * H * W, -1, 1);
  g_autofree float *packed = g_new (float, C * H * W);
  g_autofree float *back = g_new (float, C * H * W);
  sinopia_flux_pack (lat, C, H, W, packed);
  sinopia_flux_unpack (packed, C, H, W, back);
  g_assert_cmpmem (lat, C * H * W * 4, back, C * H * W * 4);
  /* token (r=1, c=2), feature ch·4 + dy·2 + dx = 5·4 + 1·2 + 1 */
  g_assert_cmpfloat (packed[(1 * 5 + 2) * 64 + 5 * 4 + 3], ==, lat[(5 * H + 3) * W + 5]);
}

static void
test_golden_pack (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = sinopia_test_golden_path (GOLDEN, "flux_a2_forward.safetensors");
  if (!path)
    return;
  g_autoptr (SinopiaSafetensors) io = sinopia_safetensors_open (path, &error);
  g_assert_no_error (error);
  gsize n;
  g_autofree float *lat = sinopia_test_golden_tensor (io, "input.latent", &n);
  g_autofree float *img = sinopia_test_golden_tensor (io, "input.img", NULL);
  g_autofree float *ids = sinopia_test_golden_tensor (io, "input.img_ids", NULL);
  g_autofree float *packed = g_new (float, n);
  g_autofree float *our_ids = g_new (float, 15 * 3);
  sinopia_flux_pack (lat, 16, 6, 10, packed);
  sinopia_flux_img_ids (6, 10, our_ids);
  g_assert_cmpmem (packed, n * 4, img, n * 4);
  g_assert_cmpmem (our_ids, 15 * 3 * 4, ids, 15 * 3 * 4);
}

static void
test_noise (void)
{
  g_autofree float *a = g_new (float, 10001);
  g_autofree float *b = g_new (float, 10001);
  g_autofree float *c = g_new (float, 10001);
  sinopia_noise (42, a, 10001);
  sinopia_noise (42, b, 10001);
  sinopia_noise (43, c, 10001);
  g_assert_cmpmem (a, 10001 * 4, b, 10001 * 4);
  g_assert_true (memcmp (a, c, 10001 * 4) != 0);
  /* a prefix is the same whatever the total length */
  sinopia_noise (42, b, 7);
  g_assert_cmpmem (a, 7 * 4, b, 7 * 4);
  /* standard normal: mean within 4σ/√n, variance within 5 % */
  double sum = 0, sq = 0;
  for (int i = 0; i < 10001; i++) {
    sum += a[i];
    sq += (double) a[i] * a[i];
  }
  double mean = sum / 10001, var = sq / 10001 - mean * mean;
  g_assert_cmpfloat (fabs (mean), <, 0.04);
  g_assert_cmpfloat (fabs (var - 1.0), <, 0.05);
}

typedef struct {
  SinopiaSafetensors *io;
  SinopiaFluxModel *model;
  float *txt, *txt_ids, *y, *img_ids, *img;
  gsize n_img, n_txt;
} Sampling;

static gboolean
sampling_open (Sampling *s)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *weights = sinopia_test_golden_path (GOLDEN, "flux_a1_weights.safetensors");
  if (!weights)
    return FALSE;
  g_autofree char *io = sinopia_test_golden_path (GOLDEN, "flux_a1_sampling.safetensors");
  s->io = sinopia_safetensors_open (io, &error);
  g_assert_no_error (error);
  s->model = sinopia_flux_model_load (sinopia_test_context (), weights, &error);
  g_assert_no_error (error);
  gsize n;
  s->img = sinopia_test_golden_tensor (s->io, "input.img", &n);
  s->n_img = n / 64;
  s->txt = sinopia_test_golden_tensor (s->io, "input.txt", &n);
  s->n_txt = n / 48;
  s->txt_ids = sinopia_test_golden_tensor (s->io, "input.txt_ids", NULL);
  s->img_ids = sinopia_test_golden_tensor (s->io, "input.img_ids", NULL);
  s->y = sinopia_test_golden_tensor (s->io, "input.y", NULL);
  return TRUE;
}

static void
sampling_close (Sampling *s)
{
  sinopia_flux_model_free (s->model);
  sinopia_safetensors_close (s->io);
  g_free (s->img);
  g_free (s->txt);
  g_free (s->txt_ids);
  g_free (s->img_ids);
  g_free (s->y);
}

typedef struct {
  SinopiaSafetensors *io;
  guint seen;
  guint stop_after;
} StepCheck;

static gboolean
check_step (const SinopiaStepInfo *info, gpointer user_data)
{
  StepCheck *c = user_data;
  g_autofree char *name = g_strdup_printf ("step.%u.latent", info->step);
  gsize n;
  g_autofree float *want = sinopia_test_golden_tensor (c->io, name, &n);
  double atol = sinopia_test_golden_atol (GOLDEN, "flux_a1_sampling.safetensors", name);
  double err = sinopia_test_max_abs_diff (info->latent, want, n);
  g_test_message ("%s: max abs error %.3g (tolerance %.3g)", name, err, atol);
  g_assert_cmpfloat (err, <=, atol);
  g_assert_cmpuint (info->step, ==, c->seen);
  c->seen++;
  return c->stop_after == 0 || c->seen < c->stop_after;
}

static void
test_golden_sampling (void)
{
  g_autoptr (GError) error = NULL;
  Sampling s = { 0 };
  if (!sampling_open (&s))
    return;
  float ts[5], t_eval[4], dt[4];
  sinopia_flux_schedule (4, s.n_img, TRUE, ts);
  g_autofree float *golden_ts = sinopia_test_golden_tensor (s.io, "timesteps", NULL);
  for (int i = 0; i < 5; i++)
    g_assert_cmpfloat_with_epsilon (ts[i], golden_ts[i], 1.2e-7);
  sinopia_flux_steps_from_schedule (ts, 4, FALSE, t_eval, dt);

  SinopiaSampleRequest req = {
    .model = s.model, .txt = s.txt, .txt_ids = s.txt_ids, .y = s.y, .n_txt = s.n_txt,
    .guidance = 3.5f, .img_ids = s.img_ids, .n_img = s.n_img, .t_eval = t_eval, .dt = dt, .n_steps = 4,
  };
  StepCheck check = { .io = s.io };
  g_assert_true (sinopia_flux_sample (&req, s.img, check_step, &check, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (check.seen, ==, 4);
  gsize n;
  g_autofree float *want = sinopia_test_golden_tensor (s.io, "final.latent", &n);
  double atol = sinopia_test_golden_atol (GOLDEN, "flux_a1_sampling.safetensors", "final.latent");
  g_assert_cmpfloat (sinopia_test_max_abs_diff (s.img, want, n), <=, atol);
  sampling_close (&s);
}

/* The callback stops after two steps; a set cancel flag stops before the first. */
static void
test_cancel (void)
{
  g_autoptr (GError) error = NULL;
  Sampling s = { 0 };
  if (!sampling_open (&s))
    return;
  float ts[5], t_eval[4], dt[4];
  sinopia_flux_schedule (4, s.n_img, TRUE, ts);
  sinopia_flux_steps_from_schedule (ts, 4, FALSE, t_eval, dt);
  gint cancel = 0;
  SinopiaSampleRequest req = {
    .model = s.model, .txt = s.txt, .txt_ids = s.txt_ids, .y = s.y, .n_txt = s.n_txt,
    .guidance = 3.5f, .img_ids = s.img_ids, .n_img = s.n_img, .t_eval = t_eval, .dt = dt, .n_steps = 4,
    .cancel = &cancel,
  };
  StepCheck check = { .io = s.io, .stop_after = 2 };
  g_assert_false (sinopia_flux_sample (&req, s.img, check_step, &check, &error));
  g_assert_error (error, SINOPIA_SAMPLER_ERROR, SINOPIA_SAMPLER_ERROR_CANCELLED);
  g_assert_cmpuint (check.seen, ==, 2);
  g_clear_error (&error);

  g_atomic_int_set (&cancel, 1);
  check.seen = 0;
  g_assert_false (sinopia_flux_sample (&req, s.img, check_step, &check, &error));
  g_assert_error (error, SINOPIA_SAMPLER_ERROR, SINOPIA_SAMPLER_ERROR_CANCELLED);
  g_assert_cmpuint (check.seen, ==, 0);
  sampling_close (&s);
}

/* Inversion then denoising along the same 32-step grid returns near the start: the
 * round trip error of Euler inversion shrinks with the step size. */
static void
test_inversion_round_trip (void)
{
  g_autoptr (GError) error = NULL;
  Sampling s = { 0 };
  if (!sampling_open (&s))
    return;
  enum { N = 32 };
  float ts[N + 1], t_eval[N], dt[N];
  sinopia_flux_schedule (N, s.n_img, TRUE, ts);
  gsize n = s.n_img * 64;
  g_autofree float *x0 = g_memdup2 (s.img, n * sizeof (float));
  g_autofree float *x = g_memdup2 (s.img, n * sizeof (float));
  SinopiaSampleRequest req = {
    .model = s.model, .txt = s.txt, .txt_ids = s.txt_ids, .y = s.y, .n_txt = s.n_txt,
    .guidance = 3.5f, .img_ids = s.img_ids, .n_img = s.n_img, .t_eval = t_eval, .dt = dt, .n_steps = N,
  };
  sinopia_flux_steps_from_schedule (ts, N, TRUE, t_eval, dt);
  g_assert_cmpfloat (t_eval[0], ==, 0.0f);
  g_assert_true (sinopia_flux_sample (&req, x, NULL, NULL, &error));
  g_assert_no_error (error);
  double moved = sinopia_test_max_abs_diff (x, x0, n);
  sinopia_flux_steps_from_schedule (ts, N, FALSE, t_eval, dt);
  g_assert_true (sinopia_flux_sample (&req, x, NULL, NULL, &error));
  double back = sinopia_test_max_abs_diff (x, x0, n);
  g_test_message ("inversion moved the latent by %.3g; the round trip is off by %.3g", moved, back);
  /* the walk moves far (the noise scale is 1) but returns within a small fraction */
  g_assert_cmpfloat (moved, >, 0.5);
  g_assert_cmpfloat (back, <, 0.1 * moved);
  sampling_close (&s);
}

/* The preview map fitted on the golden AE predicts the mean colour of each decoded 8×8
 * block of latents it has not seen better than the constant mean colour does. (The golden
 * AE has random weights, so its decoder is far from linear and the margin is small; a
 * trained decoder is close to linear per block.) */
static void
test_preview_fit (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = sinopia_test_golden_path (GOLDEN, "ae_a_weights.safetensors");
  if (!path)
    return;
  SinopiaAeModel *ae = sinopia_ae_load (sinopia_test_context (), path, &error);
  g_assert_no_error (error);
  SinopiaPreviewMap map;
  g_assert_true (sinopia_preview_fit (ae, &map, &error));
  g_assert_no_error (error);
  const uint32_t h = 6, w = 6, C = 16, f = 8;
  g_autofree float *z = g_new (float, C * h * w);
  g_autofree float *img = g_new (float, 3 * h * f * w * f);
  sinopia_noise (99, z, C * h * w);
  g_assert_true (sinopia_ae_decode (ae, z, h, w, img, NULL, NULL, &error));
  double err_map = 0, err_const = 0, means[3] = { 0 };
  g_autofree double *block = g_new (double, 3 * h * w);
  for (uint32_t ch = 0; ch < 3; ch++)
    for (uint32_t p = 0; p < h * w; p++) {
      double m = 0;
      for (uint32_t dy = 0; dy < f; dy++)
        for (uint32_t dx = 0; dx < f; dx++)
          m += img[(ch * h * f + (p / w) * f + dy) * w * f + (p % w) * f + dx];
      block[ch * h * w + p] = m / (f * f);
      means[ch] += m / (f * f) / (h * w);
    }
  for (uint32_t ch = 0; ch < 3; ch++)
    for (uint32_t p = 0; p < h * w; p++) {
      double pred = map.bias[ch];
      for (uint32_t c = 0; c < C; c++)
        pred += map.weight[ch][c] * z[c * h * w + p];
      err_map += (pred - block[ch * h * w + p]) * (pred - block[ch * h * w + p]);
      err_const += (means[ch] - block[ch * h * w + p]) * (means[ch] - block[ch * h * w + p]);
    }
  g_test_message ("preview fit: squared error %.4g against %.4g for the mean colour", err_map, err_const);
  g_assert_cmpfloat (err_map, <, 0.95 * err_const);

  /* the byte preview of a latent is the map's prediction, clamped and scaled */
  g_autofree guint8 *rgb = g_new (guint8, h * w * 3);
  sinopia_preview_rgb (&map, z, h, w, rgb);
  double pred = map.bias[1];
  for (uint32_t c = 0; c < C; c++)
    pred += map.weight[1][c] * z[c * h * w + 7];
  g_assert_cmpint (rgb[7 * 3 + 1], ==, (int) ((CLAMP (pred, -1.0, 1.0) + 1.0) * 127.5 + 0.5));
  sinopia_ae_free (ae);
}

typedef struct {
  guint previews;
  uint32_t w, h;
} PreviewCount;

static gboolean
count_preview (const SinopiaStepInfo *info, gpointer user_data)
{
  PreviewCount *c = user_data;
  g_assert_nonnull (info->preview_rgb);
  c->w = info->preview_width;
  c->h = info->preview_height;
  c->previews++;
  return TRUE;
}

static void
test_sampling_previews (void)
{
  g_autoptr (GError) error = NULL;
  Sampling s = { 0 };
  if (!sampling_open (&s))
    return;
  float ts[3], t_eval[2], dt[2];
  sinopia_flux_schedule (2, s.n_img, TRUE, ts);
  sinopia_flux_steps_from_schedule (ts, 2, FALSE, t_eval, dt);
  SinopiaPreviewMap map;
  sinopia_preview_default (16, &map);
  SinopiaSampleRequest req = {
    .model = s.model, .txt = s.txt, .txt_ids = s.txt_ids, .y = s.y, .n_txt = s.n_txt,
    .guidance = 3.5f, .img_ids = s.img_ids, .n_img = s.n_img, .t_eval = t_eval, .dt = dt, .n_steps = 2,
    .preview = &map, .latent_height = 8, .latent_width = 8,
  };
  PreviewCount count = { 0 };
  g_assert_true (sinopia_flux_sample (&req, s.img, count_preview, &count, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count.previews, ==, 2);
  g_assert_cmpuint (count.w, ==, 8);
  g_assert_cmpuint (count.h, ==, 8);
  /* a latent size that does not match the tokens is refused */
  req.latent_height = 6;
  g_assert_false (sinopia_flux_sample (&req, s.img, count_preview, &count, &error));
  g_assert_error (error, SINOPIA_SAMPLER_ERROR, SINOPIA_SAMPLER_ERROR_INPUT);
  sampling_close (&s);
}

/* The golden A1 transformer without its guidance embedding, as a model that needs true CFG.
 * (transfer full) path of a temporary file: g_free after g_remove. */
static char *
write_unguided (const char *weights)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (weights, &error);
  g_assert_no_error (error);
  g_autoptr (SinopiaSafetensorsWriter) w = sinopia_safetensors_writer_new ();
  for (gsize i = 0; i < sinopia_safetensors_n_tensors (st); i++) {
    const SinopiaTensorInfo *t = sinopia_safetensors_tensor (st, i);
    if (g_str_has_prefix (t->name, "guidance_in."))
      continue;
    g_assert_true (sinopia_safetensors_writer_add (w, t->name, t->dtype, t->n_dims, t->shape, t->data, t->n_bytes,
                                                   &error));
  }
  g_auto (GStrv) parts = g_strsplit (sinopia_safetensors_metadata (st, "flux_params"), "\"guidance_embed\": true", 2);
  g_assert_cmpuint (g_strv_length (parts), ==, 2);
  g_autofree char *params = g_strjoinv ("\"guidance_embed\": false", parts);
  g_assert_true (sinopia_safetensors_writer_set_metadata (w, "flux_params", params, &error));
  g_autofree char *dir = g_dir_make_tmp ("sinopia-cfg-XXXXXX", &error);
  char *path = g_build_filename (dir, "unguided.safetensors", NULL);
  g_assert_true (sinopia_safetensors_writer_write (w, path, &error));
  g_assert_no_error (error);
  return path;
}

/* One forward's velocity for (txt, y) at time t, on the device. (transfer full) */
static float *
velocity (SinopiaFluxModel *m, const Sampling *s, const float *txt, const float *y, const float *x, float t)
{
  g_autoptr (GError) error = NULL;
  SinopiaFluxConditioning *c = sinopia_flux_conditioning_new (m, txt, s->n_txt, s->txt_ids, y, s->img_ids, s->n_img,
                                                              &t, NULL, 1, &error);
  g_assert_no_error (error);
  SinopiaFluxWorkspace *ws = sinopia_flux_workspace_new (m, s->n_img, s->n_txt, &error);
  g_assert_no_error (error);
  SinopiaBuffer *bx = sinopia_test_buffer (SINOPIA_DTYPE_F32, x, s->n_img * 64);
  SinopiaBuffer *bv = sinopia_test_output (s->n_img * 64);
  SinopiaTensor tx = sinopia_tensor (bx, 0, s->n_img, 64), tv = sinopia_tensor (bv, 0, s->n_img, 64);
  SinopiaRecorder *rec = sinopia_test_begin ();
  g_assert_true (sinopia_flux_forward (m, ws, c, 0, &tx, &tv, rec, NULL, &error));
  sinopia_test_submit (rec);
  float *v = sinopia_test_read (bv, s->n_img * 64);
  sinopia_buffer_free (bx);
  sinopia_buffer_free (bv);
  sinopia_flux_workspace_free (ws);
  sinopia_flux_conditioning_free (c);
  return v;
}

/* True classifier-free guidance: one step with scale g equals x + dt·(v_u + g·(v_c − v_u))
 * from two separate forwards; with g = 1 it is plain sampling of the prompt. */
static void
test_classifier_free_guidance (void)
{
  g_autoptr (GError) error = NULL;
  Sampling s = { 0 };
  if (!sampling_open (&s))
    return;
  g_autofree char *weights = sinopia_test_golden_path (GOLDEN, "flux_a1_weights.safetensors");
  g_autofree char *path = write_unguided (weights);
  SinopiaFluxModel *m = sinopia_flux_model_load (sinopia_test_context (), path, &error);
  g_assert_no_error (error);
  g_assert_false (sinopia_flux_model_config (m)->guidance_embed);

  gsize n = s.n_img * 64;
  g_autofree float *neg_txt = g_new (float, s.n_txt * 48);
  g_autofree float *neg_y = g_new (float, 32);
  sinopia_noise (5, neg_txt, s.n_txt * 48);
  sinopia_noise (6, neg_y, 32);
  float t_eval[1] = { 0.8f }, dt[1] = { -0.3f }, g = 4.0f;
  SinopiaSampleRequest req = {
    .model = m, .txt = s.txt, .txt_ids = s.txt_ids, .y = s.y, .n_txt = s.n_txt,
    .neg_txt = neg_txt, .neg_txt_ids = s.txt_ids, .neg_y = neg_y, .n_neg_txt = s.n_txt,
    .guidance = g, .img_ids = s.img_ids, .n_img = s.n_img, .t_eval = t_eval, .dt = dt, .n_steps = 1,
  };
  g_autofree float *x = g_memdup2 (s.img, n * sizeof (float));
  g_assert_true (sinopia_flux_sample (&req, x, NULL, NULL, &error));
  g_assert_no_error (error);

  g_autofree float *vc = velocity (m, &s, s.txt, s.y, s.img, t_eval[0]);
  g_autofree float *vu = velocity (m, &s, neg_txt, neg_y, s.img, t_eval[0]);
  g_autofree float *want = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    want[i] = s.img[i] + dt[0] * (vu[i] + g * (vc[i] - vu[i]));
  /* the same float operations in another order: a few ulps of |g·v| ≈ 5 */
  sinopia_test_assert_close (x, want, n, 5e-6, 1e-6, "CFG step");
  double spread = sinopia_test_max_abs_diff (vc, vu, n);
  g_assert_cmpfloat (spread, >, 1e-3);  /* the two prompts really differ */

  req.guidance = 1.0f;
  memcpy (x, s.img, n * sizeof (float));
  g_assert_true (sinopia_flux_sample (&req, x, NULL, NULL, &error));
  for (gsize i = 0; i < n; i++)
    want[i] = s.img[i] + dt[0] * vc[i];
  sinopia_test_assert_close (x, want, n, 1e-6, 1e-6, "CFG scale 1");

  sinopia_flux_model_free (m);
  g_autofree char *dir = g_path_get_dirname (path);
  g_remove (path);
  g_rmdir (dir);
  sampling_close (&s);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sampler/schedules", test_schedules);
  g_test_add_func ("/sampler/pack-round-trip", test_pack_round_trip);
  g_test_add_func ("/sampler/golden-pack", test_golden_pack);
  g_test_add_func ("/sampler/noise", test_noise);
  g_test_add_func ("/sampler/golden-sampling", test_golden_sampling);
  g_test_add_func ("/sampler/cancel", test_cancel);
  g_test_add_func ("/sampler/inversion-round-trip", test_inversion_round_trip);
  g_test_add_func ("/sampler/preview-fit", test_preview_fit);
  g_test_add_func ("/sampler/classifier-free-guidance", test_classifier_free_guidance);
  g_test_add_func ("/sampler/sampling-previews", test_sampling_previews);
  int rc = g_test_run ();
  sinopia_test_context_finish ();
  return rc;
}
