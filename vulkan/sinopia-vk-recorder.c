/* sinopia-vk-recorder.c — records many dispatches into one command buffer, one submit.
 * Descriptor sets come from pools owned by the recorder and reset at each begin. */
#define G_LOG_DOMAIN "sinopia-vk"

#include <string.h>

#include "sinopia-vk-private.h"

#define SETS_PER_POOL 256

struct _SinopiaRecorder {
  SinopiaVkContext *ctx;
  VkCommandBuffer cmd;
  VkFence fence;
  GArray *pools;          /* VkDescriptorPool */
  guint pool_index;       /* pool currently allocated from */
  guint sets_in_pool;
  gboolean recording;
  gboolean in_flight;     /* launched, not yet finished */
  GError *failure;        /* first error while recording; reported by submit */
  guint n_dispatches;

  gboolean profile_enabled;
  VkQueryPool queries;
  guint query_capacity;
  GPtrArray *profile_names; /* const char* (shader names are static) */
  GArray *profile;          /* SinopiaProfileEntry */
};

SinopiaVkContext *
sinopia__recorder_context (SinopiaRecorder *rec)
{
  return rec->ctx;
}

static gboolean
add_pool (SinopiaRecorder *rec, GError **error)
{
  VkDescriptorPoolSize sizes[2] = {
    { VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, SETS_PER_POOL * SINOPIA_MAX_BINDINGS },
    { VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, SETS_PER_POOL * SINOPIA_MAX_BINDINGS },
  };
  VkDescriptorPoolCreateInfo ci = {
    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
    .maxSets = SETS_PER_POOL,
    .poolSizeCount = 2,
    .pPoolSizes = sizes,
  };
  VkDescriptorPool pool;
  if (!SINOPIA_VK_CALL (vkCreateDescriptorPool (rec->ctx->device, &ci, NULL, &pool), error))
    return FALSE;
  g_array_append_val (rec->pools, pool);
  return TRUE;
}

SinopiaRecorder *
sinopia_recorder_new (SinopiaVkContext *ctx, GError **error)
{
  SinopiaRecorder *rec = g_new0 (SinopiaRecorder, 1);
  rec->ctx = ctx;
  rec->pools = g_array_new (FALSE, FALSE, sizeof (VkDescriptorPool));
  rec->profile_names = g_ptr_array_new ();
  rec->profile = g_array_new (FALSE, FALSE, sizeof (SinopiaProfileEntry));

  VkCommandBufferAllocateInfo cai = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
    .commandPool = ctx->command_pool,
    .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
    .commandBufferCount = 1,
  };
  VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
  if (!SINOPIA_VK_CALL (vkAllocateCommandBuffers (ctx->device, &cai, &rec->cmd), error) ||
      !SINOPIA_VK_CALL (vkCreateFence (ctx->device, &fci, NULL, &rec->fence), error) ||
      !add_pool (rec, error)) {
    sinopia_recorder_free (rec);
    return NULL;
  }
  return rec;
}

void
sinopia_recorder_free (SinopiaRecorder *rec)
{
  if (!rec)
    return;
  VkDevice dev = rec->ctx->device;
  if (rec->recording)
    vkEndCommandBuffer (rec->cmd);
  /* the command buffer and its descriptor sets must outlive the work that reads them */
  if (rec->in_flight)
    vkWaitForFences (dev, 1, &rec->fence, VK_TRUE, UINT64_MAX);
  for (guint i = 0; i < rec->pools->len; i++)
    vkDestroyDescriptorPool (dev, g_array_index (rec->pools, VkDescriptorPool, i), NULL);
  if (rec->queries)
    vkDestroyQueryPool (dev, rec->queries, NULL);
  if (rec->fence)
    vkDestroyFence (dev, rec->fence, NULL);
  if (rec->cmd)
    vkFreeCommandBuffers (dev, rec->ctx->command_pool, 1, &rec->cmd);
  g_array_unref (rec->pools);
  g_ptr_array_unref (rec->profile_names);
  g_array_unref (rec->profile);
  g_clear_error (&rec->failure);
  g_free (rec);
}

static gboolean
ensure_queries (SinopiaRecorder *rec, guint needed, GError **error)
{
  if (rec->queries && rec->query_capacity >= needed)
    return TRUE;
  if (rec->queries)
    vkDestroyQueryPool (rec->ctx->device, rec->queries, NULL);
  rec->queries = VK_NULL_HANDLE;
  rec->query_capacity = MAX (needed, 1024);
  VkQueryPoolCreateInfo ci = {
    .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
    .queryType = VK_QUERY_TYPE_TIMESTAMP,
    .queryCount = rec->query_capacity,
  };
  return SINOPIA_VK_CALL (vkCreateQueryPool (rec->ctx->device, &ci, NULL, &rec->queries), error);
}

gboolean
sinopia_recorder_begin (SinopiaRecorder *rec, gboolean profile, GError **error)
{
  VkDevice dev = rec->ctx->device;

  if (rec->recording || rec->in_flight) {
    g_set_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT,
                 rec->recording ? "The recorder is already recording"
                                : "The recorder's last submission is still running: finish it first");
    return FALSE;
  }
  g_clear_error (&rec->failure);
  for (guint i = 0; i < rec->pools->len; i++)
    vkResetDescriptorPool (dev, g_array_index (rec->pools, VkDescriptorPool, i), 0);
  rec->pool_index = 0;
  rec->sets_in_pool = 0;
  rec->n_dispatches = 0;
  g_array_set_size (rec->profile, 0);
  g_ptr_array_set_size (rec->profile_names, 0);
  rec->profile_enabled = profile && rec->ctx->timestamp_valid_bits > 0;
  if (rec->profile_enabled && !ensure_queries (rec, rec->query_capacity, error))
    return FALSE;

  VkCommandBufferBeginInfo bi = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
    .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
  };
  if (!SINOPIA_VK_CALL (vkResetCommandBuffer (rec->cmd, 0), error) ||
      !SINOPIA_VK_CALL (vkBeginCommandBuffer (rec->cmd, &bi), error))
    return FALSE;
  if (rec->profile_enabled) {
    vkCmdResetQueryPool (rec->cmd, rec->queries, 0, rec->query_capacity);
    vkCmdWriteTimestamp (rec->cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, rec->queries, 0);
  }
  rec->recording = TRUE;
  return TRUE;
}

static VkDescriptorSet
allocate_set (SinopiaRecorder *rec, VkDescriptorSetLayout layout, GError **error)
{
  if (rec->sets_in_pool == SETS_PER_POOL) {
    rec->pool_index++;
    rec->sets_in_pool = 0;
    if (rec->pool_index == rec->pools->len && !add_pool (rec, error))
      return VK_NULL_HANDLE;
  }
  VkDescriptorSetAllocateInfo ai = {
    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
    .descriptorPool = g_array_index (rec->pools, VkDescriptorPool, rec->pool_index),
    .descriptorSetCount = 1,
    .pSetLayouts = &layout,
  };
  VkDescriptorSet set;
  if (!SINOPIA_VK_CALL (vkAllocateDescriptorSets (rec->ctx->device, &ai, &set), error))
    return VK_NULL_HANDLE;
  rec->sets_in_pool++;
  return set;
}

static gboolean
fail (SinopiaRecorder *rec, GError *err, GError **error)
{
  if (!rec->failure)
    rec->failure = g_error_copy (err);
  g_propagate_error (error, err);
  return FALSE;
}

gboolean
sinopia__recorder_dispatch (SinopiaRecorder *rec, const SinopiaDispatch *d, GError **error)
{
  SinopiaVkContext *ctx = rec->ctx;
  GError *err = NULL;
  SinopiaPipeline *p;
  VkDescriptorSet set;
  VkDescriptorBufferInfo infos[SINOPIA_MAX_BINDINGS];
  VkBufferView views[SINOPIA_MAX_BINDINGS];
  VkWriteDescriptorSet writes[SINOPIA_MAX_BINDINGS];

  if (!rec->recording) {
    g_set_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT,
                 "Ops must be recorded between sinopia_recorder_begin and _submit");
    return FALSE;
  }
  if (d->groups[0] == 0 || d->groups[1] == 0 || d->groups[2] == 0)
    return TRUE;
  for (guint i = 0; i < 3; i++)
    if (d->groups[i] > ctx->props.limits.maxComputeWorkGroupCount[i]) {
      g_set_error (&err, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT,
                   "%s: %u workgroups along axis %u exceed the device limit of %u",
                   d->shader, d->groups[i], i, ctx->props.limits.maxComputeWorkGroupCount[i]);
      return fail (rec, err, error);
    }
  p = sinopia__pipeline_get (ctx, d, &err);
  if (!p)
    return fail (rec, err, error);
  set = allocate_set (rec, p->set_layout, &err);
  if (!set)
    return fail (rec, err, error);

  for (guint i = 0; i < d->n_bindings; i++) {
    SinopiaBuffer *buf = d->bindings[i].buffer;
    if (!buf && !(buf = sinopia__dummy_buffer (ctx, &err)))
      return fail (rec, err, error);
    writes[i] = (VkWriteDescriptorSet) {
      .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
      .dstSet = set,
      .dstBinding = i,
      .descriptorCount = 1,
    };
    if (d->bindings[i].kind == SINOPIA_BIND_TEXEL) {
      views[i] = sinopia__buffer_view (buf, d->bindings[i].format, &err);
      if (!views[i])
        return fail (rec, err, error);
      writes[i].descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
      writes[i].pTexelBufferView = &views[i];
    } else {
      infos[i] = (VkDescriptorBufferInfo) { buf->buffer, buf->offset, buf->size };
      writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
      writes[i].pBufferInfo = &infos[i];
    }
  }
  vkUpdateDescriptorSets (ctx->device, d->n_bindings, writes, 0, NULL);

  vkCmdBindPipeline (rec->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipeline);
  vkCmdBindDescriptorSets (rec->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->layout, 0, 1, &set, 0, NULL);
  if (d->push_size)
    vkCmdPushConstants (rec->cmd, p->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, d->push_size, d->push);
  vkCmdDispatch (rec->cmd, d->groups[0], d->groups[1], d->groups[2]);

  /* Every op reads what the previous ones wrote; a global barrier costs nothing
   * measurable next to the dispatch itself (machine-feasibility.md §3). */
  VkMemoryBarrier mb = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
    .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
    .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT,
  };
  vkCmdPipelineBarrier (rec->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                        0, 1, &mb, 0, NULL, 0, NULL);
  rec->n_dispatches++;
  if (rec->profile_enabled) {
    if (rec->n_dispatches + 1 <= rec->query_capacity)
      vkCmdWriteTimestamp (rec->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, rec->queries, rec->n_dispatches);
    g_ptr_array_add (rec->profile_names, (gpointer) d->shader);
  }
  return TRUE;
}

gboolean
sinopia_recorder_launch (SinopiaRecorder *rec, GError **error)
{
  VkDevice dev = rec->ctx->device;

  if (!rec->recording) {
    g_set_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT,
                 "Nothing was recorded: call sinopia_recorder_begin first");
    return FALSE;
  }
  rec->recording = FALSE;
  VkMemoryBarrier mb = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
    .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
    .dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT,
  };
  vkCmdPipelineBarrier (rec->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                        VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
  if (!SINOPIA_VK_CALL (vkEndCommandBuffer (rec->cmd), error))
    return FALSE;
  if (rec->failure) {
    g_propagate_error (error, g_error_copy (rec->failure));
    return FALSE;
  }
  VkSubmitInfo si = {
    .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
    .commandBufferCount = 1,
    .pCommandBuffers = &rec->cmd,
  };
  if (!SINOPIA_VK_CALL (vkResetFences (dev, 1, &rec->fence), error) ||
      !SINOPIA_VK_CALL (vkQueueSubmit (rec->ctx->queue, 1, &si, rec->fence), error))
    return FALSE;
  rec->in_flight = TRUE;
  return TRUE;
}

gboolean
sinopia_recorder_finish (SinopiaRecorder *rec, GError **error)
{
  VkDevice dev = rec->ctx->device;

  if (!rec->in_flight) {
    g_set_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT,
                 "Nothing was launched: call sinopia_recorder_launch first");
    return FALSE;
  }
  rec->in_flight = FALSE;
  if (!SINOPIA_VK_CALL (vkWaitForFences (dev, 1, &rec->fence, VK_TRUE, UINT64_MAX), error))
    return FALSE;

  if (rec->profile_enabled) {
    guint n = MIN (rec->n_dispatches, rec->query_capacity - 1);
    g_autofree uint64_t *ts = g_new0 (uint64_t, n + 1);
    if (!SINOPIA_VK_CALL (vkGetQueryPoolResults (dev, rec->queries, 0, n + 1, (n + 1) * sizeof (uint64_t), ts,
                                                 sizeof (uint64_t), VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
                          error))
      return FALSE;
    uint64_t mask = rec->ctx->timestamp_valid_bits >= 64 ? G_MAXUINT64 : ((uint64_t) 1 << rec->ctx->timestamp_valid_bits) - 1;
    double period_ms = rec->ctx->props.limits.timestampPeriod * 1e-6;
    for (guint i = 0; i < n; i++) {
      SinopiaProfileEntry e = {
        .op = g_ptr_array_index (rec->profile_names, i),
        .ms = (double) ((ts[i + 1] - ts[i]) & mask) * period_ms,
      };
      g_array_append_val (rec->profile, e);
    }
    /* Next profiled recording gets a slot for every dispatch this one had. */
    if (rec->n_dispatches + 1 > rec->query_capacity && !ensure_queries (rec, rec->n_dispatches + 1, error))
      return FALSE;
  }
  return TRUE;
}

gboolean
sinopia_recorder_submit (SinopiaRecorder *rec, GError **error)
{
  return sinopia_recorder_launch (rec, error) && sinopia_recorder_finish (rec, error);
}

guint
sinopia_recorder_n_dispatches (SinopiaRecorder *rec)
{
  return rec->n_dispatches;
}

const SinopiaProfileEntry *
sinopia_recorder_profile (SinopiaRecorder *rec, guint *n_entries)
{
  *n_entries = rec->profile->len;
  return (const SinopiaProfileEntry *) rec->profile->data;
}
