/* sinopia-project.h — a whole document: the composition (prompts and regions), the generation
 * settings, the input image, and the history of results; and its file format, one JSON file
 * (format "sinopia-project", version 1) described in docs/project-format.md.
 *
 * The reader is strict: unknown versions, missing or mistyped keys, masks whose runs do not add
 * up to the image, images that do not decode or have the wrong size are errors naming the key.
 * Sizes are checked before anything is allocated for them.
 *
 * Ownership: a project owns everything it points to.
 * Threads: plain values and functions; any thread, one at a time per project.
 */
#pragma once

#include "sinopia-composition.h"

G_BEGIN_DECLS

#define SINOPIA_PROJECT_ERROR (sinopia_project_error_quark ())
GQuark sinopia_project_error_quark (void);

typedef enum {
  SINOPIA_PROJECT_ERROR_INVALID,  /* not a project file, or a malformed one (the message says where) */
  SINOPIA_PROJECT_ERROR_VERSION,  /* written by a newer Sinopia */
  SINOPIA_PROJECT_ERROR_IO,       /* reading or writing the file failed */
} SinopiaProjectErrorCode;

#define SINOPIA_PROJECT_VERSION 1
#define SINOPIA_PROJECT_EXTENSION ".sinopia"
/* Image sides, in pixels, and the number of history entries a file may hold. */
#define SINOPIA_PROJECT_MAX_SIDE 2048
#define SINOPIA_PROJECT_MAX_HISTORY 64

typedef enum {
  SINOPIA_MODE_GENERATE,  /* text (and regions) to image */
  SINOPIA_MODE_INPAINT,   /* KV-Edit: repaint inside the painted mask, keep the rest */
  SINOPIA_MODE_EDIT,      /* Stable Flow: change the input image from source to target prompt */
} SinopiaMode;

/* "generate", "inpaint", "edit"; the parse returns -1 for anything else. */
const char *sinopia_mode_to_string (SinopiaMode mode);
int sinopia_mode_parse (const char *text);

typedef struct {
  SinopiaMode mode;
  guint steps;             /* 0: the model's default */
  guint64 seed;            /* below 2^53, so that JSON numbers keep it exactly */
  gboolean keep_seed;      /* FALSE: every Generate draws a new seed first */
  double guidance;         /* NAN: the model's default */
  double base_ratio;       /* share of the base prompt in regional generation, [0, 1] */
  /* Advanced regional options; -1 leaves the engine's default. */
  int mask_inject_steps, double_interval, single_interval;
} SinopiaGenerationSettings;

/* A generated image and the parameters that made it. */
typedef struct {
  uint32_t width, height;
  guint8 *rgb;         /* [height][width][3] */
  char *parameters;    /* JSON text, as sinopia_image_parameters_json writes it */
  /* The image as a PNG file, or NULL. Saving writes it as it is instead of encoding the image
   * again, so autosaving a long history stays cheap; the reader keeps the file's. */
  GBytes *png;
} SinopiaHistoryItem;

void sinopia_history_item_free (SinopiaHistoryItem *item);

typedef struct {
  SinopiaComposition *composition;
  SinopiaGenerationSettings settings;
  guint8 *input_rgb;   /* NULL, or the composition's size × 3: what Inpaint and Edit work on */
  GBytes *input_png;   /* input_rgb as a PNG file, or NULL (then encoded at each save) */
  GPtrArray *history;  /* SinopiaHistoryItem*, oldest first, owned */
  int shown;           /* the history entry on the canvas; -1: the input image */
} SinopiaProject;

/* An empty project of the given size with default settings (seed 0, keep seed, base ratio 0.2).
 * (transfer full) */
SinopiaProject *sinopia_project_new (uint32_t width, uint32_t height);
void sinopia_project_free (SinopiaProject *project);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SinopiaProject, sinopia_project_free)

/* The file's bytes. (transfer full) NULL with an error only when an image cannot be encoded. */
GBytes *sinopia_project_to_bytes (const SinopiaProject *project, GError **error);
/* Parses `len` bytes; `name` (may be NULL) starts the messages. (transfer full) */
SinopiaProject *sinopia_project_from_bytes (const char *data, gsize len, const char *name, GError **error);

/* Writes the file atomically (a failed save leaves the old file as it was). */
gboolean sinopia_project_save (const SinopiaProject *project, const char *path, GError **error);
SinopiaProject *sinopia_project_load (const char *path, GError **error);

/* The regions as the JSON text of the exported PNG's "sinopia-regions" chunk: an array of
 * {"prompt", "colour", "box": [x, y, w, h]} for the visible regions. (transfer full) */
char *sinopia_composition_regions_json (const SinopiaComposition *composition);

G_END_DECLS
