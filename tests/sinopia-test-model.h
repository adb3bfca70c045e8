/* sinopia-test-model.h — tiny random model folders written by tests: a FLUX transformer, an
 * autoencoder, T5- and CLIP-style encoders with the metadata their loaders read, a tokenizer
 * file as both tokenizers, and sinopia-model.json. Weights are uniform with unit-variance scale
 * for their fan-in (norm gains near 1), so activations neither vanish nor explode and the
 * decoded image is not flat. Failures assert. */
#pragma once

#include "sinopia-json.h"
#include "sinopia-model.h"
#include "sinopia-png.h"

/* T5 and CLIP widths: the transformer's context_in_dim and vec_in_dim. */
#define SINOPIA_TEST_TEXT_WIDTH 32

typedef struct {
  const char *name;           /* sinopia-model.json's name */
  uint32_t side;              /* native size (multiple of 16) */
  guint steps;                /* default_steps */
  uint32_t text_length;       /* text_max_length */
  uint32_t depth, depth_single;  /* the transformer's double and single blocks */
  const char *extra_json;     /* NULL, or more members of sinopia-model.json, starting with ", " */
  /* NULL, or a NULL-terminated list of transformer tensor name prefixes written as zeros (the
   * other weights are those of the model without it) */
  const char *const *zeroed;
} SinopiaTestModel;

/* Writes the model folder `dir` with `tokenizer` (a sentencepiece file) for both tokenizers. */
void sinopia_test_write_model (const char *dir, const char *tokenizer, const SinopiaTestModel *model);
/* The sinopia-model.json text of `model` with another name and extra members (", ..." or NULL).
 * (transfer full) */
char *sinopia_test_model_info_json (const SinopiaTestModel *model, const char *name, const char *extra);
void sinopia_test_write_text (const char *path, const char *text);
/* Removes a file or a folder with everything in it (links are removed, not followed). */
void sinopia_test_remove_tree (const char *path);

/* A model written into a new temporary folder and loaded on the shared test context
 * (sinopia-test-vk.h); the tokenizer is tests/data/spm-nmt.model. */
typedef struct {
  char *tmp_root;       /* the folder, for the test's other files too */
  char *model_dir;      /* tmp_root/model */
  SinopiaModel *model;
} SinopiaTestModelFolder;

void sinopia_test_model_folder_open (SinopiaTestModelFolder *folder, const SinopiaTestModel *model);
/* Frees the model and removes the folder with everything in it. */
void sinopia_test_model_folder_close (SinopiaTestModelFolder *folder);

/* The "method" object of a PNG's `parameters` chunk (asserts both exist): *method is borrowed
 * from the returned document. (transfer full) */
SinopiaJson *sinopia_test_png_method (const SinopiaPngImage *png, const SinopiaJsonNode **method);
