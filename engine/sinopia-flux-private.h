/* sinopia-flux-private.h — the transformer's device weights and per-job structs; shared by
 * engine/sinopia-flux-*.c only. Thread rules as in sinopia-flux.h. */
#pragma once

#include "sinopia-flux.h"

typedef struct {
  SinopiaBuffer *w;   /* [out, in], stored dtype */
  SinopiaBuffer *b;   /* [out] f32, or NULL */
  uint32_t out, in;
} SinopiaLinear;

/* The streams of a double block, as the rows of its stacked weights. */
typedef enum {
  SINOPIA_FLUX_TXT,
  SINOPIA_FLUX_IMG,
} SinopiaFluxStreamId;

typedef struct {
  SinopiaLinear mod[2];        /* per stream, 6·D: shift1, scale1, gate1, shift2, scale2, gate2 */
  /* Both streams' weights of a role in one buffer, the text stream's `out` rows first, then
   * the image stream's (biases likewise), so that one dispatch runs both streams. */
  SinopiaLinear qkv, proj, mlp0, mlp2;
  SinopiaBuffer *q_scale, *k_scale;  /* [2 · head_dim] f32: text, then image */
} SinopiaFluxDoubleBlock;

typedef struct {
  SinopiaLinear mod;           /* 3·D: shift, scale, gate */
  SinopiaLinear qkv;           /* linear1 rows [0, 3D) */
  SinopiaLinear mlp;           /* linear1 rows [3D, 3D + M) */
  SinopiaLinear linear2;       /* [D, D + M] */
  SinopiaBuffer *q_scale, *k_scale;
} SinopiaFluxSingleBlock;

struct _SinopiaFluxModel {
  SinopiaVkContext *ctx;
  SinopiaFluxConfig cfg;
  SinopiaLinear img_in, txt_in;
  SinopiaLinear time_in[2], guidance_in[2], vector_in[2];
  SinopiaFluxDoubleBlock *doubles;
  SinopiaFluxSingleBlock *singles;
  SinopiaLinear final_mod;     /* 2·D: shift, scale */
  SinopiaLinear final_linear;
  uint64_t weight_bytes;
  /* Column offsets of every modulation inside one conditioning row. */
  uint32_t *double_mod_col;    /* per double block: img at +0, txt at +6D */
  uint32_t *single_mod_col;
  uint32_t final_mod_col;
  uint32_t mod_cols;           /* total modulation width */
};

struct _SinopiaFluxConditioning {
  SinopiaFluxModel *model;
  uint32_t n_txt, n_img, n_steps;
  SinopiaBuffer *txt;          /* txt_in(txt): [n_txt, D] */
  SinopiaBuffer *pe;           /* RoPE table [n_txt + n_img, head_dim], txt rows first */
  SinopiaBuffer *vec;          /* [n_steps, D] */
  SinopiaBuffer *mods;         /* [n_steps, mod_cols] */
  float *pe_host;              /* for dumps */
};

struct _SinopiaFluxWorkspace {
  uint32_t rows;               /* L: capacity of every buffer below */
  SinopiaBuffer *x;            /* [L, D], txt rows then img rows */
  SinopiaBuffer *xm;           /* [L, D] normed + modulated */
  SinopiaBuffer *qkv;          /* [L, 3D] */
  SinopiaBuffer *cat;          /* [L, D + M]: attention out | GELU(mlp) */
  /* regional workspaces only (rows = n_base + 2·n_img + n_regional): */
  uint32_t n_base, n_img, n_regional;  /* base text rows (0 or T), image rows, regional text rows */
  SinopiaBuffer *pe;           /* RoPE table of [base text ; image ; regional text ; image] */
  SinopiaBuffer *rattn;        /* [n_img + n_regional, D]: the regional attention's output */
  const SinopiaFluxConditioning *base, *regional;  /* the pair it was made for (identity only) */
};

/* f32 host copy of (rows × cols) into a new device buffer. */
SinopiaBuffer *sinopia__flux_upload_f32 (SinopiaVkContext *ctx, const float *data, uint64_t n, GError **error);
