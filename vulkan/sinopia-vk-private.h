/* sinopia-vk-private.h — structs and cross-file helpers of the Vulkan runtime.
 * Only vulkan/ includes this. Thread rules are those of sinopia-vk.h. */
#pragma once

#include <vulkan/vulkan.h>

#include "sinopia-vk.h"
#include "sinopia-ops.h"

/* Logs the failing call with file:line and fills `error`. Evaluates to TRUE on success. */
#define SINOPIA_VK_CALL(call, error) \
  sinopia__vk_check ((call), #call, __FILE__, __LINE__, (error))

gboolean sinopia__vk_check (VkResult res, const char *call, const char *file, int line, GError **error);
const char *sinopia__vk_result_name (VkResult res);

#define SINOPIA_MAX_HEAPS 16
#define SINOPIA_MAX_BINDINGS 9   /* attention: q, k, v, five mask operands, output */
#define SINOPIA_MAX_SPEC 8
#define SINOPIA_MAX_VIEWS 4

typedef struct _SinopiaMemBlock SinopiaMemBlock;
typedef struct _SinopiaPipeline SinopiaPipeline;

struct _SinopiaVkContext {
  VkInstance instance;
  VkDebugUtilsMessengerEXT messenger;
  VkPhysicalDevice physical;
  guint physical_index;              /* in the instance's enumeration: a sibling picks the same */
  gboolean validation;
  gboolean sibling;                  /* made by new_sibling: reads the pipeline cache, never writes it */
  VkDevice device;
  VkQueue queue;
  uint32_t queue_family;
  VkPhysicalDeviceProperties props;
  VkPhysicalDeviceMemoryProperties mem_props;
  SinopiaVkDeviceInfo info;
  gboolean uma;                      /* device-local memory is host-visible: map, don't stage */
  uint32_t timestamp_valid_bits;

  uint64_t max_allocation;           /* maxMemoryAllocationSize or $SINOPIA_MAX_ALLOC */
  uint64_t heap_used[SINOPIA_MAX_HEAPS];
  uint64_t allocated, peak;
  GPtrArray *blocks;                 /* SinopiaMemBlock*, shared sub-allocation blocks */

  /* transfers: one command buffer, one fence, a host-visible staging buffer */
  VkCommandPool command_pool;
  VkCommandBuffer transfer_cmd;
  VkFence transfer_fence;
  VkBuffer staging;
  VkDeviceMemory staging_memory;
  void *staging_map;
  uint64_t staging_size;

  VkPipelineCache pipeline_cache;
  char *pipeline_cache_path;
  gboolean pipeline_cache_loaded;
  GHashTable *pipelines;             /* key string -> SinopiaPipeline* */
  guint pipelines_created;

  guint validation_messages;
  SinopiaBuffer *dummy;
};

struct _SinopiaBuffer {
  SinopiaVkContext *ctx;
  SinopiaMemBlock *block;            /* NULL for a dedicated allocation */
  VkDeviceMemory memory;             /* dedicated only */
  uint32_t heap;                     /* dedicated only */
  VkBuffer buffer;                   /* the block's buffer, or the dedicated one */
  uint64_t offset;                   /* byte offset inside `buffer` */
  uint64_t size;                     /* bytes */
  uint8_t *map;                      /* host pointer of byte 0 when the memory is mapped */
  SinopiaDType dtype;
  uint64_t n_elements;
  struct { VkFormat format; VkBufferView view; } views[SINOPIA_MAX_VIEWS];
};

/* The texel view of `buf` with `format` covering the whole buffer (created on first use). */
VkBufferView sinopia__buffer_view (SinopiaBuffer *buf, VkFormat format, GError **error);

/* ---- dispatch ---- */

typedef enum {
  SINOPIA_BIND_STORAGE,  /* the buffer as an SSBO; the shader indexes with element offsets */
  SINOPIA_BIND_TEXEL,    /* a uniform texel buffer view of `format` over the whole buffer */
} SinopiaBindKind;

typedef struct {
  SinopiaBindKind kind;
  VkFormat format;       /* TEXEL only */
  SinopiaBuffer *buffer; /* NULL binds a small dummy buffer (an absent optional operand) */
} SinopiaBinding;

typedef struct {
  const char *shader;            /* name in the embedded shader table */
  guint n_bindings;
  SinopiaBinding bindings[SINOPIA_MAX_BINDINGS];
  guint n_spec;
  uint32_t spec[SINOPIA_MAX_SPEC];   /* constant_id 0..n_spec-1; id 0 is the workgroup size */
  const void *push;
  guint push_size;
  uint32_t groups[3];
} SinopiaDispatch;

/* Records one dispatch followed by a compute→compute barrier. Creates the pipeline on
 * first use. Fails (and poisons the recording) on any Vulkan error. */
gboolean sinopia__recorder_dispatch (SinopiaRecorder *rec, const SinopiaDispatch *d, GError **error);
SinopiaVkContext *sinopia__recorder_context (SinopiaRecorder *rec);

/* Embedded SPIR-V by shader name; NULL when unknown. */
const uint32_t *sinopia__shader_code (const char *name, gsize *n_bytes);

/* Pipeline with its layouts for a shader + binding kinds + spec constants (cached). */
struct _SinopiaPipeline {
  VkDescriptorSetLayout set_layout;
  VkPipelineLayout layout;
  VkPipeline pipeline;
  guint n_bindings;
  guint push_size;
};
SinopiaPipeline *sinopia__pipeline_get (SinopiaVkContext *ctx, const SinopiaDispatch *d, GError **error);
void sinopia__pipelines_destroy (SinopiaVkContext *ctx);
gboolean sinopia__pipeline_cache_open (SinopiaVkContext *ctx, gboolean persistent, GError **error);

/* A buffer of 16 zero bytes bound in place of absent optional operands. */
SinopiaBuffer *sinopia__dummy_buffer (SinopiaVkContext *ctx, GError **error);

/* Sets the error for an invalid op argument. Always returns FALSE. */
gboolean sinopia__invalid (GError **error, const char *op, const char *fmt, ...) G_GNUC_PRINTF (3, 4);
/* Checks that a view lies inside its buffer and has the given dtype(s). */
gboolean sinopia__check_tensor (const SinopiaTensor *t, const char *op, const char *what,
                                guint dtype_mask, GError **error);
#define SINOPIA_DT(x) (1u << (x))
