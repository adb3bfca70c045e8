/* sinopia-ops-private.h — helpers shared by the op files (vulkan/sinopia-ops-*.c). */
#pragma once

#include "sinopia-vk-private.h"

/* Default workgroup size for one-invocation-per-element kernels. */
#define SINOPIA_WG 64

gboolean sinopia__check_shape (const SinopiaTensor *t, uint32_t rows, uint32_t cols, const char *op,
                               const char *what, GError **error);
/* A stream split's view against the first stream's (`first`, shape already checked): both
 * absent or both present with one shape; *one_buffer is cleared when they lie in different
 * buffers (then one dispatch cannot read both). */
gboolean sinopia__check_split_view (const SinopiaTensor *first, const SinopiaTensor *second, const char *op,
                                    const char *what, gboolean *one_buffer, GError **error);
/* Rows [0, row) of t into *first, the rest into *second. */
void sinopia__split_rows (const SinopiaTensor *t, uint32_t row, SinopiaTensor *first, SinopiaTensor *second);
/* The split's row lies within the input's `rows`. */
gboolean sinopia__check_split_row (const SinopiaStreamSplit *split, uint32_t rows, const char *op, GError **error);
/* A 2-D grid of workgroups covering n invocations (x at most 65535). */
void sinopia__grid (uint64_t n_invocations, uint32_t workgroup, uint32_t groups[3]);
/* Bindings: a texel view of t's buffer (t may be NULL: the dummy buffer), or its SSBO. */
SinopiaBinding sinopia__texel (const SinopiaTensor *t, VkFormat format);
SinopiaBinding sinopia__storage (const SinopiaTensor *t);
/* The one-component texel format a shader reads a buffer of `dtype` through
 * (bf16 is read as R16_UINT and widened by hand). */
VkFormat sinopia__scalar_format (SinopiaDType dtype);
