/* sinopia-model-info.h — `sinopia-model.json`, the part of a model folder that tensors cannot
 * tell: name, native size, sampling defaults (steps, guidance and its mode, schedule shift),
 * text lengths, special token ids, the editing methods' defaults (regional_prompting, kv_edit,
 * stable_flow, vital_layers: the keys read are listed at their fields below), and the whole
 * document. Keys and defaults: docs/shapes-world.md ("sinopia-model.json"). Unknown keys are
 * ignored and a missing key takes its default; a key that is present must have a valid value.
 *
 * GLib only (no Vulkan), so the fuzz targets can compile it alone.
 * Ownership: a SinopiaModelInfo owns its strings and the parsed document.
 * Threads: read-only after parsing; may be read from several threads at once.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "sinopia-json.h"

G_BEGIN_DECLS

#define SINOPIA_MODEL_ERROR (sinopia_model_error_quark ())
GQuark sinopia_model_error_quark (void);

typedef enum {
  SINOPIA_MODEL_ERROR_MISSING,      /* a file of the model folder is absent */
  SINOPIA_MODEL_ERROR_INFO,         /* sinopia-model.json malformed or holding a bad value */
  SINOPIA_MODEL_ERROR_INCOMPATIBLE, /* the components do not fit together */
  SINOPIA_MODEL_ERROR_NOT_FOUND,    /* no model folder anywhere it is looked for */
} SinopiaModelErrorCode;

#define SINOPIA_MODEL_INFO_FILE "sinopia-model.json"
/* The newest format_version this code reads. */
#define SINOPIA_MODEL_INFO_VERSION 1
/* Bounds on what a file may ask for; sizes beyond these are refused when generating too. */
#define SINOPIA_MODEL_MAX_SIDE 16384u
#define SINOPIA_MODEL_MAX_STEPS 1000u
#define SINOPIA_MODEL_MAX_TEXT_LENGTH 4096u

typedef enum {
  SINOPIA_GUIDANCE_UNSPECIFIED, /* the file does not say: the transformer decides */
  SINOPIA_GUIDANCE_CFG,         /* true classifier-free guidance, two forwards per step */
  SINOPIA_GUIDANCE_EMBEDDED,    /* the transformer's guidance embedding */
} SinopiaGuidanceMode;

typedef struct {
  char *name;                  /* NULL when absent (the loader then names it after the folder) */
  char *description, *architecture, *license;  /* NULL when absent */
  uint32_t native_width, native_height;        /* native_width/height, else native_size; 128 */
  uint32_t size_multiple;      /* 16; width and height must be multiples of it */
  guint default_steps;         /* 20 */
  SinopiaGuidanceMode guidance_mode;
  float default_guidance;      /* 4.0 */
  gboolean shift;              /* TRUE */
  double base_shift, max_shift;  /* 0.5, 1.15 */
  uint32_t t5_max_length, clip_max_length;  /* each defaults to text_max_length (32) */
  int32_t pad_id, eos_id, unk_id, bos_id;   /* tokens.*: 0, 1, 2, 3 */
  /* "regional_prompting": the defaults of regional prompting for this model. Absent keys take
   * the reference pipeline's defaults (algorithms.md §1.9). */
  struct {
    float base_ratio;          /* base_ratio in [0, 1]: 0.3 */
    /* mask_inject_steps (≥ 0), else injection_end (a fraction of the steps in [0, 1]); -1 and
     * NAN when absent: 5 steps */
    int mask_inject_steps;
    double injection_end;
    /* double_interval / single_interval (≥ 1; "double_blocks": "all" means 1); 0 when absent:
     * the rule in block 0 only */
    guint double_interval, single_interval;
  } regional;
  /* "kv_edit": KV-Edit's defaults for this model; absent keys take the engine's (sinopia-inpaint.h). */
  struct {
    int skip_steps;              /* skip_steps ≥ 0; -1 when absent */
    float inversion_guidance;    /* NAN when absent */
    float denoise_guidance;      /* NAN when absent */
    float attn_scale;            /* NAN when absent */
    int reinit;                  /* reinit_noise as 0/1; -1 when absent */
  } kv_edit;
  /* "stable_flow": Stable Flow's defaults for this model. generated_steps (in [1,
   * SINOPIA_MODEL_MAX_STEPS]): the steps of an edit of a generated image, which the reference
   * code runs with its own count (15 against 50 for real images, algorithms.md §2.6); 0 when
   * absent: default_steps. Real images always take default_steps. */
  struct {
    guint generated_steps;
  } stable_flow;
  /* "vital_layers" of Stable Flow: "layers" (global indices, double blocks first), else
   * "double_blocks" and "single_blocks" (each type's own indices); empty when absent. Indices
   * are checked against the transformer where they are used. */
  struct {
    guint *layers, *doubles, *singles;
    guint n_layers, n_doubles, n_singles;
  } vital;
  SinopiaJson *doc;            /* the whole file, for sections read elsewhere */
} SinopiaModelInfo;

/* Parses `len` bytes of sinopia-model.json; `name` (e.g. the path) starts every error message.
 * Checks: the root is an object; format, when present, is "sinopia-model"; format_version at
 * most SINOPIA_MODEL_INFO_VERSION; sizes in [1, SINOPIA_MODEL_MAX_SIDE], size_multiple even,
 * native sizes multiples of it; steps in [1, SINOPIA_MODEL_MAX_STEPS]; guidance and shifts
 * finite, guidance ≥ 0; text lengths in [2, SINOPIA_MODEL_MAX_TEXT_LENGTH]; token ids
 * non-negative int32. (transfer full): free with sinopia_model_info_free. */
SinopiaModelInfo *sinopia_model_info_parse (const char *data, gsize len, const char *name, GError **error);
/* Reads and parses a file; a missing file is SINOPIA_MODEL_ERROR_MISSING. */
SinopiaModelInfo *sinopia_model_info_load (const char *path, GError **error);
void sinopia_model_info_free (SinopiaModelInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SinopiaModelInfo, sinopia_model_info_free)

/* A top-level member of the file (e.g. "regional_prompting", "kv_edit", "vital_layers"),
 * borrowed from info->doc; NULL when absent. */
const SinopiaJsonNode *sinopia_model_info_section (const SinopiaModelInfo *info, const char *key);

G_END_DECLS
