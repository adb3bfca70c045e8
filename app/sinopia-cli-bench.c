/* sinopia-cli-bench.c — `sinopia-cli bench ops`: op throughput on the chosen device, next to OpenBLAS. */
#define G_LOG_DOMAIN "sinopia-cli"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef HAVE_OPENBLAS
#include <cblas.h>
#endif

#include "sinopia-cli.h"
#include "sinopia-ops.h"
#include "sinopia-ref.h"

/* Every figure is the median of this many timed runs, after one untimed run that builds
 * the pipelines and warms the caches. */
#define RUNS 7
/* Dispatches recorded into one submission per run: enough work per submit that the
 * ~55 µs submit round trip (machine-feasibility.md §3) stays a small part of it. */
#define FLOP_PER_RUN 4e8
#define MAX_DISPATCHES 16
/* --full times the CPU reference (double accumulation, slow) only up to this size. */
#define REF_MAX_FLOP 6e7

typedef struct {
  uint32_t M, K, N;
} Shape;

/* DiT-sized defaults: the two target shapes, then QKV and MLP-down of a hidden-256 model
 * with 256 image + 24 text tokens. */
static const Shape default_shapes[] = {
  { 256, 256, 1024 }, { 1024, 1024, 1024 }, { 280, 256, 768 }, { 280, 1024, 256 },
};
static const uint32_t full_tokens[] = { 64, 256, 1024, 4096 };
static const uint32_t full_widths[] = { 128, 768, 3072 };
static const SinopiaDType weight_dtypes[] = { SINOPIA_DTYPE_F32, SINOPIA_DTYPE_F16, SINOPIA_DTYPE_BF16 };

typedef struct {
  SinopiaVkContext *ctx;
  SinopiaRecorder *rec;
  gboolean mismatch;
} Bench;

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (double *v, guint n)
{
  qsort (v, n, sizeof *v, compare_doubles);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static guint
dispatches_for (double flop)
{
  return (guint) CLAMP (ceil (FLOP_PER_RUN / flop), 1, MAX_DISPATCHES);
}

static float *
random_values (GRand *rand, gsize n)
{
  float *v = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    v[i] = (float) g_rand_double_range (rand, -1.0, 1.0);
  return v;
}

/* The values as a buffer of `dtype`; *stored gets them as the device holds them, widened
 * back to f32 (NULL: not wanted). (transfer full): sinopia_buffer_free; *stored: g_free. */
static SinopiaBuffer *
upload (SinopiaVkContext *ctx, SinopiaDType dtype, const float *values, gsize n, float **stored, GError **error)
{
  SinopiaBuffer *buf = sinopia_buffer_new (ctx, dtype, n, error);
  if (!buf)
    return NULL;
  g_autofree uint16_t *bits = dtype == SINOPIA_DTYPE_F32 ? NULL : g_new (uint16_t, n);
  for (gsize i = 0; bits && i < n; i++)
    bits[i] = dtype == SINOPIA_DTYPE_F16 ? sinopia_ref_f32_to_f16 (values[i]) : sinopia_ref_f32_to_bf16 (values[i]);
  if (stored) {
    *stored = g_new (float, n);
    for (gsize i = 0; i < n; i++)
      (*stored)[i] = !bits ? values[i]
                     : dtype == SINOPIA_DTYPE_F16 ? sinopia_ref_f16_to_f32 (bits[i]) : sinopia_ref_bf16_to_f32 (bits[i]);
  }
  if (!sinopia_buffer_upload (buf, 0, bits ? (const void *) bits : (const void *) values,
                              n * sinopia_dtype_size (dtype), error)) {
    sinopia_buffer_free (buf);
    return NULL;
  }
  return buf;
}

typedef gboolean (*RecordFunc) (SinopiaRecorder *rec, gpointer data, GError **error);

/* Seconds per call of `record` (a dispatch or a few): `n` calls in one submission per run,
 * median of RUNS runs; only the submit and wait are timed. */
static gboolean
time_device (Bench *b, RecordFunc record, gpointer data, guint n, double *seconds, GError **error)
{
  double t[RUNS];
  for (int run = -1; run < RUNS; run++) {
    if (!sinopia_recorder_begin (b->rec, FALSE, error))
      return FALSE;
    for (guint i = 0; i < n; i++)
      if (!record (b->rec, data, error)) {
        sinopia_recorder_submit (b->rec, NULL);
        return FALSE;
      }
    gint64 t0 = g_get_monotonic_time ();
    if (!sinopia_recorder_submit (b->rec, error))
      return FALSE;
    if (run >= 0)
      t[run] = (g_get_monotonic_time () - t0) * 1e-6 / n;
  }
  *seconds = median (t, RUNS);
  return TRUE;
}

typedef struct {
  SinopiaTensor x, w, y;
} MatmulArgs;

static gboolean
record_matmul (SinopiaRecorder *rec, gpointer data, GError **error)
{
  MatmulArgs *a = data;
  return sinopia_op_matmul (rec, &a->x, &a->w, NULL, SINOPIA_ACT_NONE, FALSE, &a->y, error);
}

#ifdef HAVE_OPENBLAS
static void
blas_matmul (Shape s, const float *x, const float *w, float *y)
{
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) s.M, (int) s.N, (int) s.K, 1.0f, x, (int) s.K,
               w, (int) s.K, 0.0f, y, (int) s.N);
}

static double
time_blas (Shape s, const float *x, const float *w, float *y, guint n)
{
  double t[RUNS];
  blas_matmul (s, x, w, y);
  for (int run = 0; run < RUNS; run++) {
    gint64 t0 = g_get_monotonic_time ();
    for (guint i = 0; i < n; i++)
      blas_matmul (s, x, w, y);
    t[run] = (g_get_monotonic_time () - t0) * 1e-6 / n;
  }
  return median (t, RUNS);
}
#endif

/* The device's result against a double-precision product of the same (rounded) weights,
 * on a sample of rows; a mismatch means the timing measured a broken kernel. */
static gboolean
result_ok (Shape s, const float *x, const float *w, const float *y)
{
  for (uint32_t m = 0; m < s.M; m += MAX (s.M / 7, 1))
    for (uint32_t n = 0; n < s.N; n++) {
      double sum = 0, scale = 0;
      for (uint32_t k = 0; k < s.K; k++) {
        sum += (double) x[(size_t) m * s.K + k] * w[(size_t) n * s.K + k];
        scale += fabs ((double) x[(size_t) m * s.K + k] * w[(size_t) n * s.K + k]);
      }
      if (!(fabs (y[(size_t) m * s.N + n] - sum) <= 1e-4 * scale + 1e-6))
        return FALSE;
    }
  return TRUE;
}

static gboolean
bench_matmul_shape (Bench *b, Shape s, gboolean time_reference, GError **error)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (s.M ^ (s.K << 8) ^ (s.N << 16));
  gsize nx = (gsize) s.M * s.K, nw = (gsize) s.N * s.K, ny = (gsize) s.M * s.N;
  g_autofree float *x = random_values (rand, nx);
  g_autofree float *w = random_values (rand, nw);
  g_autofree float *y = g_new (float, ny);
  double flop = 2.0 * s.M * s.K * s.N;
  guint n = dispatches_for (flop);
  g_autofree char *blas = NULL;
  double blas_gflops = 0;

#ifdef HAVE_OPENBLAS
  blas_gflops = flop / time_blas (s, x, w, y, n) * 1e-9;
  blas = g_strdup_printf ("%.1f GFLOP/s", blas_gflops);
#else
  blas = g_strdup ("not built in");
#endif
  g_autofree char *reference = NULL;
  if (time_reference && flop <= REF_MAX_FLOP) {
    double t[3];
    for (int run = 0; run < 3; run++) {
      gint64 t0 = g_get_monotonic_time ();
      sinopia_ref_matmul (x, w, SINOPIA_DTYPE_F32, NULL, SINOPIA_ACT_NONE, FALSE, s.M, s.K, s.N, y);
      t[run] = (g_get_monotonic_time () - t0) * 1e-6;
    }
    reference = g_strdup_printf ("  CPU reference: %.2f GFLOP/s", flop / median (t, 3) * 1e-9);
  }

  SinopiaBuffer *bx = upload (b->ctx, SINOPIA_DTYPE_F32, x, nx, NULL, error);
  SinopiaBuffer *by = bx ? sinopia_buffer_new (b->ctx, SINOPIA_DTYPE_F32, ny, error) : NULL;
  gboolean ok = by != NULL;
  for (guint d = 0; ok && d < G_N_ELEMENTS (weight_dtypes); d++) {
    g_autofree float *stored = NULL;
    double seconds = 0;
    SinopiaBuffer *bw = upload (b->ctx, weight_dtypes[d], w, nw, &stored, error);
    MatmulArgs args = {
      sinopia_tensor (bx, 0, s.M, s.K), sinopia_tensor (bw, 0, s.N, s.K), sinopia_tensor (by, 0, s.M, s.N),
    };
    ok = bw && time_device (b, record_matmul, &args, n, &seconds, error) &&
         sinopia_buffer_download (by, 0, y, ny * sizeof (float), error);
    sinopia_buffer_free (bw);
    if (!ok)
      break;
    gboolean right = result_ok (s, x, stored, y);
    double gflops = flop / seconds * 1e-9;
    g_autofree char *ratio = blas_gflops > 0 ? g_strdup_printf ("  ratio %.2f", gflops / blas_gflops) : g_strdup ("");
    printf ("matmul M=%u K=%u N=%u w=%s: %.1f GFLOP/s  OpenBLAS: %s%s%s%s\n", s.M, s.K, s.N,
            sinopia_dtype_name (weight_dtypes[d]), gflops, blas, ratio, d == 0 && reference ? reference : "",
            right ? "" : "  WRONG RESULT");
    fflush (stdout);
    b->mismatch |= !right;
  }
  sinopia_buffer_free (bx);
  sinopia_buffer_free (by);
  return ok;
}

typedef struct {
  SinopiaTensor q, k, v, out;
  SinopiaAttentionOptions opts;
} AttentionArgs;

static gboolean
record_attention (SinopiaRecorder *rec, gpointer data, GError **error)
{
  AttentionArgs *a = data;
  return sinopia_op_attention (rec, &a->q, &a->k, &a->v, &a->opts, &a->out, error);
}

static gboolean
bench_attention (Bench *b, uint32_t L, uint32_t head_dim, uint32_t heads, GError **error)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (L * heads + head_dim);
  gsize n = (gsize) L * head_dim * heads;
  g_autofree float *values = random_values (rand, n);
  SinopiaBuffer *bufs[4] = { NULL };
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < 3; i++)
    ok = (bufs[i] = upload (b->ctx, SINOPIA_DTYPE_F32, values, n, NULL, error)) != NULL;
  ok = ok && (bufs[3] = sinopia_buffer_new (b->ctx, SINOPIA_DTYPE_F32, n, error)) != NULL;
  if (ok) {
    double flop = 4.0 * L * L * head_dim * heads, seconds = 0;
    AttentionArgs args = {
      .q = sinopia_tensor (bufs[0], 0, L, head_dim * heads),
      .k = sinopia_tensor (bufs[1], 0, L, head_dim * heads),
      .v = sinopia_tensor (bufs[2], 0, L, head_dim * heads),
      .out = sinopia_tensor (bufs[3], 0, L, head_dim * heads),
      .opts = { .n_heads = heads, .head_dim = head_dim, .scale = 1.0f / sqrtf ((float) head_dim) },
    };
    ok = time_device (b, record_attention, &args, dispatches_for (flop), &seconds, error);
    if (ok)
      printf ("attention L=%u d=%u heads=%u: %.1f GFLOP/s\n", L, head_dim, heads, flop / seconds * 1e-9);
  }
  for (guint i = 0; i < 4; i++)
    sinopia_buffer_free (bufs[i]);
  return ok;
}

static gboolean
run_ops (Bench *b, gboolean full, const Shape *chosen, guint n_chosen, GError **error)
{
  if (n_chosen) {
    for (guint i = 0; i < n_chosen; i++)
      if (!bench_matmul_shape (b, chosen[i], FALSE, error))
        return FALSE;
    return TRUE;
  }
  if (!full) {
    for (guint i = 0; i < G_N_ELEMENTS (default_shapes); i++)
      if (!bench_matmul_shape (b, default_shapes[i], FALSE, error))
        return FALSE;
  } else {
    for (guint m = 0; m < G_N_ELEMENTS (full_tokens); m++)
      for (guint k = 0; k < G_N_ELEMENTS (full_widths); k++)
        for (guint n = 0; n < G_N_ELEMENTS (full_widths); n++) {
          Shape s = { full_tokens[m], full_widths[k], full_widths[n] };
          if (!bench_matmul_shape (b, s, TRUE, error))
            return FALSE;
        }
  }
  return bench_attention (b, 1024, 64, 4, error);
}

int
cli_bench (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  gboolean full = FALSE;
  g_auto (GStrv) matmuls = NULL;
  GOptionEntry entries[] = {
    { "full", 0, 0, G_OPTION_ARG_NONE, &full,
      "Sweep M=64..4096 tokens and K, N=128..3072, and time the CPU reference on small shapes", NULL },
    { "matmul", 0, 0, G_OPTION_ARG_STRING_ARRAY, &matmuls, "Time only this matmul shape (repeatable)", "M,K,N" },
    { NULL },
  };

  /* the other benchmarks have options of their own */
  static const struct {
    const char *name;
    int (*run) (int argc, char **argv);
  } subcommands[] = {
    { "model", cli_bench_model },       { "quality", cli_bench_quality }, { "generate", cli_bench_generate },
    { "regional", cli_bench_regional }, { "edit", cli_bench_edit },       { "inpaint", cli_bench_inpaint },
  };
  for (guint i = 0; argc >= 2 && i < G_N_ELEMENTS (subcommands); i++)
    if (strcmp (argv[1], subcommands[i].name) == 0)
      return subcommands[i].run (argc - 1, argv + 1);
  if (!cli_parse ("bench", "ops", "Measures op throughput (GFLOP/s) on the chosen Vulkan device, each matmul\n"
                  "next to OpenBLAS sgemm on 2 threads. Medians of 7 runs; SINOPIA_DEVICE picks the\n"
                  "device and SINOPIA_MATMUL_VARIANT the matmul kernel (texel, scalar, tiled).\n"
                  "'sinopia-cli bench model --help' describes the transformer benchmark, 'bench quality\n"
                  "--help' the shapes-world quality benchmark, 'bench generate --help' the image timing,\n"
                  "'bench regional', 'bench inpaint' and 'bench edit --help' the editing methods' quality.",
                  entries, &argc, &argv))
    return CLI_USAGE;
  if (argc != 2 || strcmp (argv[1], "ops") != 0) {
    fprintf (stderr, "sinopia-cli bench: %s\nTry 'sinopia-cli bench --help'.\n",
             argc < 2 ? "say what to benchmark: ops, model, quality, generate, regional, inpaint or edit"
                      : "unknown benchmark (ops, model, quality, generate, regional, inpaint or edit)");
    return CLI_USAGE;
  }
  guint n_chosen = matmuls ? g_strv_length (matmuls) : 0;
  g_autofree Shape *chosen = g_new0 (Shape, n_chosen);
  for (guint i = 0; i < n_chosen; i++) {
    Shape *c = &chosen[i];
    char end;
    if (sscanf (matmuls[i], "%u,%u,%u%c", &c->M, &c->K, &c->N, &end) != 3 || !c->M || !c->K || !c->N ||
        c->M > 16384 || c->K > 16384 || c->N > 16384) {
      fprintf (stderr, "sinopia-cli bench: --matmul wants M,K,N, each 1..16384, not '%s'\n", matmuls[i]);
      return CLI_USAGE;
    }
  }
#ifdef HAVE_OPENBLAS
  openblas_set_num_threads (2);
#endif

  Bench b = { 0 };
  b.ctx = sinopia_vk_context_new (NULL, &error);
  if (!b.ctx)
    return cli_fail ("%s", error->message);
  g_autofree char *device = cli_device_label (b.ctx);
  printf ("device: %s (%s)\n", device, sinopia_vk_context_device_info (b.ctx)->type);
  fflush (stdout);
  b.rec = sinopia_recorder_new (b.ctx, &error);
  gboolean ok = b.rec && run_ops (&b, full, chosen, n_chosen, &error);
  sinopia_recorder_free (b.rec);
  sinopia_vk_context_free (b.ctx);
  if (!ok)
    return cli_fail ("%s", error->message);
  if (b.mismatch)
    return cli_fail ("a matmul gave a wrong result (marked WRONG RESULT above)");
  return CLI_OK;
}
