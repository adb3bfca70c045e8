/* sinopia-vk-buffer.c — device memory: sub-allocated blocks, dedicated allocations,
 * texel views and host transfers. */
#define G_LOG_DOMAIN "sinopia-vk"

#include <string.h>

#include "sinopia-vk-private.h"

#define BLOCK_BYTES ((uint64_t) 128 << 20)
/* Requests above this get their own allocation: weight matrices, big activations. */
#define DEDICATED_THRESHOLD (BLOCK_BYTES / 4)
/* Byte granularity of every sub-allocation, so any vec4 texel view covers its tail. */
#define SIZE_GRANULE 64

typedef struct {
  uint64_t offset, size;
} FreeRange;

struct _SinopiaMemBlock {
  VkDeviceMemory memory;
  VkBuffer buffer;
  uint8_t *map;
  uint64_t size;
  uint32_t heap;
  GArray *free;   /* FreeRange sorted by offset, neighbours merged */
};

static uint64_t
align_up (uint64_t v, uint64_t a)
{
  return (v + a - 1) / a * a;
}

static uint64_t
alignment (SinopiaVkContext *ctx)
{
  const VkPhysicalDeviceLimits *l = &ctx->props.limits;
  return MAX (MAX (l->minStorageBufferOffsetAlignment, l->minTexelBufferOffsetAlignment), 256);
}

static gboolean
create_vk_buffer (SinopiaVkContext *ctx, uint64_t size, VkBuffer *buffer, GError **error)
{
  VkBufferCreateInfo bci = {
    .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
    .size = size,
    .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
             VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
  };
  return SINOPIA_VK_CALL (vkCreateBuffer (ctx->device, &bci, NULL, buffer), error);
}

static uint32_t
choose_memory_type (SinopiaVkContext *ctx, uint32_t allowed)
{
  VkMemoryPropertyFlags prefs[3] = {
    VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT,
    0,
    0,
  };
  if (ctx->uma)
    prefs[0] |= VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  prefs[1] = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
  for (guint p = 0; p < G_N_ELEMENTS (prefs); p++)
    for (uint32_t i = 0; i < ctx->mem_props.memoryTypeCount; i++)
      if ((allowed & (1u << i)) && (ctx->mem_props.memoryTypes[i].propertyFlags & prefs[p]) == prefs[p])
        return i;
  return UINT32_MAX;
}

static gboolean
out_of_memory (GError **error, const char *what, uint64_t want, uint64_t have)
{
  g_set_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_OUT_OF_MEMORY,
               "Not enough device memory: %s needs %.1f MiB, the device allows %.1f MiB. "
               "Use a smaller image size or a device with more memory.",
               what, want / 1048576.0, have / 1048576.0);
  return FALSE;
}

/* Allocates memory for `buffer`, checking the per-allocation and heap limits first. */
static gboolean
allocate_for (SinopiaVkContext *ctx, VkBuffer buffer, VkDeviceMemory *memory, uint8_t **map,
              uint32_t *heap_out, GError **error)
{
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements (ctx->device, buffer, &req);
  if (req.size > ctx->max_allocation)
    return out_of_memory (error, "one buffer", req.size, ctx->max_allocation);
  uint32_t type = choose_memory_type (ctx, req.memoryTypeBits);
  if (type == UINT32_MAX) {
    g_set_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_FAILED,
                 "The Vulkan device offers no memory type for storage buffers");
    return FALSE;
  }
  uint32_t heap = ctx->mem_props.memoryTypes[type].heapIndex;
  uint64_t heap_size = ctx->mem_props.memoryHeaps[heap].size;
  if (heap < SINOPIA_MAX_HEAPS && ctx->heap_used[heap] + req.size > heap_size)
    return out_of_memory (error, "this allocation", ctx->heap_used[heap] + req.size, heap_size);

  VkMemoryAllocateInfo ai = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
    .allocationSize = req.size,
    .memoryTypeIndex = type,
  };
  if (!SINOPIA_VK_CALL (vkAllocateMemory (ctx->device, &ai, NULL, memory), error))
    return FALSE;
  if (!SINOPIA_VK_CALL (vkBindBufferMemory (ctx->device, buffer, *memory, 0), error))
    goto fail;
  *map = NULL;
  if (ctx->uma && (ctx->mem_props.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)) {
    void *p = NULL;
    if (!SINOPIA_VK_CALL (vkMapMemory (ctx->device, *memory, 0, VK_WHOLE_SIZE, 0, &p), error))
      goto fail;
    *map = p;
  }
  if (heap < SINOPIA_MAX_HEAPS)
    ctx->heap_used[heap] += req.size;
  ctx->allocated += req.size;
  ctx->peak = MAX (ctx->peak, ctx->allocated);
  *heap_out = heap;
  return TRUE;

fail:
  vkFreeMemory (ctx->device, *memory, NULL);
  *memory = VK_NULL_HANDLE;
  return FALSE;
}

static void
release (SinopiaVkContext *ctx, VkDeviceMemory memory, uint32_t heap, uint64_t size)
{
  vkFreeMemory (ctx->device, memory, NULL);
  if (heap < SINOPIA_MAX_HEAPS)
    ctx->heap_used[heap] -= size;
  ctx->allocated -= size;
}

static SinopiaMemBlock *
block_new (SinopiaVkContext *ctx, GError **error)
{
  SinopiaMemBlock *b = g_new0 (SinopiaMemBlock, 1);

  b->size = MIN (BLOCK_BYTES, ctx->max_allocation);
  b->free = g_array_new (FALSE, FALSE, sizeof (FreeRange));
  if (!create_vk_buffer (ctx, b->size, &b->buffer, error))
    goto fail;
  if (!allocate_for (ctx, b->buffer, &b->memory, &b->map, &b->heap, error))
    goto fail;
  FreeRange all = { 0, b->size };
  g_array_append_val (b->free, all);
  g_ptr_array_add (ctx->blocks, b);
  return b;

fail:
  if (b->buffer)
    vkDestroyBuffer (ctx->device, b->buffer, NULL);
  g_array_unref (b->free);
  g_free (b);
  return NULL;
}

static gboolean
block_take (SinopiaMemBlock *b, uint64_t size, uint64_t align, uint64_t *offset)
{
  for (guint i = 0; i < b->free->len; i++) {
    FreeRange *r = &g_array_index (b->free, FreeRange, i);
    uint64_t start = align_up (r->offset, align);
    if (start + size > r->offset + r->size)
      continue;
    uint64_t end = start + size, r_end = r->offset + r->size;
    FreeRange after = { end, r_end - end };
    if (start > r->offset) {
      r->size = start - r->offset;
      if (after.size)
        g_array_insert_val (b->free, i + 1, after);
    } else if (after.size) {
      *r = after;
    } else {
      g_array_remove_index (b->free, i);
    }
    *offset = start;
    return TRUE;
  }
  return FALSE;
}

static void
block_give_back (SinopiaMemBlock *b, uint64_t offset, uint64_t size)
{
  guint i = 0;
  while (i < b->free->len && g_array_index (b->free, FreeRange, i).offset < offset)
    i++;
  FreeRange r = { offset, size };
  g_array_insert_val (b->free, i, r);
  /* merge with the following range, then with the preceding one */
  if (i + 1 < b->free->len) {
    FreeRange *cur = &g_array_index (b->free, FreeRange, i), *next = cur + 1;
    if (cur->offset + cur->size == next->offset) {
      cur->size += next->size;
      g_array_remove_index (b->free, i + 1);
    }
  }
  if (i > 0) {
    FreeRange *prev = &g_array_index (b->free, FreeRange, i - 1), *cur = prev + 1;
    if (prev->offset + prev->size == cur->offset) {
      prev->size += cur->size;
      g_array_remove_index (b->free, i);
    }
  }
}

static void
block_free (SinopiaVkContext *ctx, SinopiaMemBlock *b)
{
  vkDestroyBuffer (ctx->device, b->buffer, NULL);
  release (ctx, b->memory, b->heap, b->size);
  g_array_unref (b->free);
  g_ptr_array_remove (ctx->blocks, b);
  g_free (b);
}

SinopiaBuffer *
sinopia_buffer_new (SinopiaVkContext *ctx, SinopiaDType dtype, uint64_t n_elements, GError **error)
{
  SinopiaBuffer *buf;
  uint64_t size, reserved;

  if (!ctx || n_elements == 0) {
    g_set_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT,
                 "A buffer needs a context and at least one element");
    return NULL;
  }
  if (n_elements > G_MAXUINT64 / 8) {
    g_set_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_OUT_OF_MEMORY,
                 "A buffer of %" G_GUINT64_FORMAT " elements cannot be addressed", n_elements);
    return NULL;
  }
  size = n_elements * sinopia_dtype_size (dtype);
  reserved = align_up (size, SIZE_GRANULE);
  if (reserved > ctx->max_allocation) {
    out_of_memory (error, "one buffer", reserved, ctx->max_allocation);
    return NULL;
  }

  buf = g_new0 (SinopiaBuffer, 1);
  buf->ctx = ctx;
  buf->dtype = dtype;
  buf->n_elements = n_elements;
  buf->size = reserved;

  if (reserved > MIN (DEDICATED_THRESHOLD, ctx->max_allocation / 2)) {
    if (!create_vk_buffer (ctx, reserved, &buf->buffer, error) ||
        !allocate_for (ctx, buf->buffer, &buf->memory, &buf->map, &buf->heap, error)) {
      if (buf->buffer)
        vkDestroyBuffer (ctx->device, buf->buffer, NULL);
      g_free (buf);
      return NULL;
    }
    return buf;
  }

  for (guint i = 0; i < ctx->blocks->len && !buf->block; i++) {
    SinopiaMemBlock *b = g_ptr_array_index (ctx->blocks, i);
    if (block_take (b, reserved, alignment (ctx), &buf->offset))
      buf->block = b;
  }
  if (!buf->block) {
    SinopiaMemBlock *b = block_new (ctx, error);
    if (!b || !block_take (b, reserved, alignment (ctx), &buf->offset)) {
      if (b && b->free->len == 1)
        block_free (ctx, b);
      if (b)
        g_set_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_OUT_OF_MEMORY,
                     "A buffer of %" G_GUINT64_FORMAT " bytes does not fit a memory block", reserved);
      g_free (buf);
      return NULL;
    }
    buf->block = b;
  }
  buf->buffer = buf->block->buffer;
  buf->map = buf->block->map ? buf->block->map + buf->offset : NULL;
  return buf;
}

void
sinopia_buffer_free (SinopiaBuffer *buf)
{
  if (!buf)
    return;
  SinopiaVkContext *ctx = buf->ctx;
  for (guint i = 0; i < SINOPIA_MAX_VIEWS; i++)
    if (buf->views[i].view)
      vkDestroyBufferView (ctx->device, buf->views[i].view, NULL);
  if (buf->block) {
    SinopiaMemBlock *b = buf->block;
    block_give_back (b, buf->offset, buf->size);
    if (b->free->len == 1 && g_array_index (b->free, FreeRange, 0).size == b->size)
      block_free (ctx, b);
  } else {
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements (ctx->device, buf->buffer, &req);
    vkDestroyBuffer (ctx->device, buf->buffer, NULL);
    release (ctx, buf->memory, buf->heap, req.size);
  }
  g_free (buf);
}

uint64_t
sinopia_buffer_n_elements (const SinopiaBuffer *buf)
{
  return buf->n_elements;
}

SinopiaDType
sinopia_buffer_dtype (const SinopiaBuffer *buf)
{
  return buf->dtype;
}

uint64_t
sinopia_buffer_size_bytes (const SinopiaBuffer *buf)
{
  return buf->n_elements * sinopia_dtype_size (buf->dtype);
}

static uint32_t
format_bytes (VkFormat format)
{
  switch (format) {
  case VK_FORMAT_R32G32B32A32_SFLOAT:
  case VK_FORMAT_R32G32B32A32_UINT:
    return 16;
  case VK_FORMAT_R16G16B16A16_SFLOAT:
  case VK_FORMAT_R32G32_UINT:
    return 8;
  case VK_FORMAT_R32_SFLOAT:
  case VK_FORMAT_R32_UINT:
    return 4;
  case VK_FORMAT_R16_SFLOAT:
  case VK_FORMAT_R16_UINT:
    return 2;
  default:
    return 0;
  }
}

VkBufferView
sinopia__buffer_view (SinopiaBuffer *buf, VkFormat format, GError **error)
{
  SinopiaVkContext *ctx = buf->ctx;
  guint slot = SINOPIA_MAX_VIEWS;
  uint32_t texel = format_bytes (format);

  for (guint i = 0; i < SINOPIA_MAX_VIEWS; i++) {
    if (buf->views[i].view && buf->views[i].format == format)
      return buf->views[i].view;
    if (!buf->views[i].view && slot == SINOPIA_MAX_VIEWS)
      slot = i;
  }
  g_return_val_if_fail (texel > 0 && slot < SINOPIA_MAX_VIEWS, VK_NULL_HANDLE);
  uint64_t range = buf->size / texel * texel;
  if (range / texel > ctx->props.limits.maxTexelBufferElements) {
    g_set_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_OUT_OF_MEMORY,
                 "A tensor of %" G_GUINT64_FORMAT " bytes exceeds the device's texel buffer limit "
                 "of %u texels", buf->size, ctx->props.limits.maxTexelBufferElements);
    return VK_NULL_HANDLE;
  }
  VkBufferViewCreateInfo ci = {
    .sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO,
    .buffer = buf->buffer,
    .format = format,
    .offset = buf->offset,
    .range = range,
  };
  VkBufferView view;
  if (!SINOPIA_VK_CALL (vkCreateBufferView (ctx->device, &ci, NULL, &view), error))
    return VK_NULL_HANDLE;
  buf->views[slot].format = format;
  buf->views[slot].view = view;
  return view;
}

static gboolean
check_range (SinopiaBuffer *buf, uint64_t offset, uint64_t n, const char *what, GError **error)
{
  uint64_t size = sinopia_buffer_size_bytes (buf);
  if (offset > size || n > size - offset) {
    g_set_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT,
                 "%s of %" G_GUINT64_FORMAT " bytes at %" G_GUINT64_FORMAT
                 " is outside a buffer of %" G_GUINT64_FORMAT " bytes", what, n, offset, size);
    return FALSE;
  }
  return TRUE;
}

/* One staged chunk: copy between the staging buffer and `buf`, submit and wait. */
static gboolean
staged_copy (SinopiaBuffer *buf, uint64_t offset, uint64_t n, gboolean to_device, GError **error)
{
  SinopiaVkContext *ctx = buf->ctx;
  VkCommandBufferBeginInfo bi = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
    .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
  };
  VkBufferCopy region = {
    .srcOffset = to_device ? 0 : buf->offset + offset,
    .dstOffset = to_device ? buf->offset + offset : 0,
    .size = n,
  };
  VkMemoryBarrier mb = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
    .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
    .dstAccessMask = to_device ? VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT : VK_ACCESS_HOST_READ_BIT,
  };
  VkSubmitInfo si = {
    .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
    .commandBufferCount = 1,
    .pCommandBuffers = &ctx->transfer_cmd,
  };

  if (!SINOPIA_VK_CALL (vkResetCommandBuffer (ctx->transfer_cmd, 0), error) ||
      !SINOPIA_VK_CALL (vkBeginCommandBuffer (ctx->transfer_cmd, &bi), error))
    return FALSE;
  vkCmdCopyBuffer (ctx->transfer_cmd, to_device ? ctx->staging : buf->buffer,
                   to_device ? buf->buffer : ctx->staging, 1, &region);
  vkCmdPipelineBarrier (ctx->transfer_cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                        to_device ? VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT : VK_PIPELINE_STAGE_HOST_BIT,
                        0, 1, &mb, 0, NULL, 0, NULL);
  return SINOPIA_VK_CALL (vkEndCommandBuffer (ctx->transfer_cmd), error) &&
         SINOPIA_VK_CALL (vkResetFences (ctx->device, 1, &ctx->transfer_fence), error) &&
         SINOPIA_VK_CALL (vkQueueSubmit (ctx->queue, 1, &si, ctx->transfer_fence), error) &&
         SINOPIA_VK_CALL (vkWaitForFences (ctx->device, 1, &ctx->transfer_fence, VK_TRUE, UINT64_MAX), error);
}

gboolean
sinopia_buffer_upload (SinopiaBuffer *buf, uint64_t byte_offset, const void *data, uint64_t n_bytes,
                       GError **error)
{
  if (!buf || (!data && n_bytes)) {
    g_set_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT, "upload without a buffer or data");
    return FALSE;
  }
  if (!check_range (buf, byte_offset, n_bytes, "An upload", error))
    return FALSE;
  if (buf->map) {
    memcpy (buf->map + byte_offset, data, n_bytes);
    return TRUE;
  }
  for (uint64_t done = 0; done < n_bytes;) {
    uint64_t n = MIN (n_bytes - done, buf->ctx->staging_size);
    memcpy (buf->ctx->staging_map, (const uint8_t *) data + done, n);
    if (!staged_copy (buf, byte_offset + done, n, TRUE, error))
      return FALSE;
    done += n;
  }
  return TRUE;
}

gboolean
sinopia_buffer_download (SinopiaBuffer *buf, uint64_t byte_offset, void *data, uint64_t n_bytes,
                         GError **error)
{
  if (!buf || (!data && n_bytes)) {
    g_set_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT, "download without a buffer or data");
    return FALSE;
  }
  if (!check_range (buf, byte_offset, n_bytes, "A download", error))
    return FALSE;
  if (buf->map) {
    memcpy (data, buf->map + byte_offset, n_bytes);
    return TRUE;
  }
  for (uint64_t done = 0; done < n_bytes;) {
    uint64_t n = MIN (n_bytes - done, buf->ctx->staging_size);
    if (!staged_copy (buf, byte_offset + done, n, FALSE, error))
      return FALSE;
    memcpy ((uint8_t *) data + done, buf->ctx->staging_map, n);
    done += n;
  }
  return TRUE;
}

SinopiaBuffer *
sinopia__dummy_buffer (SinopiaVkContext *ctx, GError **error)
{
  if (!ctx->dummy) {
    static const float zeros[16];
    ctx->dummy = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, G_N_ELEMENTS (zeros), error);
    if (ctx->dummy && !sinopia_buffer_upload (ctx->dummy, 0, zeros, sizeof zeros, error))
      g_clear_pointer (&ctx->dummy, sinopia_buffer_free);
  }
  return ctx->dummy;
}
