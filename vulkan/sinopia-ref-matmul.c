/* sinopia-ref-matmul.c — CPU reference of sinopia_op_matmul (double accumulation). */
#define G_LOG_DOMAIN "sinopia-ref"

#include "sinopia-ref.h"

static double
weight (const void *w, SinopiaDType w_dtype, size_t i)
{
  switch (w_dtype) {
  case SINOPIA_DTYPE_F16: return sinopia_ref_f16_to_f32 (((const uint16_t *) w)[i]);
  case SINOPIA_DTYPE_BF16: return sinopia_ref_bf16_to_f32 (((const uint16_t *) w)[i]);
  case SINOPIA_DTYPE_F32:
  case SINOPIA_DTYPE_U32:
  default: return ((const float *) w)[i];
  }
}

void
sinopia_ref_matmul (const float *x, const void *w, SinopiaDType w_dtype, const float *bias,
                    SinopiaActivation act, gboolean accumulate, uint32_t M, uint32_t K, uint32_t N,
                    float *y)
{
  for (uint32_t m = 0; m < M; m++)
    for (uint32_t n = 0; n < N; n++) {
      double sum = bias ? bias[n] : 0.0;
      for (uint32_t k = 0; k < K; k++)
        sum += (double) x[(size_t) m * K + k] * weight (w, w_dtype, (size_t) n * K + k);
      float v = sinopia_ref_activate ((float) sum, act);
      size_t i = (size_t) m * N + n;
      y[i] = accumulate ? y[i] + v : v;
    }
}
