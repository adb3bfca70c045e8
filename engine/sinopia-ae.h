/* sinopia-ae.h — the FLUX autoencoder on the Vulkan ops: configuration, checkpoint loading
 * (reference/BFL naming, any name prefix), encode (image → latent mean) and decode (latent →
 * image), exact or in overlapping tiles for large images.
 *
 * Layouts: images are host f32 [C, H, W] (channel planes, row-major), values in [-1, 1] for
 * the encoder; latents are host f32 [z_channels, H/f, W/f] with f = 2^(levels − 1) (8 for
 * FLUX). Batch size 1.
 *
 * Ownership: a SinopiaAeModel owns its device weights and borrows the Vulkan context, which
 * must outlive it. Activation buffers live only for the duration of one encode or decode.
 * Threads: a model is used from one thread at a time (the engine's worker); the cancel and
 * inspect callbacks run on that thread.
 */
#pragma once

#include "sinopia-ops.h"
#include "sinopia-safetensors.h"

G_BEGIN_DECLS

#define SINOPIA_AE_ERROR (sinopia_ae_error_quark ())
GQuark sinopia_ae_error_quark (void);

typedef enum {
  SINOPIA_AE_ERROR_CONFIG,     /* configuration missing, inconsistent or unsupported */
  SINOPIA_AE_ERROR_TENSORS,    /* missing, unexpected or misshapen tensors */
  SINOPIA_AE_ERROR_TOO_LARGE,  /* does not fit the device */
  SINOPIA_AE_ERROR_INPUT,      /* bad image or latent size, bad tiling parameters */
  SINOPIA_AE_ERROR_CANCELLED,  /* the cancel callback asked to stop */
} SinopiaAeErrorCode;

#define SINOPIA_AE_MAX_LEVELS 8

/* Field names follow the reference's AutoEncoderParams. */
typedef struct {
  uint32_t in_channels;       /* image channels into the encoder (3) */
  uint32_t out_ch;            /* image channels out of the decoder (3) */
  uint32_t ch;                /* base width (FLUX: 128) */
  uint32_t n_levels;          /* resolution levels (FLUX: 4, so a factor 8) */
  uint32_t ch_mult[SINOPIA_AE_MAX_LEVELS];
  uint32_t num_res_blocks;    /* per encoder level; the decoder has one more */
  uint32_t z_channels;        /* latent channels (16) */
  uint32_t norm_groups;       /* GroupNorm groups (FLUX: 32; `norm_groups` in ae_params) */
  float scale_factor;         /* latent = scale·(mean − shift); FLUX 0.3611 */
  float shift_factor;         /* FLUX 0.1159 */
} SinopiaAeConfig;

/* Reads the configuration from `__metadata__["ae_params"]` when present, otherwise infers
 * it from tensor shapes (scale and shift then take FLUX's values). *prefix gets the prefix
 * the autoencoder's names carry ("" for ae.safetensors, e.g. "first_stage_model." in a
 * combined checkpoint). (transfer full) *prefix. */
gboolean sinopia_ae_config_from_checkpoint (const SinopiaSafetensors *st, SinopiaAeConfig *cfg, char **prefix,
                                            GError **error);
/* Parses the reference's AutoEncoderParams JSON. */
gboolean sinopia_ae_config_from_json (const char *json, SinopiaAeConfig *cfg, GError **error);
/* Spatial factor between image and latent: 2^(n_levels − 1). */
uint32_t sinopia_ae_factor (const SinopiaAeConfig *cfg);

/* Latents up to this many positions (64×64: a 512×512 image for FLUX) decode exactly;
 * larger ones in tiles of SINOPIA_AE_TILE latent positions overlapping by
 * SINOPIA_AE_TILE_OVERLAP, so their memory stays that of a 512×512 decode. */
#define SINOPIA_AE_EXACT_MAX_POSITIONS (64u * 64u)
#define SINOPIA_AE_TILE 64u
#define SINOPIA_AE_TILE_OVERLAP 16u

/* Device bytes of activations (weights not included) that sinopia_ae_decode of an h×w
 * latent, or sinopia_ae_decode_tiled with `tile`/`overlap`, and sinopia_ae_encode of an
 * H×W image allocate at most. For the memory plan. */
uint64_t sinopia_ae_decode_bytes (const SinopiaAeConfig *cfg, uint32_t h, uint32_t w);
uint64_t sinopia_ae_decode_tiled_bytes (const SinopiaAeConfig *cfg, uint32_t h, uint32_t w, uint32_t tile,
                                        uint32_t overlap);
uint64_t sinopia_ae_encode_bytes (const SinopiaAeConfig *cfg, uint32_t height, uint32_t width);

typedef struct _SinopiaAeModel SinopiaAeModel;

/* Loads an autoencoder checkpoint into device memory (weights keep their stored dtype;
 * norms and biases become f32). Checks first that the weights and a 512×512 decode fit
 * the device. Every tensor the model needs must be present with its exact shape, and no
 * other tensor may carry the prefix; errors name the tensor.
 * (transfer full): free with sinopia_ae_free. */
SinopiaAeModel *sinopia_ae_load (SinopiaVkContext *ctx, const char *path, GError **error);
void sinopia_ae_free (SinopiaAeModel *model);
const SinopiaAeConfig *sinopia_ae_config (const SinopiaAeModel *model);
/* Device bytes of the weights. */
uint64_t sinopia_ae_weight_bytes (const SinopiaAeModel *model);

/* Polled before every submission (a few per resolution level and tile): return TRUE to
 * stop; the call then fails with SINOPIA_AE_ERROR_CANCELLED. */
typedef gboolean (*SinopiaAeCancel) (gpointer user);

/* Receives the output of every module of an exact encode or decode, named as the reference
 * golden files name them ("inter.enc.down.2.downsample", "inter.dec.mid.attn_1",
 * "encode.moments", ...): `data` is [channels, height, width], borrowed for the call.
 * Setting one costs a submission and a download per module: for tests and debugging. */
typedef void (*SinopiaAeInspect) (const char *name, const float *data, uint32_t channels, uint32_t height,
                                  uint32_t width, gpointer user);
/* fn NULL turns inspection off. Tiled decodes never inspect. */
void sinopia_ae_set_inspect (SinopiaAeModel *model, SinopiaAeInspect fn, gpointer user);

/* image [in_channels, height, width] in [-1, 1] (height and width multiples of the factor)
 * → mean_out [z, height/f, width/f] (the encoder's mean, no sampling; may be NULL) and
 * latent_out = scale·(mean − shift) (may be NULL). */
gboolean sinopia_ae_encode (SinopiaAeModel *model, const float *image, uint32_t height, uint32_t width,
                            float *mean_out, float *latent_out, SinopiaAeCancel cancel, gpointer user,
                            GError **error);

/* latent [z, h, w] (scaled space, as encode returns it) → image_out [out_ch, f·h, f·w],
 * the decoder's raw output (not clamped). Exact up to SINOPIA_AE_EXACT_MAX_POSITIONS latent
 * positions, tiled above. */
gboolean sinopia_ae_decode (SinopiaAeModel *model, const float *latent, uint32_t h, uint32_t w, float *image_out,
                            SinopiaAeCancel cancel, gpointer user, GError **error);

/* Decode in tiles of at most tile×tile latent positions, neighbours overlapping by at least
 * `overlap` (< tile) positions: along each side the fewest tiles that do, of equal length
 * (rounded up to a multiple of 4 where `tile` allows), evenly spaced. Each tile is decoded
 * on its own and the overlaps are blended with linear ramps. A latent no larger than `tile` in both directions decodes
 * exactly. The decoder's GroupNorm statistics and attention span one tile only, so the
 * result differs from the exact decode by an amount that depends on the model. */
gboolean sinopia_ae_decode_tiled (SinopiaAeModel *model, const float *latent, uint32_t h, uint32_t w,
                                  uint32_t tile, uint32_t overlap, float *image_out, SinopiaAeCancel cancel,
                                  gpointer user, GError **error);

G_END_DECLS
