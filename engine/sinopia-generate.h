/* sinopia-generate.h — text to image with a loaded model folder (sinopia-model.h):
 * tokenize (T5 and CLIP layouts of docs/shapes-world.md, truncated to the model's text
 * lengths with a warning) → T5 `txt` and CLIP pooled `y` for the prompt and the negative
 * prompt → seeded noise → schedule (shift from sinopia-model.json) → Euler sampling with true
 * classifier-free guidance (or the embedded guidance) → unpack → autoencoder decode →
 * clamp to [−1, 1] → RGB8 as trunc(127.5·(x + 1)), the reference's conversion.
 *
 * Deterministic: the same model, parameters and device give bit-identical pixels.
 * Threads: runs on the caller's thread (the engine's worker); the cancel flag may be set from
 * any thread and is checked before every step and every autoencoder submission.
 */
#pragma once

#include "sinopia-model.h"
#include "sinopia-sampler.h"

G_BEGIN_DECLS

#define SINOPIA_GENERATE_ERROR (sinopia_generate_error_quark ())
GQuark sinopia_generate_error_quark (void);

typedef enum {
  SINOPIA_GENERATE_ERROR_SIZE,       /* width or height not a valid size; the message names the nearest */
  SINOPIA_GENERATE_ERROR_INPUT,      /* other bad parameters */
  SINOPIA_GENERATE_ERROR_CANCELLED,  /* the cancel flag or the step callback stopped it */
} SinopiaGenerateErrorCode;

/* One region of regional prompting (../shared/docs/algorithms.md §1): its own prompt over a
 * rectangle or a mask of the output image. */
typedef struct {
  const char *prompt;        /* UTF-8, the region's own prompt */
  const guint8 *mask;        /* NULL, or [height][width] bytes of the OUTPUT image, non-zero = inside */
  uint32_t x, y, w, h;       /* rectangle in output pixels (origin top-left), used when mask is NULL */
} SinopiaRegion;

#define SINOPIA_MAX_REGIONS 8

typedef struct {
  const char *prompt;      /* UTF-8 */
  const char *negative;    /* UTF-8; NULL means "" (the unconditional prompt) */
  uint32_t width, height;  /* pixels; 0: the model's native size */
  guint steps;             /* 0: default_steps */
  guint64 seed;            /* picks the noise (sinopia_noise) */
  /* The CFG scale (models without a guidance embedding) or the embedded guidance;
   * NAN: default_guidance. */
  float guidance;
  /* NULL, or the initial noise [z_channels, height/f, width/f] to use instead of the seed's
   * (to reproduce another sampler's run; the seed is then only recorded). Borrowed. */
  const float *noise;
  gboolean preview;        /* step callbacks carry an RGB preview of the predicted image */
  /* Regional prompting: up to SINOPIA_MAX_REGIONS regions (borrowed; none: plain sampling).
   * The regional prompts are the regions' in order, then background_prompt (NULL: the base
   * prompt) for the area no region covers when there is such an area. In steps
   * k < mask_inject_steps the image attends with the base prompt and, under the region rule, with
   * the regional prompts, blended by base_ratio (the base's weight); later steps are plain. The
   * rule applies in double blocks l with l mod double_interval = 0 (single blocks alike).
   * NAN / -1: the model's defaults (sinopia-model-info.h). */
  const SinopiaRegion *regions;
  guint n_regions;
  const char *background_prompt;
  float base_ratio;
  int mask_inject_steps, double_interval, single_interval;
  /* NULL, or per global layer (double blocks first): TRUE skips that block, whose output is
   * then its input (the vital-layer finder's bypass). Borrowed. */
  const gboolean *bypass;
} SinopiaGenerateParams;

/* Every field to its default: no prompt, negative "", native size, default steps and
 * guidance, seed 0, no noise, no preview, no regions and the model's regional defaults. */
void sinopia_generate_params_init (SinopiaGenerateParams *params);

typedef struct {
  uint32_t width, height;
  guint8 *rgb;                 /* [height, width, 3] */
  /* final latent (scaled space, unpacked), [latent_channels, latent_height, latent_width] */
  float *latent;
  uint32_t latent_channels, latent_height, latent_width;
  /* The parameters used, defaults filled in. */
  char *prompt, *negative, *model_name;
  guint steps;
  guint64 seed;
  float guidance;
  /* NULL-terminated messages for the user (a prompt cut to the text length, a negative
   * prompt that an embedded-guidance model ignores); never NULL. */
  char **warnings;
  uint64_t kv_cache_bytes;     /* inpainting: the device bytes of the KV-Edit cache; 0 otherwise */
  /* The method's own parameters as a JSON object ("name": "regional", "kv-edit",
   * "masked-regeneration" or "stable-flow", and the values it used), or NULL for plain
   * text-to-image. */
  char *method_json;
} SinopiaImage;

void sinopia_image_free (SinopiaImage *image);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SinopiaImage, sinopia_image_free)

/* Checks a size against a model's info (so it can run before the weights load): both sides
 * multiples of size_multiple in [size_multiple, SINOPIA_MODEL_MAX_SIDE]. The SIZE error names
 * the nearest valid size ("width 100 is not a multiple of 16; the nearest valid width is 96"). */
gboolean sinopia_generate_check_size (const SinopiaModelInfo *info, uint32_t width, uint32_t height,
                                      GError **error);

/* Generates one image; with regions, regional prompting (errors: more than SINOPIA_MAX_REGIONS
 * regions, a rectangle outside the image or empty,
 * a base ratio outside [0, 1], intervals below 1; an empty mask or one that covers no token is
 * a SINOPIA_REGIONAL_ERROR). `on_step` (may be NULL) is called after each of the `steps` steps on
 * this thread; returning FALSE cancels. `cancel` (may be NULL): non-zero stops the run
 * (g_atomic_int_get). Both end in SINOPIA_GENERATE_ERROR_CANCELLED.
 * (transfer full): free with sinopia_image_free. */
SinopiaImage *sinopia_generate (SinopiaModel *model, const SinopiaGenerateParams *params, const gint *cancel,
                                SinopiaStepFunc on_step, gpointer user_data, GError **error);

/* Dispatches every shader a generation and an image encode at the native size use, once:
 * lavapipe compiles each shader on its first dispatch, which on a machine whose Mesa shader
 * cache is empty takes tens of seconds in all; Mesa keeps the result on disk, so later calls
 * (and later starts) take a fraction of a second. For a front end to run while the user is
 * still typing. Errors as sinopia_generate. */
gboolean sinopia_generate_warm_up (SinopiaModel *model, const gint *cancel, GError **error);

/* The image's parameters as a JSON object with the keys prompt, negative, seed, steps,
 * guidance, width, height and model (the PyTorch sampler's `parameters` PNG text), and
 * "method" for the editing methods (SinopiaImage.method_json): enough to make it again, but
 * for the masks and input images, which the method object only counts. (transfer full). */
char *sinopia_image_parameters_json (const SinopiaImage *image);

G_END_DECLS
