/* sinopia-ae-forward.c — the autoencoder's encoder and decoder recorded on the ops (one
 * submission per resolution level), tiled decoding with blended overlaps, and the
 * activation memory of both, measured by a dry run of the same code. */
#define G_LOG_DOMAIN "sinopia-engine"

#include <math.h>
#include <string.h>

#include "sinopia-ae-private.h"

#define AE_EPS 1e-6f
/* Largest image side accepted: keeps every pixel count and offset well inside 32 bits. */
#define MAX_SIDE 16384u
/* Attention scores are formed for as many query rows at a time as fit this many elements
 * (64 MiB), so the encoder's mid attention at 1024² (16384 tokens) needs no 1 GiB matrix. */
#define SCORE_ELEMENTS (16u << 20)

/* Activation buffers. Three large ones rotate between the roles "current", "normalised"
 * and "hidden"; the attention has its own. */
enum { SLOT_0, SLOT_1, SLOT_2, SLOT_Q, SLOT_K, SLOT_V, SLOT_S, N_SLOTS };

typedef struct {
  guint slot;
  uint32_t c, h, w;
} Act;

typedef struct {
  SinopiaAeModel *m;
  gboolean dry;               /* record nothing, only note what each slot must hold */
  uint64_t need[N_SLOTS];     /* elements */
  SinopiaBuffer *buf[N_SLOTS];
  SinopiaRecorder *rec;
  SinopiaAeCancel cancel;
  gpointer user;
  gboolean inspect;
} Run;

static guint
next_slot (guint slot)
{
  return (slot + 1) % 3;
}

static SinopiaTensor
view (Run *r, guint slot, uint64_t offset, uint32_t rows, uint32_t cols)
{
  if (r->dry) {
    r->need[slot] = MAX (r->need[slot], offset + (uint64_t) rows * cols);
    return (SinopiaTensor) { 0 };
  }
  return sinopia_tensor (r->buf[slot], offset, rows, cols);
}

static SinopiaTensor
act_view (Run *r, Act a)
{
  return view (r, a.slot, 0, a.c, a.h * a.w);
}

static SinopiaTensor
row (SinopiaBuffer *b, uint32_t n)
{
  return sinopia_tensor (b, 0, 1, n);
}

/* ---- submissions ------------------------------------------------------------------- */

static gboolean
begin (Run *r, GError **error)
{
  if (r->cancel && r->cancel (r->user)) {
    g_set_error_literal (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_CANCELLED, "Cancelled");
    return FALSE;
  }
  return sinopia_recorder_begin (r->rec, FALSE, error);
}

/* Runs what was recorded and starts the next recording. */
static gboolean
flush (Run *r, GError **error)
{
  if (r->dry)
    return TRUE;
  return sinopia_recorder_submit (r->rec, error) && begin (r, error);
}

static gboolean
inspect (Run *r, Act a, GError **error, const char *fmt, ...) G_GNUC_PRINTF (4, 5);

static gboolean
inspect (Run *r, Act a, GError **error, const char *fmt, ...)
{
  if (r->dry || !r->inspect)
    return TRUE;
  if (!flush (r, error))
    return FALSE;
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *name = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  uint64_t n = (uint64_t) a.c * a.h * a.w;
  g_autofree float *data = g_new (float, n);
  if (!sinopia_buffer_download (r->buf[a.slot], 0, data, n * sizeof (float), error))
    return FALSE;
  r->m->inspect (name, data, a.c, a.h, a.w, r->m->inspect_user);
  return TRUE;
}

/* ---- layers ---------------------------------------------------------------------------- */

/* 3×3 convolutions pad by 1, except the downsampling one (stride 2), which the reference
 * pads on the right and bottom only. */
static gboolean
conv (Run *r, const SinopiaAeConv *cv, Act in, uint32_t stride, guint out_slot, gboolean accumulate, Act *out,
      GError **error)
{
  gboolean down = stride == 2;
  uint32_t p = cv->k == 3 && !down ? 1 : 0;
  SinopiaConvShape s = {
    .height = in.h, .width = in.w, .kernel = cv->k, .stride = stride,
    .pad_top = p, .pad_left = p, .pad_bottom = down ? 1 : p, .pad_right = down ? 1 : p,
  };
  uint32_t ho, wo;
  sinopia_conv_output_size (&s, &ho, &wo);
  *out = (Act) { out_slot, cv->cout, ho, wo };
  SinopiaTensor x = act_view (r, in), y = act_view (r, *out);
  if (r->dry)
    return TRUE;
  SinopiaTensor w = sinopia_tensor (cv->w, 0, cv->cout, cv->cin * cv->k * cv->k), b = row (cv->b, cv->cout);
  return sinopia_op_conv2d (r->rec, &x, &s, &w, &b, accumulate, &y, error);
}

static gboolean
norm (Run *r, const SinopiaAeNorm *n, Act in, guint out_slot, gboolean silu, Act *out, GError **error)
{
  *out = in;
  out->slot = out_slot;
  SinopiaTensor x = act_view (r, in), y = act_view (r, *out);
  if (r->dry)
    return TRUE;
  SinopiaTensor w = row (n->w, n->c), b = row (n->b, n->c);
  return sinopia_op_group_norm (r->rec, &x, r->m->cfg.norm_groups, &w, &b, AE_EPS, silu, &y, error);
}

/* out = shortcut(x) + conv2(swish(norm2(conv1(swish(norm1(x)))))); the result lands in x's
 * slot, or in another one when a 1×1 shortcut changes the width. */
static gboolean
resnet (Run *r, const SinopiaAeResnet *b, Act x, Act *out, GError **error)
{
  guint s1 = next_slot (x.slot), s2 = next_slot (s1);
  Act t, h, sc;
  if (!norm (r, &b->norm1, x, s1, TRUE, &t, error) ||
      !conv (r, &b->conv1, t, 1, s2, FALSE, &h, error) ||
      !norm (r, &b->norm2, h, s2, TRUE, &h, error))
    return FALSE;
  if (!b->has_nin)
    return conv (r, &b->conv2, h, 1, x.slot, TRUE, out, error);
  return conv (r, &b->nin, x, 1, s1, FALSE, &sc, error) &&
         conv (r, &b->conv2, h, 1, s1, TRUE, out, error);
}

/* Single-head self-attention over the h·w positions with C channels, added to x in place:
 * tokens = norm(x)ᵀ; Q, K = tokens·W + b; Vᵀ from a 1×1 conv (the layout the second matmul
 * takes as weights); per block of query rows S = softmax(Q Kᵀ / √C), O = S V; then
 * x += proj_out(Oᵀ). Plain matmuls because the fused attention kernel keeps head_dim ≤ 128
 * while the FLUX AE attends with 512 channels. */
static gboolean
attention (Run *r, const SinopiaAeAttn *a, Act x, GError **error)
{
  uint32_t C = x.c, L = x.h * x.w, rows = MAX (1, MIN (L, SCORE_ELEMENTS / L));
  guint s1 = next_slot (x.slot), s2 = next_slot (s1);
  float scale = (float) (1.0 / sqrt ((double) C));
  Act t, v, sum;

  if (!norm (r, &a->norm, x, s1, FALSE, &t, error) ||
      !conv (r, &a->v, t, 1, SLOT_V, FALSE, &v, error))
    return FALSE;
  SinopiaTensor tt = act_view (r, t), tokens = view (r, s2, 0, L, C);
  SinopiaTensor q = view (r, SLOT_Q, 0, L, C), k = view (r, SLOT_K, 0, L, C), vt = act_view (r, v);
  SinopiaTensor s = view (r, SLOT_S, 0, rows, L);
  if (!r->dry) {
    SinopiaTensor wq = sinopia_tensor (a->q.w, 0, C, C), bq = row (a->q.b, C);
    SinopiaTensor wk = sinopia_tensor (a->k.w, 0, C, C), bk = row (a->k.b, C);
    if (!sinopia_op_transpose (r->rec, &tt, &tokens, error) ||
        !sinopia_op_matmul (r->rec, &tokens, &wq, &bq, SINOPIA_ACT_NONE, FALSE, &q, error) ||
        !sinopia_op_matmul (r->rec, &tokens, &wk, &bk, SINOPIA_ACT_NONE, FALSE, &k, error))
      return FALSE;
    for (uint32_t r0 = 0; r0 < L; r0 += rows) {
      uint32_t n = MIN (rows, L - r0);
      SinopiaTensor qr = sinopia_tensor_rows (q, r0, n), sr = sinopia_tensor_rows (s, 0, n);
      SinopiaTensor orows = sinopia_tensor_rows (tokens, r0, n);
      if (!sinopia_op_matmul (r->rec, &qr, &k, NULL, SINOPIA_ACT_NONE, FALSE, &sr, error) ||
          !sinopia_op_mul_add (r->rec, &sr, NULL, NULL, scale, &sr, error) ||
          !sinopia_op_softmax (r->rec, &sr, &sr, error) ||
          !sinopia_op_matmul (r->rec, &sr, &vt, NULL, SINOPIA_ACT_NONE, FALSE, &orows, error))
        return FALSE;
    }
    if (!sinopia_op_transpose (r->rec, &tokens, &tt, error))
      return FALSE;
  }
  return conv (r, &a->proj, t, 1, x.slot, TRUE, &sum, error);
}

static gboolean
upsample (Run *r, const SinopiaAeConv *cv, Act x, Act *out, GError **error)
{
  Act u = { next_slot (x.slot), x.c, 2 * x.h, 2 * x.w };
  SinopiaTensor tx = act_view (r, x), tu = act_view (r, u);
  if (!r->dry && !sinopia_op_upsample_nearest2x (r->rec, &tx, x.h, x.w, &tu, error))
    return FALSE;
  return conv (r, cv, u, 1, x.slot, FALSE, out, error);
}

static gboolean
mid (Run *r, const SinopiaAeCoder *c, const char *coder, Act *x, GError **error)
{
  return resnet (r, &c->mid1, *x, x, error) && inspect (r, *x, error, "inter.%s.mid.block_1", coder) &&
         attention (r, &c->attn, *x, error) && inspect (r, *x, error, "inter.%s.mid.attn_1", coder) &&
         resnet (r, &c->mid2, *x, x, error) && inspect (r, *x, error, "inter.%s.mid.block_2", coder);
}

/* The image [in_channels, H·W] waits in SLOT_1; *out gets the moments [2z, h·w]. */
static gboolean
encoder (Run *r, uint32_t height, uint32_t width, Act *out, GError **error)
{
  const SinopiaAeCoder *e = &r->m->enc;
  const SinopiaAeConfig *cfg = &r->m->cfg;
  Act x = { SLOT_1, cfg->in_channels, height, width }, t;

  if (!conv (r, &e->conv_in, x, 1, SLOT_0, FALSE, &x, error))
    return FALSE;
  for (uint32_t i = 0; i < cfg->n_levels; i++) {
    const SinopiaAeLevel *lv = &e->levels[i];
    for (guint j = 0; j < lv->n_blocks; j++)
      if (!resnet (r, &lv->blocks[j], x, &x, error) ||
          !inspect (r, x, error, "inter.enc.down.%u.block.%u", i, j))
        return FALSE;
    if (lv->has_sample && (!conv (r, &lv->sample, x, 2, next_slot (x.slot), FALSE, &x, error) ||
                           !inspect (r, x, error, "inter.enc.down.%u.downsample", i)))
      return FALSE;
    if (!flush (r, error))
      return FALSE;
  }
  return mid (r, e, "enc", &x, error) &&
         norm (r, &e->norm_out, x, next_slot (x.slot), TRUE, &t, error) &&
         conv (r, &e->conv_out, t, 1, next_slot (t.slot), FALSE, out, error) &&
         inspect (r, *out, error, "encode.moments");
}

/* The decoder's input z/scale + shift [z, h·w] waits in SLOT_1; *out gets the image. */
static gboolean
decoder (Run *r, uint32_t h, uint32_t w, Act *out, GError **error)
{
  const SinopiaAeCoder *d = &r->m->dec;
  const SinopiaAeConfig *cfg = &r->m->cfg;
  Act x = { SLOT_1, cfg->z_channels, h, w }, t;

  if (!conv (r, &d->conv_in, x, 1, SLOT_0, FALSE, &x, error) ||
      !inspect (r, x, error, "inter.dec.conv_in") ||
      !mid (r, d, "dec", &x, error) ||
      !flush (r, error))
    return FALSE;
  for (uint32_t i = cfg->n_levels; i-- > 0;) {
    const SinopiaAeLevel *lv = &d->levels[i];
    for (guint j = 0; j < lv->n_blocks; j++)
      if (!resnet (r, &lv->blocks[j], x, &x, error) ||
          !inspect (r, x, error, "inter.dec.up.%u.block.%u", i, j))
        return FALSE;
    if (lv->has_sample && (!upsample (r, &lv->sample, x, &x, error) ||
                           !inspect (r, x, error, "inter.dec.up.%u.upsample", i)))
      return FALSE;
    if (!flush (r, error))
      return FALSE;
  }
  return norm (r, &d->norm_out, x, next_slot (x.slot), TRUE, &t, error) &&
         conv (r, &d->conv_out, t, 1, next_slot (t.slot), FALSE, out, error);
}

/* ---- runs ------------------------------------------------------------------------------ */

static void
run_clear (Run *r)
{
  g_clear_pointer (&r->rec, sinopia_recorder_free);
  for (guint i = 0; i < N_SLOTS; i++)
    g_clear_pointer (&r->buf[i], sinopia_buffer_free);
}

static uint64_t
run_bytes (const Run *r)
{
  uint64_t total = 0;
  for (guint i = 0; i < N_SLOTS; i++)
    total += (r->need[i] * sizeof (float) + 63) / 64 * 64;
  return total;
}

/* After a dry run: allocates what it measured. */
static gboolean
run_alloc (Run *r, GError **error)
{
  r->dry = FALSE;
  for (guint i = 0; i < N_SLOTS; i++)
    if (r->need[i] && !(r->buf[i] = sinopia_buffer_new (r->m->ctx, SINOPIA_DTYPE_F32, r->need[i], error)))
      return FALSE;
  return (r->rec = sinopia_recorder_new (r->m->ctx, error)) != NULL;
}

static uint64_t
dry_bytes (const SinopiaAeConfig *cfg, gboolean encode, uint32_t height, uint32_t width)
{
  SinopiaAeModel m = { .cfg = *cfg };
  Run r = { .m = &m, .dry = TRUE };
  Act out;
  sinopia__ae_layout (&m);
  if (encode)
    encoder (&r, height, width, &out, NULL);
  else
    decoder (&r, height, width, &out, NULL);
  sinopia__ae_clear (&m);
  return run_bytes (&r);
}

static gboolean
bad_input (GError **error, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static gboolean
bad_input (GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error_literal (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_INPUT, msg);
  return FALSE;
}

gboolean
sinopia_ae_encode (SinopiaAeModel *m, const float *image, uint32_t height, uint32_t width, float *mean_out,
                   float *latent_out, SinopiaAeCancel cancel, gpointer user, GError **error)
{
  g_return_val_if_fail (m != NULL && m->ctx != NULL, FALSE);
  const SinopiaAeConfig *cfg = &m->cfg;
  uint32_t f = sinopia_ae_factor (cfg);
  Run r = { .m = m, .dry = TRUE, .cancel = cancel, .user = user, .inspect = m->inspect != NULL };
  Act out;
  gboolean ok = FALSE;
  float *mean = NULL;

  if (!image)
    return bad_input (error, "No image to encode");
  if (height == 0 || width == 0 || height % f != 0 || width % f != 0 || height > MAX_SIDE || width > MAX_SIDE)
    return bad_input (error, "The image is %u×%u pixels; the autoencoder needs sides that are positive multiples "
                      "of %u, at most %u", width, height, f, MAX_SIDE);
  uint32_t h = height / f, w = width / f, z = cfg->z_channels;
  encoder (&r, height, width, &out, NULL);
  if (!run_alloc (&r, error) ||
      !sinopia_buffer_upload (r.buf[SLOT_1], 0, image, (uint64_t) cfg->in_channels * height * width * sizeof (float),
                              error) ||
      !begin (&r, error) ||
      !encoder (&r, height, width, &out, error) ||
      !sinopia_recorder_submit (r.rec, error))
    goto done;
  uint64_t n = (uint64_t) z * h * w;
  float *dst = mean_out ? mean_out : (mean = g_new (float, n));
  if (!sinopia_buffer_download (r.buf[out.slot], 0, dst, n * sizeof (float), error))
    goto done;
  /* the reference's scale_factor * (z − shift_factor), in float32 */
  for (uint64_t i = 0; latent_out && i < n; i++)
    latent_out[i] = cfg->scale_factor * (dst[i] - cfg->shift_factor);
  ok = TRUE;

done:
  g_free (mean);
  run_clear (&r);
  return ok;
}

/* One exact decode with the run's buffers: latent [z, h·w] → image [out_ch, fh·fw]. */
static gboolean
decode_one (Run *r, const float *latent, uint32_t h, uint32_t w, float *image, GError **error)
{
  const SinopiaAeConfig *cfg = &r->m->cfg;
  uint64_t n = (uint64_t) cfg->z_channels * h * w, f = sinopia_ae_factor (cfg);
  g_autofree float *zin = g_new (float, n);
  Act out;

  /* the reference's z / scale_factor + shift_factor, in float32 */
  for (uint64_t i = 0; i < n; i++)
    zin[i] = latent[i] / cfg->scale_factor + cfg->shift_factor;
  return sinopia_buffer_upload (r->buf[SLOT_1], 0, zin, n * sizeof (float), error) &&
         begin (r, error) &&
         decoder (r, h, w, &out, error) &&
         sinopia_recorder_submit (r->rec, error) &&
         sinopia_buffer_download (r->buf[out.slot], 0, image,
                                  (uint64_t) cfg->out_ch * h * w * f * f * sizeof (float), error);
}

/* Tiles along one axis of `size` latent positions: `n` tiles of `len`, evenly spaced. */
typedef struct {
  uint32_t n, len;
} Axis;

static Axis
axis_plan (uint32_t size, uint32_t tile, uint32_t overlap)
{
  if (size <= tile)
    return (Axis) { 1, size };
  uint32_t step = tile - overlap;
  uint32_t n = (size - overlap + step - 1) / step;
  /* the shortest length at which n tiles overlap by `overlap` (≤ tile by the choice of n),
   * rounded up to a multiple of 4 where the tile allows: the convolutions read whole vec4
   * texels of aligned rows, ~25 % faster per pixel on lavapipe than single columns */
  uint32_t len = (uint32_t) (((uint64_t) size + (uint64_t) (n - 1) * overlap + n - 1) / n);
  uint32_t len4 = (len + 3) / 4 * 4;
  return (Axis) { n, len4 <= tile ? len4 : len };
}

static uint32_t
axis_start (const Axis *a, uint32_t size, uint32_t k)
{
  if (a->n == 1)
    return 0;
  return (uint32_t) (((uint64_t) 2 * k * (size - a->len) + (a->n - 1)) / (2 * (uint64_t) (a->n - 1)));
}

/* Blend weights of tile k along one axis, per pixel: a linear ramp across each overlap
 * with a neighbour, so two overlapping tiles' weights add up to one there. */
static void
axis_weights (const Axis *a, uint32_t size, uint32_t k, uint32_t f, float *wt)
{
  uint64_t s = (uint64_t) axis_start (a, size, k) * f, e = s + (uint64_t) a->len * f;
  uint64_t prev_end = k > 0 ? (uint64_t) axis_start (a, size, k - 1) * f + (uint64_t) a->len * f : s;
  uint64_t next_start = k + 1 < a->n ? (uint64_t) axis_start (a, size, k + 1) * f : e;
  for (uint64_t p = s; p < e; p++) {
    double v = 1.0;
    if (p < prev_end)
      v *= (p - s + 0.5) / (double) (prev_end - s);
    if (p >= next_start)
      v *= (e - p - 0.5) / (double) (e - next_start);
    wt[p - s] = (float) v;
  }
}

static gboolean
check_latent (const SinopiaAeModel *m, const float *latent, uint32_t h, uint32_t w, const float *image,
              GError **error)
{
  uint32_t f = sinopia_ae_factor (&m->cfg);
  if (!latent || !image)
    return bad_input (error, "No latent to decode or no room for the image");
  if (h == 0 || w == 0 || h > MAX_SIDE / f || w > MAX_SIDE / f)
    return bad_input (error, "The latent is %u×%u; each side must be between 1 and %u", w, h, MAX_SIDE / f);
  return TRUE;
}

gboolean
sinopia_ae_decode_tiled (SinopiaAeModel *m, const float *latent, uint32_t h, uint32_t w, uint32_t tile,
                         uint32_t overlap, float *image_out, SinopiaAeCancel cancel, gpointer user, GError **error)
{
  g_return_val_if_fail (m != NULL && m->ctx != NULL, FALSE);
  const SinopiaAeConfig *cfg = &m->cfg;
  uint32_t f = sinopia_ae_factor (cfg), z = cfg->z_channels, oc = cfg->out_ch;
  Run r = { .m = m, .dry = TRUE, .cancel = cancel, .user = user };
  Act out;
  gboolean ok = FALSE;

  if (!check_latent (m, latent, h, w, image_out, error))
    return FALSE;
  if (tile == 0 || overlap >= tile)
    return bad_input (error, "Tiles of %u latent positions cannot overlap by %u", tile, overlap);
  Axis ay = axis_plan (h, tile, overlap), ax = axis_plan (w, tile, overlap);
  if (ay.n == 1 && ax.n == 1) {
    r.inspect = m->inspect != NULL;
    decoder (&r, h, w, &out, NULL);
    ok = run_alloc (&r, error) && decode_one (&r, latent, h, w, image_out, error);
    run_clear (&r);
    return ok;
  }

  uint64_t H = (uint64_t) h * f, W = (uint64_t) w * f, th = (uint64_t) ay.len * f, tw = (uint64_t) ax.len * f;
  g_autofree float *tile_latent = g_new (float, (uint64_t) z * ay.len * ax.len);
  g_autofree float *tile_image = g_new (float, oc * th * tw);
  g_autofree float *wsum = g_new0 (float, H * W);
  g_autofree float *wy = g_new (float, th), *wx = g_new (float, tw);
  decoder (&r, ay.len, ax.len, &out, NULL);
  if (!run_alloc (&r, error))
    goto done;
  memset (image_out, 0, oc * H * W * sizeof (float));
  for (uint32_t ky = 0; ky < ay.n; ky++) {
    uint32_t y0 = axis_start (&ay, h, ky);
    axis_weights (&ay, h, ky, f, wy);
    for (uint32_t kx = 0; kx < ax.n; kx++) {
      uint32_t x0 = axis_start (&ax, w, kx);
      axis_weights (&ax, w, kx, f, wx);
      for (uint32_t c = 0; c < z; c++)
        for (uint32_t y = 0; y < ay.len; y++)
          memcpy (tile_latent + ((uint64_t) c * ay.len + y) * ax.len, latent + ((uint64_t) c * h + y0 + y) * w + x0,
                  ax.len * sizeof (float));
      if (!decode_one (&r, tile_latent, ay.len, ax.len, tile_image, error))
        goto done;
      for (uint64_t y = 0; y < th; y++)
        for (uint64_t x = 0; x < tw; x++) {
          float wt = wy[y] * wx[x];
          uint64_t dst = (y0 * (uint64_t) f + y) * W + x0 * (uint64_t) f + x;
          wsum[dst] += wt;
          for (uint32_t c = 0; c < oc; c++)
            image_out[c * H * W + dst] += wt * tile_image[(c * th + y) * tw + x];
        }
    }
  }
  for (uint64_t p = 0; p < H * W; p++)
    for (uint32_t c = 0; c < oc; c++)
      image_out[c * H * W + p] /= wsum[p];
  ok = TRUE;

done:
  run_clear (&r);
  return ok;
}

gboolean
sinopia_ae_decode (SinopiaAeModel *m, const float *latent, uint32_t h, uint32_t w, float *image_out,
                   SinopiaAeCancel cancel, gpointer user, GError **error)
{
  if ((uint64_t) h * w <= SINOPIA_AE_EXACT_MAX_POSITIONS)
    return sinopia_ae_decode_tiled (m, latent, h, w, MAX (MAX (h, w), 1), 0, image_out, cancel, user, error);
  return sinopia_ae_decode_tiled (m, latent, h, w, SINOPIA_AE_TILE, SINOPIA_AE_TILE_OVERLAP, image_out, cancel,
                                  user, error);
}

/* ---- memory estimates -------------------------------------------------------------- */

uint64_t
sinopia_ae_decode_tiled_bytes (const SinopiaAeConfig *cfg, uint32_t h, uint32_t w, uint32_t tile, uint32_t overlap)
{
  if (!sinopia__ae_config_check (cfg, NULL) || h == 0 || w == 0 || tile == 0 || overlap >= tile)
    return 0;
  Axis ay = axis_plan (h, tile, overlap), ax = axis_plan (w, tile, overlap);
  return dry_bytes (cfg, FALSE, ay.len, ax.len);
}

uint64_t
sinopia_ae_decode_bytes (const SinopiaAeConfig *cfg, uint32_t h, uint32_t w)
{
  if ((uint64_t) h * w <= SINOPIA_AE_EXACT_MAX_POSITIONS)
    return sinopia_ae_decode_tiled_bytes (cfg, h, w, MAX (MAX (h, w), 1), 0);
  return sinopia_ae_decode_tiled_bytes (cfg, h, w, SINOPIA_AE_TILE, SINOPIA_AE_TILE_OVERLAP);
}

uint64_t
sinopia_ae_encode_bytes (const SinopiaAeConfig *cfg, uint32_t height, uint32_t width)
{
  if (!sinopia__ae_config_check (cfg, NULL) || height == 0 || width == 0)
    return 0;
  return dry_bytes (cfg, TRUE, height, width);
}
