/* sinopia-ops-private.h — helpers shared by the op files (vulkan/sinopia-ops-*.c). */
#pragma once

#include "sinopia-vk-private.h"

/* Default workgroup size for one-invocation-per-element kernels. */
#define SINOPIA_WG 64

gboolean sinopia__check_shape (const SinopiaTensor *t, uint32_t rows, uint32_t cols, const char *op,
                               const char *what, GError **error);
/* A 2-D grid of workgroups covering n invocations (x at most 65535). */
void sinopia__grid (uint64_t n_invocations, uint32_t workgroup, uint32_t groups[3]);
/* Bindings: a texel view of t's buffer (t may be NULL: the dummy buffer), or its SSBO. */
SinopiaBinding sinopia__texel (const SinopiaTensor *t, VkFormat format);
SinopiaBinding sinopia__storage (const SinopiaTensor *t);
/* The one-component texel format a shader reads a buffer of `dtype` through
 * (bf16 is read as R16_UINT and widened by hand). */
VkFormat sinopia__scalar_format (SinopiaDType dtype);
