/* sinopia-ref-attention.c — CPU references for softmax and masked attention (scores in double). */
#define G_LOG_DOMAIN "sinopia-ref"

#include <math.h>

#include "sinopia-ref.h"

void
sinopia_ref_softmax (const float *x, uint32_t rows, uint32_t cols, float *y)
{
  for (uint32_t r = 0; r < rows; r++) {
    const float *xr = x + (size_t) r * cols;
    float *yr = y + (size_t) r * cols;
    double m = -INFINITY, sum = 0.0;
    for (uint32_t c = 0; c < cols; c++)
      m = fmax (m, xr[c]);
    for (uint32_t c = 0; c < cols; c++)
      sum += xr[c] == -INFINITY ? 0.0 : exp (xr[c] - m);
    for (uint32_t c = 0; c < cols; c++)
      yr[c] = m == -INFINITY || xr[c] == -INFINITY ? 0.0f : (float) (exp (xr[c] - m) / sum);
  }
}

/* The bias of pair (i, j) in head h, or -inf when j is masked for i (sinopia-ops.h's rules;
 * a bucket past the table reads its last row, as the shaders do). */
static double
pair_bias (const SinopiaRefAttention *o, uint32_t lq, uint32_t i, uint32_t j, uint32_t h)
{
  if (o->causal && j > i)
    return -INFINITY;
  if (o->q_bits && (o->q_bits[i] & o->k_bits[j]) == 0)
    return -INFINITY;
  double b = o->key_bias ? o->key_bias[j] : 0.0;
  if (o->rel_buckets) {
    uint32_t bucket = MIN (o->rel_buckets[j + lq - 1 - i], o->n_buckets - 1);
    b += o->rel_bias_table[(size_t) bucket * o->n_heads + h];
  }
  return b;
}

void
sinopia_ref_attention (const float *q, uint32_t lq, const float *k, const float *v, uint32_t lk,
                       const SinopiaRefAttention *opts, float *out)
{
  uint32_t dh = opts->head_dim, cols = opts->n_heads * dh;
  g_autofree double *score = g_new (double, MAX (lk, 1));
  g_autofree double *acc = g_new (double, dh);

  for (uint32_t h = 0; h < opts->n_heads; h++)
    for (uint32_t i = 0; i < lq; i++) {
      const float *qi = q + (size_t) i * cols + (size_t) h * dh;
      double m = -INFINITY, sum = 0.0;
      for (uint32_t j = 0; j < lk; j++) {
        const float *kj = k + (size_t) j * cols + (size_t) h * dh;
        double dot = 0.0;
        for (uint32_t d = 0; d < dh; d++)
          dot += (double) qi[d] * kj[d];
        score[j] = dot * opts->scale + pair_bias (opts, lq, i, j, h);
        m = fmax (m, score[j]);
      }
      for (uint32_t d = 0; d < dh; d++)
        acc[d] = 0.0;
      if (m != -INFINITY)
        for (uint32_t j = 0; j < lk; j++) {
          if (score[j] == -INFINITY)
            continue;
          double pr = exp (score[j] - m);
          const float *vj = v + (size_t) j * cols + (size_t) h * dh;
          sum += pr;
          for (uint32_t d = 0; d < dh; d++)
            acc[d] += pr * vj[d];
        }
      float *oi = out + (size_t) i * cols + (size_t) h * dh;
      for (uint32_t d = 0; d < dh; d++)
        oi[d] = sum > 0.0 ? (float) (acc[d] / sum) : 0.0f;
    }
}
