/* The Vulkan runtime: device choice, memory limits, transfers, pipeline cache, recording. */
#define G_LOG_DOMAIN "sinopia-test"

#include <glib/gstdio.h>
#include <string.h>

#include "sinopia-test-vk.h"

static SinopiaVkContext *
new_context (GError **error)
{
  SinopiaVkOptions opts = { .validation = TRUE };
  return sinopia_vk_context_new (&opts, error);
}

static void
check_validation_and_free (SinopiaVkContext *ctx)
{
  guint messages = sinopia_vk_context_validation_messages (ctx);
  sinopia_vk_context_free (ctx);
  g_assert_cmpuint (messages, ==, 0);
}

static void
test_device_selection (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree SinopiaVkDeviceInfo *infos = NULL;
  guint n = 0;

  g_assert_true (sinopia_vk_list_devices (&infos, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, >, 0);

  /* by index and by a case-folded name substring */
  SinopiaVkOptions by_index = { .device = "0" };
  SinopiaVkContext *ctx = sinopia_vk_context_new (&by_index, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sinopia_vk_context_device_info (ctx)->name, ==, infos[0].name);
  sinopia_vk_context_free (ctx);

  g_autofree char *upper = g_ascii_strup (infos[0].name, 6);
  SinopiaVkOptions by_name = { .device = upper };
  ctx = sinopia_vk_context_new (&by_name, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sinopia_vk_context_device_info (ctx)->name, ==, infos[0].name);
  sinopia_vk_context_free (ctx);

  SinopiaVkOptions missing = { .device = "no such device anywhere" };
  g_assert_null (sinopia_vk_context_new (&missing, &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_NO_DEVICE);
  g_assert_nonnull (strstr (error->message, "no such device anywhere"));
  g_clear_error (&error);

  SinopiaVkOptions out_of_range = { .device = "99" };
  g_assert_null (sinopia_vk_context_new (&out_of_range, &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_NO_DEVICE);
}

/* Without any ICD the loader fails; we must say what to install, not crash. */
static void
test_no_driver (void)
{
  if (g_test_subprocess ()) {
    g_autoptr (GError) error = NULL;
    g_setenv ("VK_ICD_FILENAMES", "/nonexistent/icd.json", TRUE);
    g_setenv ("VK_DRIVER_FILES", "/nonexistent/icd.json", TRUE);
    SinopiaVkContext *ctx = sinopia_vk_context_new (NULL, &error);
    g_assert_null (ctx);
    g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_NO_DRIVER);
    g_print ("%s\n", error->message);
    return;
  }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout ("*mesa-vulkan-drivers*");
}

/* Twice the cores for lavapipe unless the user chose (`preset`); in a subprocess, since it
 * sets the environment. */
static void
check_setup_process (const char *preset, const char *expected)
{
  if (g_test_subprocess ()) {
    if (preset)
      g_setenv ("LP_NUM_THREADS", preset, TRUE);
    else
      g_unsetenv ("LP_NUM_THREADS");
    sinopia_vk_setup_process ();
    g_print ("LP_NUM_THREADS=%s\n", g_getenv ("LP_NUM_THREADS"));
    return;
  }
  g_autofree char *line = g_strdup_printf ("LP_NUM_THREADS=%s\n", expected);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout (line);
}

static void
test_setup_process_default (void)
{
  g_autofree char *twice = g_strdup_printf ("%u", MIN (2 * g_get_num_processors (), 16));
  check_setup_process (NULL, twice);
}

static void
test_setup_process_user_choice (void)
{
  check_setup_process ("3", "3");
}

static void
test_tiny_max_allocation (void)
{
  g_autoptr (GError) error = NULL;
  g_setenv ("SINOPIA_MAX_ALLOC", "65536", TRUE);
  SinopiaVkContext *ctx = new_context (&error);
  g_unsetenv ("SINOPIA_MAX_ALLOC");
  g_assert_no_error (error);

  SinopiaBuffer *ok = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, 1024, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ok);
  SinopiaBuffer *big = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, 1 << 20, &error);
  g_assert_null (big);
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_OUT_OF_MEMORY);
  g_assert_nonnull (strstr (error->message, "MiB"));
  g_clear_error (&error);

  /* larger than any heap: refused before Vulkan is asked */
  g_assert_null (sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, G_MAXUINT64 / 16, &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_OUT_OF_MEMORY);
  g_clear_error (&error);
  sinopia_buffer_free (ok);
  check_validation_and_free (ctx);
}

static void
test_heap_limit (void)
{
  g_autoptr (GError) error = NULL;
  SinopiaVkContext *ctx = new_context (&error);
  g_assert_no_error (error);
  const SinopiaVkDeviceInfo *info = sinopia_vk_context_device_info (ctx);
  uint64_t biggest_heap = 0;
  for (guint h = 0; h < info->n_heaps; h++)
    biggest_heap = MAX (biggest_heap, info->heap_size[h]);
  /* Two buffers of 60 % of the heap each: each fits the allocation limit (when the device
   * allows one that large), together they exceed the heap; the second is refused. */
  uint64_t part = biggest_heap / 10 * 6;
  if (part > info->max_allocation_size) {
    g_test_skip ("the device's allocation limit is below 60 % of its heap");
    check_validation_and_free (ctx);
    return;
  }
  SinopiaBuffer *first = sinopia_buffer_new (ctx, SINOPIA_DTYPE_U32, part / 4, &error);
  g_assert_no_error (error);
  g_assert_null (sinopia_buffer_new (ctx, SINOPIA_DTYPE_U32, part / 4, &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_OUT_OF_MEMORY);
  sinopia_buffer_free (first);
  check_validation_and_free (ctx);
}

/* Upload and download through both paths: mapped memory and the staging buffer, with
 * transfers larger than the staging area so they are chunked. */
static void
round_trip (gboolean force_staging)
{
  g_autoptr (GError) error = NULL;
  const gsize n = (40u << 20) / 4 + 3;
  if (force_staging)
    g_setenv ("SINOPIA_FORCE_STAGING", "1", TRUE);
  SinopiaVkContext *ctx = new_context (&error);
  g_unsetenv ("SINOPIA_FORCE_STAGING");
  g_assert_no_error (error);

  g_autofree uint32_t *data = g_new (uint32_t, n);
  for (gsize i = 0; i < n; i++)
    data[i] = (uint32_t) (i * 2654435761u);
  SinopiaBuffer *buf = sinopia_buffer_new (ctx, SINOPIA_DTYPE_U32, n, &error);
  g_assert_no_error (error);
  g_assert_true (sinopia_buffer_upload (buf, 0, data, n * 4, &error));
  g_assert_no_error (error);
  g_autofree uint32_t *back = g_new0 (uint32_t, n);
  g_assert_true (sinopia_buffer_download (buf, 0, back, n * 4, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (back, n * 4, data, n * 4);

  /* a partial download at an odd offset */
  uint32_t few[5];
  g_assert_true (sinopia_buffer_download (buf, 4 * 1001, few, sizeof few, &error));
  g_assert_cmpmem (few, sizeof few, data + 1001, sizeof few);

  /* out of range is an error */
  g_assert_false (sinopia_buffer_upload (buf, n * 4 - 2, data, 4, &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  sinopia_buffer_free (buf);
  check_validation_and_free (ctx);
}

static void
test_transfers_mapped (void)
{
  round_trip (FALSE);
}

static void
test_transfers_staged (void)
{
  round_trip (TRUE);
}

/* Many small buffers share blocks; everything returns when they are freed. */
static void
test_suballocation (void)
{
  g_autoptr (GError) error = NULL;
  SinopiaVkContext *ctx = new_context (&error);
  g_assert_no_error (error);
  SinopiaBuffer *bufs[300];
  for (guint i = 0; i < G_N_ELEMENTS (bufs); i++) {
    bufs[i] = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, 1 + i * 97, &error);
    g_assert_no_error (error);
    float v = (float) i;
    g_assert_true (sinopia_buffer_upload (bufs[i], 0, &v, 4, &error));
  }
  /* free every other one, allocate again into the holes, then check nothing was clobbered */
  for (guint i = 0; i < G_N_ELEMENTS (bufs); i += 2)
    sinopia_buffer_free (bufs[i]);
  for (guint i = 0; i < G_N_ELEMENTS (bufs); i += 2) {
    bufs[i] = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, 1 + i * 97, &error);
    float v = (float) i;
    g_assert_true (sinopia_buffer_upload (bufs[i], 0, &v, 4, &error));
  }
  for (guint i = 0; i < G_N_ELEMENTS (bufs); i++) {
    float v = -1;
    g_assert_true (sinopia_buffer_download (bufs[i], 0, &v, 4, &error));
    g_assert_cmpfloat (v, ==, (float) i);
  }
  g_assert_cmpuint (sinopia_vk_context_allocated_bytes (ctx), >, 0);
  for (guint i = 0; i < G_N_ELEMENTS (bufs); i++)
    sinopia_buffer_free (bufs[i]);
  g_assert_cmpuint (sinopia_vk_context_allocated_bytes (ctx), ==, 0);
  check_validation_and_free (ctx);
}

/* A counter on ctx: *acc holds 0, *inc holds 1. */
static void
new_counter (SinopiaVkContext *ctx, SinopiaBuffer **acc, SinopiaBuffer **inc)
{
  g_autoptr (GError) error = NULL;
  float one = 1.0f, zero = 0.0f;
  *acc = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, 1, &error);
  *inc = sinopia_buffer_new (ctx, SINOPIA_DTYPE_F32, 1, &error);
  g_assert_no_error (error);
  g_assert_true (sinopia_buffer_upload (*acc, 0, &zero, 4, &error));
  g_assert_true (sinopia_buffer_upload (*inc, 0, &one, 4, &error));
}

static float
counter_value (SinopiaBuffer *acc)
{
  g_autoptr (GError) error = NULL;
  float result = 0;
  g_assert_true (sinopia_buffer_download (acc, 0, &result, 4, &error));
  return result;
}

/* Begins rec and records n_ops additions of inc into acc. Each depends on the previous one:
 * the barriers must order them. */
static void
record_additions (SinopiaRecorder *rec, gboolean profile, SinopiaBuffer *acc, SinopiaBuffer *inc, guint n_ops)
{
  g_autoptr (GError) error = NULL;
  SinopiaTensor ta = sinopia_tensor (acc, 0, 1, 1), ti = sinopia_tensor (inc, 0, 1, 1);
  g_assert_true (sinopia_recorder_begin (rec, profile, &error));
  for (guint i = 0; i < n_ops; i++)
    g_assert_true (sinopia_op_mul_add (rec, &ti, NULL, &ta, 1.0f, &ta, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sinopia_recorder_n_dispatches (rec), ==, n_ops);
}

static void
record_chain (SinopiaVkContext *ctx, guint n_ops, gboolean profile, SinopiaRecorder **out_rec)
{
  g_autoptr (GError) error = NULL;
  SinopiaBuffer *acc, *inc;
  new_counter (ctx, &acc, &inc);
  SinopiaRecorder *rec = sinopia_recorder_new (ctx, &error);
  g_assert_no_error (error);
  record_additions (rec, profile, acc, inc, n_ops);
  g_assert_true (sinopia_recorder_submit (rec, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (counter_value (acc), ==, (float) n_ops);
  sinopia_buffer_free (acc);
  sinopia_buffer_free (inc);
  *out_rec = rec;
}

static void
test_recorder_one_submission (void)
{
  g_autoptr (GError) error = NULL;
  SinopiaVkContext *ctx = new_context (&error);
  SinopiaRecorder *rec = NULL;
  record_chain (ctx, 150, FALSE, &rec);
  sinopia_recorder_free (rec);
  check_validation_and_free (ctx);
}

static void
test_recorder_profile (void)
{
  g_autoptr (GError) error = NULL;
  SinopiaVkContext *ctx = new_context (&error);
  SinopiaRecorder *rec = NULL;
  guint n = 0;
  record_chain (ctx, 20, TRUE, &rec);
  const SinopiaProfileEntry *p = sinopia_recorder_profile (rec, &n);
  if (sinopia_vk_context_device_info (ctx)->timestamps) {
    g_assert_cmpuint (n, ==, 20);
    for (guint i = 0; i < n; i++) {
      g_assert_cmpstr (p[i].op, ==, "elementwise");
      g_assert_cmpfloat (p[i].ms, >=, 0.0);
      g_assert_cmpfloat (p[i].ms, <, 10000.0);
    }
  } else {
    g_assert_cmpuint (n, ==, 0);
  }
  sinopia_recorder_free (rec);
  check_validation_and_free (ctx);
}

static void
test_recorder_misuse (void)
{
  g_autoptr (GError) error = NULL;
  SinopiaVkContext *ctx = new_context (&error);
  SinopiaRecorder *rec = sinopia_recorder_new (ctx, &error);
  g_assert_false (sinopia_recorder_submit (rec, &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (sinopia_recorder_begin (rec, FALSE, &error));
  g_assert_false (sinopia_recorder_begin (rec, FALSE, &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (sinopia_recorder_submit (rec, &error));
  sinopia_recorder_free (rec);
  check_validation_and_free (ctx);
}

/* A sibling context is on the same device, and recorders of the two contexts run side by
 * side: both launched, then both finished, each with its own result. Launch and finish
 * refuse misuse, and freeing a recorder whose work is still running waits for it. */
static void
test_recorder_side_by_side (void)
{
  g_autoptr (GError) error = NULL;
  SinopiaVkContext *ctx = new_context (&error);
  g_assert_no_error (error);
  SinopiaVkContext *sibling = sinopia_vk_context_new_sibling (ctx, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sinopia_vk_context_device_info (sibling)->name, ==, sinopia_vk_context_device_info (ctx)->name);

  SinopiaVkContext *ctxs[2] = { ctx, sibling };
  SinopiaBuffer *acc[2], *inc[2];
  SinopiaRecorder *rec[2];
  const guint n_ops[2] = { 40, 25 };
  for (guint c = 0; c < 2; c++) {
    new_counter (ctxs[c], &acc[c], &inc[c]);
    rec[c] = sinopia_recorder_new (ctxs[c], &error);
    g_assert_no_error (error);
  }

  g_assert_false (sinopia_recorder_finish (rec[0], &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (sinopia_recorder_launch (rec[0], &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  for (guint c = 0; c < 2; c++)
    record_additions (rec[c], FALSE, acc[c], inc[c], n_ops[c]);
  g_assert_true (sinopia_recorder_launch (rec[0], &error));
  g_assert_true (sinopia_recorder_launch (rec[1], &error));
  g_assert_no_error (error);
  /* in flight: neither begins again before it is finished */
  g_assert_false (sinopia_recorder_begin (rec[0], FALSE, &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (sinopia_recorder_finish (rec[1], &error));
  g_assert_true (sinopia_recorder_finish (rec[0], &error));
  g_assert_no_error (error);
  for (guint c = 0; c < 2; c++)
    g_assert_cmpfloat (counter_value (acc[c]), ==, (float) n_ops[c]);

  /* launched and never finished: freeing the recorder waits before the buffers go */
  record_additions (rec[1], FALSE, acc[1], inc[1], 30);
  g_assert_true (sinopia_recorder_launch (rec[1], &error));
  sinopia_recorder_free (rec[1]);
  g_assert_cmpfloat (counter_value (acc[1]), ==, (float) (n_ops[1] + 30));

  sinopia_recorder_free (rec[0]);
  for (guint c = 0; c < 2; c++) {
    sinopia_buffer_free (acc[c]);
    sinopia_buffer_free (inc[c]);
  }
  check_validation_and_free (sibling);
  check_validation_and_free (ctx);
}

/* The pipeline cache survives a restart, and a corrupt cache file is ignored. */
static void
test_pipeline_cache (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("sinopia-cache-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv ("XDG_CACHE_HOME", dir, TRUE);
  g_unsetenv ("SINOPIA_NO_PIPELINE_CACHE");
  SinopiaRecorder *rec = NULL;
  SinopiaVkOptions opts = { .validation = TRUE, .persistent_pipeline_cache = TRUE };

  g_autofree char *sub = g_build_filename (dir, "sinopia", NULL);
  /* a sibling never writes the cache: that is its parent's */
  SinopiaVkContext *ctx = sinopia_vk_context_new (&opts, &error);
  SinopiaVkContext *sibling = sinopia_vk_context_new_sibling (ctx, &error);
  g_assert_no_error (error);
  record_chain (sibling, 2, FALSE, &rec);
  sinopia_recorder_free (rec);
  g_assert_cmpuint (sinopia_vk_context_pipelines_created (sibling), ==, 1);
  check_validation_and_free (sibling);
  g_assert_false (g_file_test (sub, G_FILE_TEST_EXISTS));
  check_validation_and_free (ctx);

  ctx = sinopia_vk_context_new (&opts, &error);
  g_assert_no_error (error);
  g_assert_false (sinopia_vk_context_pipeline_cache_loaded (ctx));
  record_chain (ctx, 2, FALSE, &rec);
  sinopia_recorder_free (rec);
  g_assert_cmpuint (sinopia_vk_context_pipelines_created (ctx), ==, 1);
  check_validation_and_free (ctx);

  g_autoptr (GDir) d = g_dir_open (sub, 0, &error);
  g_assert_no_error (error);
  const char *name = g_dir_read_name (d);
  g_assert_nonnull (name);
  g_autofree char *file = g_build_filename (sub, name, NULL);

  ctx = sinopia_vk_context_new (&opts, &error);
  g_assert_no_error (error);
  g_assert_true (sinopia_vk_context_pipeline_cache_loaded (ctx));
  /* but it reads what the parent wrote */
  sibling = sinopia_vk_context_new_sibling (ctx, &error);
  g_assert_no_error (error);
  g_assert_true (sinopia_vk_context_pipeline_cache_loaded (sibling));
  check_validation_and_free (sibling);
  record_chain (ctx, 2, FALSE, &rec);
  sinopia_recorder_free (rec);
  check_validation_and_free (ctx);

  g_assert_true (g_file_set_contents (file, "garbage, not a pipeline cache at all....", -1, &error));
  ctx = sinopia_vk_context_new (&opts, &error);
  g_assert_no_error (error);
  g_assert_false (sinopia_vk_context_pipeline_cache_loaded (ctx));
  record_chain (ctx, 2, FALSE, &rec);
  sinopia_recorder_free (rec);
  check_validation_and_free (ctx);

  g_remove (file);
  g_rmdir (sub);
  g_rmdir (dir);
  g_setenv ("SINOPIA_NO_PIPELINE_CACHE", "1", TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vk/device-selection", test_device_selection);
  g_test_add_func ("/vk/no-driver", test_no_driver);
  g_test_add_func ("/vk/setup-process/default", test_setup_process_default);
  g_test_add_func ("/vk/setup-process/user-choice", test_setup_process_user_choice);
  g_test_add_func ("/vk/tiny-max-allocation", test_tiny_max_allocation);
  g_test_add_func ("/vk/heap-limit", test_heap_limit);
  g_test_add_func ("/vk/transfers-mapped", test_transfers_mapped);
  g_test_add_func ("/vk/transfers-staged", test_transfers_staged);
  g_test_add_func ("/vk/suballocation", test_suballocation);
  g_test_add_func ("/vk/recorder-one-submission", test_recorder_one_submission);
  g_test_add_func ("/vk/recorder-profile", test_recorder_profile);
  g_test_add_func ("/vk/recorder-misuse", test_recorder_misuse);
  g_test_add_func ("/vk/recorder-side-by-side", test_recorder_side_by_side);
  g_test_add_func ("/vk/pipeline-cache", test_pipeline_cache);
  return g_test_run ();
}
