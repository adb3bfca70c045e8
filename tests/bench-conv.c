/* bench-conv.c — timing of the image ops on the chosen device (a benchmark, not a test).
 *   build/tests/bench-conv            the AE-sized defaults below
 *   build/tests/bench-conv CIN COUT H W K STRIDE [f32|f16|bf16]
 * Prints the median wall time of a dispatch (several per submission, after one untimed run
 * that builds the pipelines) as GFLOP/s, and the same work per CPU-second of this process:
 * lavapipe runs on this process's threads, so the second figure holds up while other
 * programs load the machine. SINOPIA_CONV_VARIANT and SINOPIA_DEVICE apply as usual. */
#define G_LOG_DOMAIN "sinopia-bench"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "sinopia-ops.h"

#define RUNS 7
#define PER_SUBMIT 3

typedef struct {
  uint32_t cin, cout, height, width, kernel, stride;
  SinopiaDType dtype;
} Case;

static const Case defaults[] = {
  { 128, 128, 64, 64, 3, 1, SINOPIA_DTYPE_F32 },
  { 128, 128, 128, 128, 3, 1, SINOPIA_DTYPE_F32 },
  { 128, 128, 64, 64, 3, 1, SINOPIA_DTYPE_F16 },
  { 128, 128, 64, 64, 3, 1, SINOPIA_DTYPE_BF16 },
  { 512, 512, 16, 16, 3, 1, SINOPIA_DTYPE_F32 },
  { 512, 512, 18, 18, 3, 1, SINOPIA_DTYPE_F32 },
  { 256, 256, 65, 65, 3, 1, SINOPIA_DTYPE_F32 },
  { 128, 128, 128, 128, 3, 2, SINOPIA_DTYPE_F32 },
  { 256, 128, 64, 64, 1, 1, SINOPIA_DTYPE_F32 },
};

static double
cpu_seconds (void)
{
  struct rusage u;
  getrusage (RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static gboolean
run_case (SinopiaVkContext *ctx, const Case *c, GError **error)
{
  SinopiaConvShape s = { c->height, c->width, c->kernel, c->stride, 0, 0, 0, 0 };
  if (c->kernel == 3 && c->stride == 1)
    s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = 1;
  else if (c->kernel == 3)
    s.pad_bottom = s.pad_right = 1;   /* FLUX's downsample */
  uint32_t ho, wo;
  sinopia_conv_output_size (&s, &ho, &wo);
  uint64_t taps = (uint64_t) c->cin * c->kernel * c->kernel;
  double flop = 2.0 * c->cout * taps * ho * wo;
  gboolean ok = FALSE;
  double wall[RUNS], cpu[RUNS];

  SinopiaBuffer *bx = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, (uint64_t) c->cin * c->height * c->width, error);
  SinopiaBuffer *bw = bx ? sinopia_buffer_new (ctx, c->dtype, c->cout * taps, error) : NULL;
  SinopiaBuffer *bb = bw ? sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, c->cout, error) : NULL;
  SinopiaBuffer *by = bb ? sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, (uint64_t) c->cout * ho * wo, error) : NULL;
  SinopiaRecorder *rec = by ? sinopia_recorder_new (ctx, error) : NULL;
  if (!rec)
    goto out;
  SinopiaTensor x = sinopia_tensor (bx, 0, c->cin, c->height * c->width);
  SinopiaTensor w = sinopia_tensor (bw, 0, c->cout, (uint32_t) taps);
  SinopiaTensor b = sinopia_tensor (bb, 0, 1, c->cout), y = sinopia_tensor (by, 0, c->cout, ho * wo);
  for (int r = -1; r < RUNS; r++) {
    if (!sinopia_recorder_begin (rec, FALSE, error))
      goto out;
    for (int i = 0; i < PER_SUBMIT; i++)
      if (!sinopia_op_conv2d (rec, &x, &s, &w, &b, FALSE, &y, error))
        goto out;
    gint64 t0 = g_get_monotonic_time ();
    double c0 = cpu_seconds ();
    if (!sinopia_recorder_submit (rec, error))
      goto out;
    if (r >= 0) {
      wall[r] = (g_get_monotonic_time () - t0) / 1e6 / PER_SUBMIT;
      cpu[r] = (cpu_seconds () - c0) / PER_SUBMIT;
    }
  }
  qsort (wall, RUNS, sizeof *wall, compare_doubles);
  qsort (cpu, RUNS, sizeof *cpu, compare_doubles);
  printf ("conv %4u→%-4u %4u×%-4u k%u s%u %-4s %7.2f GFLOP  %9.2f ms  %6.1f GFLOP/s  %6.1f GFLOP/CPU-s\n",
          c->cin, c->cout, c->height, c->width, c->kernel, c->stride, sinopia_dtype_name (c->dtype), flop / 1e9,
          wall[RUNS / 2] * 1e3, flop / wall[RUNS / 2] / 1e9, flop / cpu[RUNS / 2] / 1e9);
  ok = TRUE;
out:
  sinopia_recorder_free (rec);
  if (by)
    sinopia_buffer_free (by);
  if (bb)
    sinopia_buffer_free (bb);
  if (bw)
    sinopia_buffer_free (bw);
  if (bx)
    sinopia_buffer_free (bx);
  return ok;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  Case one = { 0 };
  if (argc >= 7) {
    one = (Case) { atoi (argv[1]), atoi (argv[2]), atoi (argv[3]), atoi (argv[4]), atoi (argv[5]), atoi (argv[6]),
                   SINOPIA_DTYPE_F32 };
    if (argc > 7)
      one.dtype = strcmp (argv[7], "f16") == 0 ? SINOPIA_DTYPE_F16
                : strcmp (argv[7], "bf16") == 0 ? SINOPIA_DTYPE_BF16 : SINOPIA_DTYPE_F32;
  } else if (argc > 1) {
    fprintf (stderr, "usage: %s [CIN COUT H W K STRIDE [f32|f16|bf16]]\n", argv[0]);
    return 2;
  }
  SinopiaVkContext *ctx = sinopia_vk_context_new (NULL, &error);
  if (!ctx) {
    fprintf (stderr, "%s\n", error->message);
    return 1;
  }
  printf ("device: %s\n", sinopia_vk_context_device_info (ctx)->name);
  gboolean ok = TRUE;
  if (one.cin)
    ok = run_case (ctx, &one, &error);
  for (guint i = 0; ok && !one.cin && i < G_N_ELEMENTS (defaults); i++)
    ok = run_case (ctx, &defaults[i], &error);
  if (!ok)
    fprintf (stderr, "%s\n", error->message);
  sinopia_vk_context_free (ctx);
  return ok ? 0 : 1;
}
