/* sinopia-vk.h — the Vulkan compute runtime: device, memory, pipelines, recording.
 *
 * Ownership: a SinopiaVkContext owns everything created from it (buffers, the pipeline
 * cache, recorders); destroy those before the context.
 * Threads: a context may be used from one thread at a time. Recorders are not shared
 * between threads. Errors are GError values in SINOPIA_VK_ERROR; nothing here aborts
 * on bad input or on a Vulkan failure.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define SINOPIA_VK_ERROR (sinopia_vk_error_quark ())
GQuark sinopia_vk_error_quark (void);

typedef enum {
  SINOPIA_VK_ERROR_NO_DRIVER,        /* no Vulkan loader / ICD at all */
  SINOPIA_VK_ERROR_NO_DEVICE,        /* no device, or SINOPIA_DEVICE matched none */
  SINOPIA_VK_ERROR_OUT_OF_MEMORY,    /* heap or allocation limit exceeded */
  SINOPIA_VK_ERROR_INVALID_ARGUMENT, /* bad shapes, null buffers, ... */
  SINOPIA_VK_ERROR_DEVICE_LOST,
  SINOPIA_VK_ERROR_FAILED,           /* any other Vulkan failure */
} SinopiaVkErrorCode;

typedef enum {
  SINOPIA_DTYPE_F32,
  SINOPIA_DTYPE_F16,
  SINOPIA_DTYPE_BF16,
  SINOPIA_DTYPE_U32,
} SinopiaDType;

gsize sinopia_dtype_size (SinopiaDType dtype);
const char *sinopia_dtype_name (SinopiaDType dtype);

typedef struct _SinopiaVkContext SinopiaVkContext;
typedef struct _SinopiaBuffer SinopiaBuffer;
typedef struct _SinopiaRecorder SinopiaRecorder;

/* ---- process setup ---------------------------------------------------------------- */

/* Call from main() before any other thread starts (it may set an environment variable).
 * Mesa's CPU driver, lavapipe, splits every dispatch into one equal share per thread, so
 * whichever share is delayed (by the interface thread, or by the host taking a core away)
 * holds the whole dispatch up. Unless LP_NUM_THREADS is already set, this asks for twice as
 * many threads as cores, so that the shares are smaller and the threads that finish early
 * take the rest. Other drivers ignore the variable. */
void sinopia_vk_setup_process (void);

/* ---- devices ---------------------------------------------------------------------- */

typedef struct {
  char name[256];
  const char *type;               /* "discrete", "integrated", "virtual", "cpu", "other" */
  uint32_t vendor_id, device_id;
  uint32_t api_version;
  uint32_t n_heaps;
  uint64_t heap_size[16];
  gboolean heap_device_local[16];
  uint64_t max_allocation_size;
  uint32_t max_texel_buffer_elements;
  uint32_t subgroup_size;
  gboolean shader_float16;        /* shaderFloat16 arithmetic */
  gboolean storage_16bit;         /* storageBuffer16BitAccess */
  gboolean shader_int8;           /* shaderInt8 */
  gboolean storage_8bit;          /* storageBuffer8BitAccess */
  gboolean integer_dot_product;   /* VK_KHR_shader_integer_dot_product */
  gboolean bfloat16;              /* VK_KHR_shader_bfloat16 (bf16 is unpacked by hand otherwise) */
  gboolean cooperative_matrix;    /* VK_KHR_cooperative_matrix */
  gboolean timestamps;            /* compute-queue timestamps usable */
} SinopiaVkDeviceInfo;

/* Lists every physical device. Returns FALSE with SINOPIA_VK_ERROR_NO_DRIVER when
 * Vulkan itself is unavailable. (transfer full) *infos: free with g_free. */
gboolean sinopia_vk_list_devices (SinopiaVkDeviceInfo **infos, guint *n_infos, GError **error);

typedef struct {
  /* NULL: $SINOPIA_DEVICE, else the best device (discrete > integrated > virtual > cpu).
   * An index ("1") or a case-insensitive substring of the device name. */
  const char *device;
  /* Enable VK_LAYER_KHRONOS_validation (also on when $SINOPIA_VALIDATION=1). */
  gboolean validation;
  /* Store the pipeline cache under $XDG_CACHE_HOME/sinopia (off when $SINOPIA_NO_PIPELINE_CACHE=1). */
  gboolean persistent_pipeline_cache;
} SinopiaVkOptions;

/* (transfer full): free with sinopia_vk_context_free. opts may be NULL. */
SinopiaVkContext *sinopia_vk_context_new (const SinopiaVkOptions *opts, GError **error);
/* A second context on ctx's device with ctx's options, for work that runs beside ctx's: on a
 * CPU driver each context computes on its own threads. It reads the pipeline cache but leaves
 * writing it to ctx. (transfer full) */
SinopiaVkContext *sinopia_vk_context_new_sibling (SinopiaVkContext *ctx, GError **error);
void sinopia_vk_context_free (SinopiaVkContext *ctx);
const SinopiaVkDeviceInfo *sinopia_vk_context_device_info (SinopiaVkContext *ctx);
/* Number of validation messages (warnings or errors) seen since the context was made. */
guint sinopia_vk_context_validation_messages (SinopiaVkContext *ctx);
/* Bytes of device memory currently allocated by the context, and the peak. */
uint64_t sinopia_vk_context_allocated_bytes (SinopiaVkContext *ctx);
uint64_t sinopia_vk_context_peak_bytes (SinopiaVkContext *ctx);
/* Writes the pipeline cache now (also done by context_free). */
gboolean sinopia_vk_context_save_pipeline_cache (SinopiaVkContext *ctx, GError **error);
/* Pipelines created since the context was made. */
guint sinopia_vk_context_pipelines_created (SinopiaVkContext *ctx);
/* Whether a pipeline cache from an earlier run was found and accepted. */
gboolean sinopia_vk_context_pipeline_cache_loaded (SinopiaVkContext *ctx);

/* ---- buffers ---------------------------------------------------------------------- */

/* Environment switches for hard-to-reach paths: SINOPIA_MAX_ALLOC=<bytes> lowers the
 * allocation limit, SINOPIA_FORCE_STAGING=1 uploads through the staging buffer even where
 * device memory could be mapped, SINOPIA_DEVICE picks a device, SINOPIA_VALIDATION=1 turns
 * the validation layer on, SINOPIA_NO_PIPELINE_CACHE=1 keeps the cache in memory only. */

/* A typed device-local storage buffer of n_elements. Small buffers are sub-allocated from
 * large blocks. The limit is the device's maxMemoryAllocationSize (or $SINOPIA_MAX_ALLOC
 * bytes when set, for testing) and the heap size; exceeding either is an error.
 * (transfer full): free with sinopia_buffer_free before the context. */
SinopiaBuffer *sinopia_buffer_new (SinopiaVkContext *ctx, SinopiaDType dtype, uint64_t n_elements,
                                   GError **error);
void sinopia_buffer_free (SinopiaBuffer *buf);
uint64_t sinopia_buffer_n_elements (const SinopiaBuffer *buf);
SinopiaDType sinopia_buffer_dtype (const SinopiaBuffer *buf);
uint64_t sinopia_buffer_size_bytes (const SinopiaBuffer *buf);

/* Copies bytes between host memory and the buffer; byte_offset/n_bytes are within the buffer.
 * Uploads stream through a bounded staging area (or write straight into host-visible device
 * memory), so `data` may be an mmapped file: no second full copy is made in RAM.
 * Both wait for the transfer to finish. */
gboolean sinopia_buffer_upload (SinopiaBuffer *buf, uint64_t byte_offset, const void *data,
                                uint64_t n_bytes, GError **error);
gboolean sinopia_buffer_download (SinopiaBuffer *buf, uint64_t byte_offset, void *data,
                                  uint64_t n_bytes, GError **error);

/* ---- recording -------------------------------------------------------------------- */

/* A recorder collects many dispatches with the barriers they need into one command buffer
 * and submits them at once. (transfer full): free with sinopia_recorder_free. */
SinopiaRecorder *sinopia_recorder_new (SinopiaVkContext *ctx, GError **error);
void sinopia_recorder_free (SinopiaRecorder *rec);
/* Starts a new recording; profile=TRUE writes a GPU timestamp after every dispatch
 * when the device supports it. */
gboolean sinopia_recorder_begin (SinopiaRecorder *rec, gboolean profile, GError **error);
/* Ends, submits once and waits. After an op failed to record, returns that op's error. */
gboolean sinopia_recorder_submit (SinopiaRecorder *rec, GError **error);
/* The two halves of submit, so that recorders of different contexts run side by side: launch
 * ends and submits without waiting; finish waits for that work (and reads the profile). Until
 * then the recorder cannot begin again; freeing it waits. */
gboolean sinopia_recorder_launch (SinopiaRecorder *rec, GError **error);
gboolean sinopia_recorder_finish (SinopiaRecorder *rec, GError **error);
guint sinopia_recorder_n_dispatches (SinopiaRecorder *rec);

typedef struct {
  const char *op;      /* shader name */
  double      ms;      /* GPU time of the dispatch */
} SinopiaProfileEntry;

/* After a profiled submit: one entry per dispatch, in order; borrowed until the next begin. */
const SinopiaProfileEntry *sinopia_recorder_profile (SinopiaRecorder *rec, guint *n_entries);

G_END_DECLS
