/* sinopia-ae-private.h — the autoencoder's layers; shared by engine/sinopia-ae-*.c only.
 * Thread rules as in sinopia-ae.h. */
#pragma once

#include "sinopia-ae.h"

/* A convolution: weight [cout, cin·k·k] in the stored dtype, bias [cout] f32. Layer sizes are
 * filled even without weights (memory estimates run the forward without a device). */
typedef struct {
  SinopiaBuffer *w, *b;
  uint32_t cout, cin, k;
} SinopiaAeConv;

typedef struct {
  SinopiaBuffer *w, *b;   /* GroupNorm affine [c] f32 */
  uint32_t c;
} SinopiaAeNorm;

typedef struct {
  SinopiaAeNorm norm1, norm2;
  SinopiaAeConv conv1, conv2;
  SinopiaAeConv nin;      /* 1×1 shortcut, only when cin ≠ cout */
  gboolean has_nin;
} SinopiaAeResnet;

typedef struct {
  SinopiaAeNorm norm;
  SinopiaAeConv q, k, v, proj;
} SinopiaAeAttn;

typedef struct {
  SinopiaAeResnet *blocks;
  guint n_blocks;
  SinopiaAeConv sample;   /* encoder: downsample conv; decoder: upsample conv */
  gboolean has_sample;
} SinopiaAeLevel;

typedef struct {
  SinopiaAeConv conv_in;
  SinopiaAeLevel levels[SINOPIA_AE_MAX_LEVELS];
  SinopiaAeResnet mid1, mid2;
  SinopiaAeAttn attn;
  SinopiaAeNorm norm_out;
  SinopiaAeConv conv_out;
} SinopiaAeCoder;

struct _SinopiaAeModel {
  SinopiaVkContext *ctx;    /* NULL for a layout without weights */
  SinopiaAeConfig cfg;
  SinopiaAeCoder enc, dec;
  uint64_t weight_bytes;
  SinopiaAeInspect inspect;
  gpointer inspect_user;
};

/* Whether the configuration is one the code supports (error says why not). */
gboolean sinopia__ae_config_check (const SinopiaAeConfig *cfg, GError **error);
/* Fills the layer sizes of both coders from the configuration, without weights. */
void sinopia__ae_layout (SinopiaAeModel *m);
/* Frees the weights and the block arrays (not the model itself). */
void sinopia__ae_clear (SinopiaAeModel *m);
