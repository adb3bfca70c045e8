/* sinopia-weights.h — moving checkpoint tensors (safetensors, mmapped) into device buffers.
 *
 * Matrices keep their stored dtype on the device (F32, F16, BF16; F8_E4M3 is widened to F16
 * because no shader reads fp8); vectors (biases, norm scales) become F32, the dtype the ops
 * take for them. Data streams from the mapped file into the device in bounded chunks: no
 * second full copy of a checkpoint is ever held in RAM.
 * Threads: same rules as the Vulkan context the buffers belong to. */
#pragma once

#include "sinopia-ops.h"
#include "sinopia-safetensors.h"

G_BEGIN_DECLS

/* The device dtype a stored dtype becomes (FALSE when it cannot hold weights). */
gboolean sinopia_weights_device_dtype (SinopiaStDType stored, SinopiaDType *out);

/* Where one device tensor's rows come from: up to 6 source tensors stacked along dim 0
 * (diffusers splits q/k/v and the single-block MLP; a double block stacks its two streams),
 * optionally with the two halves of
 * dim 0 swapped (diffusers' final-layer modulation stores (scale, shift)). */
typedef struct {
  const SinopiaTensorInfo *tensor;
  uint64_t first_row;   /* rows [first_row, first_row + n_rows) of dim 0 */
  uint64_t n_rows;      /* 0: all rows from first_row on */
} SinopiaWeightPart;

typedef struct {
  SinopiaWeightPart parts[6];
  guint n_parts;
  gboolean swap_halves;  /* only with one part */
} SinopiaWeightSource;

/* Checks the parts against an expected [rows, cols] shape (rows summed over the parts;
 * a 1-D part has cols 1; 4-D conv weights are flattened to [out, in·kh·kw]), then allocates
 * a buffer and uploads. `force_f32` converts to F32 (vectors). `name` is used in errors.
 * (transfer full) the buffer; NULL on error. */
SinopiaBuffer *sinopia_weights_upload (SinopiaVkContext *ctx, const char *file, const char *name,
                                       const SinopiaWeightSource *src, uint64_t rows, uint64_t cols,
                                       gboolean force_f32, GError **error);

/* Bytes a tensor of `n_elements` stored as `stored` takes on the device (with force_f32). */
uint64_t sinopia_weights_device_bytes (SinopiaStDType stored, uint64_t n_elements, gboolean force_f32);

G_END_DECLS
