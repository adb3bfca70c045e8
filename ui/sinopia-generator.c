/* sinopia-generator.c — device, model and generations on one worker, reported on the main thread. */
#define G_LOG_DOMAIN "sinopia-generator"

#include <errno.h>
#include <math.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sinopia-edit.h"
#include "sinopia-generator.h"
#include "sinopia-inpaint.h"
#include "sinopia-job.h"
#include "sinopia-png.h"

struct _SinopiaGenerator {
  GObject parent_instance;
  SinopiaWorker *worker;
  SinopiaVkContext *ctx;
  SinopiaModel *model;
  SinopiaGeneratorState state;
  char *status;
  GError *error;
  struct Load *loading;   /* the load whose result is awaited */
  struct Run *current;    /* the run whose reports count; older ones are ignored */
  SinopiaJob *current_job;
};

G_DEFINE_FINAL_TYPE (SinopiaGenerator, sinopia_generator, G_TYPE_OBJECT)

enum { PROP_0, PROP_STATE, PROP_STATUS, N_PROPS };
static GParamSpec *properties[N_PROPS];

enum { PREVIEW, FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
set_state (SinopiaGenerator *self, SinopiaGeneratorState state, const char *status)
{
  if (status && g_strcmp0 (status, self->status))
    {
      g_free (self->status);
      self->status = g_strdup (status);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
    }
  if (self->state != state)
    {
      self->state = state;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
    }
}

/* ---- loading ---- */

/* Shared by the load job (worker) and its report (main thread); the last reference frees it. */
typedef struct Load {
  GWeakRef generator;
  char *model_dir, *device;
  int interface_niceness;
  SinopiaVkContext *ctx;
  SinopiaModel *model;
  GError *error;
} Load;

static void
load_clear (gpointer data)
{
  Load *load = data;
  g_weak_ref_clear (&load->generator);
  g_free (load->model_dir);
  g_free (load->device);
  sinopia_model_free (load->model);
  sinopia_vk_context_free (load->ctx);
  g_clear_error (&load->error);
}

static void
load_unref (gpointer load)
{
  g_atomic_rc_box_release_full (load, load_clear);
}

static gboolean
report_loaded (gpointer data)
{
  Load *load = data;
  g_autoptr (SinopiaGenerator) self = g_weak_ref_get (&load->generator);
  if (!self || self->loading != load)
    return G_SOURCE_REMOVE;
  self->loading = NULL;
  if (load->error)
    {
      g_clear_error (&self->error);
      self->error = g_error_copy (load->error);
      g_autofree char *status = g_strdup_printf ("%s %s", load->error->message,
                                                 sinopia_generator_error_advice (load->error));
      set_state (self, SINOPIA_GENERATOR_FAILED, status);
      return G_SOURCE_REMOVE;
    }
  self->ctx = g_steal_pointer (&load->ctx);
  self->model = g_steal_pointer (&load->model);
  g_autofree char *status = g_strdup_printf ("%s on %s", sinopia_model_info (self->model)->name,
                                             sinopia_vk_context_device_info (self->ctx)->name);
  set_state (self, SINOPIA_GENERATOR_READY, status);
  return G_SOURCE_REMOVE;
}

/* The engine's threads yield to the interface: the worker lowers its own priority before the
 * device is made, and the driver's threads (lavapipe computes on a pool it starts with the
 * device) inherit it. Painting and typing then stay smooth while a generation takes every core. */
#define ENGINE_NICENESS 5

/* Sets the calling thread ENGINE_NICENESS below `base`, the interface thread's niceness. */
static void
lower_worker_priority (int base)
{
  if (setpriority (PRIO_PROCESS, (id_t) gettid (), MIN (base + ENGINE_NICENESS, 19)) != 0)
    g_debug ("could not lower the engine's priority: %s", g_strerror (errno));
}

static gboolean
load_job (gpointer data, const gint *cancel, GError **error)
{
  Load *load = data;
  g_autofree char *found = NULL;
  lower_worker_priority (load->interface_niceness);
  const char *dir = load->model_dir;
  SinopiaVkOptions options = { .device = load->device, .persistent_pipeline_cache = TRUE };
  if (!(load->ctx = sinopia_vk_context_new (&options, &load->error)))
    goto out;
  if (!dir && !sinopia_model_find_default (&found, &load->error))
    goto out;
  if (!(load->model = sinopia_model_load (load->ctx, dir ? dir : found, &load->error)))
    goto out;
  /* fitted now, so the first generation's first preview does not wait for it */
  if (!sinopia_model_preview_map (load->model, &load->error))
    g_clear_pointer (&load->model, sinopia_model_free);
out:;
  /* Valid until this job ends: the generator frees the model it takes only after the worker. */
  SinopiaModel *model = load->model;
  g_idle_add_full (G_PRIORITY_DEFAULT, report_loaded, g_atomic_rc_box_acquire (load), load_unref);
  /* The model is ready; the driver's shaders are compiled on first use, which on a machine that
   * never ran them takes tens of seconds. Do it now, while the user writes a prompt: a run
   * submitted meanwhile replaces this job, which cancels the warm-up. */
  g_autoptr (GError) warm_error = NULL;
  if (model && !sinopia_generate_warm_up (model, cancel, &warm_error))
    g_debug ("warm-up stopped: %s", warm_error->message);
  return TRUE;
}

void
sinopia_generator_load (SinopiaGenerator *self, const char *model_dir, const char *device)
{
  g_return_if_fail (SINOPIA_IS_GENERATOR (self));
  g_return_if_fail (self->state == SINOPIA_GENERATOR_IDLE || self->state == SINOPIA_GENERATOR_FAILED);
  Load *load = g_atomic_rc_box_new0 (Load);
  g_weak_ref_init (&load->generator, self);
  load->model_dir = model_dir && *model_dir ? g_strdup (model_dir) : NULL;
  load->device = device && *device ? g_strdup (device) : NULL;
  errno = 0;
  load->interface_niceness = getpriority (PRIO_PROCESS, (id_t) gettid ());
  if (errno)
    load->interface_niceness = 0;
  self->loading = load;
  g_clear_error (&self->error);
  set_state (self, SINOPIA_GENERATOR_LOADING, "Loading the model…");
  g_autoptr (SinopiaJob) job = sinopia_worker_submit (self->worker, load_job, load, load_unref, SINOPIA_JOB_WAIT);
}

/* ---- generating ---- */

typedef struct Run {
  GWeakRef generator;
  SinopiaModel *model;  /* borrowed: the worker ends before the generator frees the model */
  SinopiaComposition *composition;
  SinopiaGenerationSettings settings;
  GArray *regions;      /* Generate: SinopiaRegion, pointing into composition and masks */
  GPtrArray *masks;     /* Generate: each region's own pixels */
  guint8 *input_rgb;    /* Inpaint, Edit: the input image, or NULL (Edit then paints its reference) */
  guint8 *inpaint_mask; /* Inpaint: the union of the visible regions */
  gint64 start;
  /* the newest preview, handed from the worker to the main thread */
  GMutex lock;
  GBytes *preview;
  uint32_t preview_width, preview_height;
  guint step, n_steps;
  gint64 first_step, last_step;  /* when the first and the newest step ended */
  gboolean preview_pending;
  /* the outcome */
  SinopiaImage *image;
  GBytes *png;          /* the image as a PNG file, encoded here on the worker */
  GError *error;
} Run;

static void
run_clear (gpointer data)
{
  Run *run = data;
  g_weak_ref_clear (&run->generator);
  sinopia_composition_free (run->composition);
  g_array_unref (run->regions);
  g_ptr_array_unref (run->masks);
  g_free (run->input_rgb);
  g_free (run->inpaint_mask);
  g_mutex_clear (&run->lock);
  g_clear_pointer (&run->preview, g_bytes_unref);
  sinopia_image_free (run->image);
  g_clear_pointer (&run->png, g_bytes_unref);
  g_clear_error (&run->error);
}

static void
run_unref (gpointer run)
{
  g_atomic_rc_box_release_full (run, run_clear);
}

static gboolean
report_preview (gpointer data)
{
  Run *run = data;
  g_autoptr (SinopiaGenerator) self = g_weak_ref_get (&run->generator);
  g_mutex_lock (&run->lock);
  g_autoptr (GBytes) rgb = g_steal_pointer (&run->preview);
  guint step = run->step, n_steps = run->n_steps;
  uint32_t width = run->preview_width, height = run->preview_height;
  gint64 first_step = run->first_step, last_step = run->last_step;
  run->preview_pending = FALSE;
  g_mutex_unlock (&run->lock);
  if (!self || self->current != run || !rgb)
    return G_SOURCE_REMOVE;
  /* from the steps' own pace once there are two (the first also holds the text encoding) */
  double per_step = step >= 2 ? (last_step - first_step) / 1e6 / (step - 1) : (last_step - run->start) / 1e6;
  double eta = per_step * (n_steps - step);
  g_autoptr (GdkTexture) texture = gdk_memory_texture_new ((int) width, (int) height, GDK_MEMORY_R8G8B8, rgb,
                                                           (gsize) width * 3);
  g_signal_emit (self, signals[PREVIEW], 0, texture, step, n_steps, eta);
  return G_SOURCE_REMOVE;
}

/* On the worker after every step: keep only the newest preview, wake the main thread once. */
static gboolean
on_step (const SinopiaStepInfo *info, gpointer data)
{
  Run *run = data;
  if (!info->preview_rgb)
    return TRUE;
  GBytes *rgb = g_bytes_new (info->preview_rgb, (gsize) info->preview_width * info->preview_height * 3);
  g_mutex_lock (&run->lock);
  g_clear_pointer (&run->preview, g_bytes_unref);
  run->preview = rgb;
  run->preview_width = info->preview_width;
  run->preview_height = info->preview_height;
  run->step = info->step + 1;
  run->last_step = g_get_monotonic_time ();
  if (info->step == 0)
    run->first_step = run->last_step;
  run->n_steps = info->n_steps;
  gboolean schedule = !run->preview_pending;
  run->preview_pending = TRUE;
  g_mutex_unlock (&run->lock);
  if (schedule)
    g_idle_add_full (G_PRIORITY_DEFAULT, report_preview, g_atomic_rc_box_acquire (run), run_unref);
  return TRUE;
}

static gboolean
report_finished (gpointer data)
{
  Run *run = data;
  g_autoptr (SinopiaGenerator) self = g_weak_ref_get (&run->generator);
  if (!self || self->current != run)
    return G_SOURCE_REMOVE;
  self->current = NULL;
  g_clear_pointer (&self->current_job, sinopia_job_unref);
  set_state (self, SINOPIA_GENERATOR_READY, NULL);
  g_signal_emit (self, signals[FINISHED], 0, run->image, run->png, run->error);
  return G_SOURCE_REMOVE;
}

/* The one place where a composition becomes engine parameters. */
static void
fill_params (const Run *run, SinopiaGenerateParams *params)
{
  sinopia_generate_params_init (params);
  params->prompt = run->composition->prompt;
  params->negative = run->composition->negative;
  params->width = run->composition->width;
  params->height = run->composition->height;
  params->steps = run->settings.steps;
  params->seed = run->settings.seed;
  params->guidance = (float) run->settings.guidance;
  params->preview = TRUE;
  params->regions = (const SinopiaRegion *) run->regions->data;
  params->n_regions = run->regions->len;
  params->base_ratio = (float) run->settings.base_ratio;
  params->mask_inject_steps = run->settings.mask_inject_steps;
  params->double_interval = run->settings.double_interval;
  params->single_interval = run->settings.single_interval;
}

/* The engine's regions: the visible regions with a prompt, in list order, each with the pixels
 * it owns (a pixel belongs to the topmost region that covers it, as the canvas shows it); regions
 * left without pixels are dropped. The masks live in `run`. */
static gboolean
collect_regions (Run *run, GError **error)
{
  const SinopiaComposition *c = run->composition;
  gsize n = (gsize) c->width * c->height;
  g_autofree guint8 *taken = g_malloc0 (n);
  for (guint i = 0; i < c->regions->len; i++)
    {
      const SinopiaDocRegion *region = g_ptr_array_index (c->regions, i);
      if (!region->visible || !*region->prompt)
        continue;
      guint8 *mask = g_malloc0 (n);
      gsize inside = 0;
      for (gsize p = 0; p < n; p++)
        if (region->mask[p] && !taken[p])
          {
            mask[p] = taken[p] = 1;
            inside++;
          }
      if (!inside)
        {
          g_free (mask);
          continue;
        }
      g_ptr_array_add (run->masks, mask);
      SinopiaRegion engine_region = { .prompt = region->prompt, .mask = mask };
      g_array_append_val (run->regions, engine_region);
    }
  if (run->regions->len > SINOPIA_MAX_REGIONS)
    {
      g_set_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT,
                   "%u regions have a prompt and are visible; the engine paints at most %d at once. Hide or "
                   "delete some.", run->regions->len, SINOPIA_MAX_REGIONS);
      return FALSE;
    }
  return TRUE;
}

/* Inpaint: KV-Edit inside the visible regions' union; the base prompt says what to paint there,
 * the source prompt what the input shows. */
static SinopiaImage *
inpaint (Run *run, const gint *cancel, GError **error)
{
  SinopiaInpaintParams params;
  sinopia_inpaint_params_init (&params);
  params.image = run->input_rgb;
  params.mask = run->inpaint_mask;
  params.width = run->composition->width;
  params.height = run->composition->height;
  params.source_prompt = run->composition->source_prompt;
  params.prompt = run->composition->prompt;
  params.negative = run->composition->negative;
  params.steps = run->settings.steps;
  params.seed = run->settings.seed;
  params.guidance = (float) run->settings.guidance;
  params.preview = TRUE;
  return sinopia_inpaint (run->model, &params, cancel, on_step, run, error);
}

/* Edit: Stable Flow from the source prompt to the base (target) prompt, on the input image when
 * there is one, else on the reference the seed paints. */
static SinopiaImage *
edit (Run *run, const gint *cancel, GError **error)
{
  SinopiaEditParams params;
  sinopia_edit_params_init (&params);
  params.image = run->input_rgb;
  params.width = run->composition->width;
  params.height = run->composition->height;
  params.source_prompt = run->composition->source_prompt;
  params.prompt = run->composition->prompt;
  params.negative = run->composition->negative;
  params.steps = run->settings.steps;
  params.seed = run->settings.seed;
  params.guidance = (float) run->settings.guidance;
  params.n_vital_layers = -1;
  params.preview = TRUE;
  return sinopia_edit (run->model, &params, cancel, on_step, run, NULL, error);
}

static gboolean
run_job (gpointer data, const gint *cancel, GError **error)
{
  Run *run = data;
  SinopiaGenerateParams params;
  switch (run->settings.mode)
    {
    case SINOPIA_MODE_GENERATE:
      fill_params (run, &params);
      run->image = sinopia_generate (run->model, &params, cancel, on_step, run, &run->error);
      break;
    case SINOPIA_MODE_INPAINT:
      run->image = inpaint (run, cancel, &run->error);
      break;
    case SINOPIA_MODE_EDIT:
      run->image = edit (run, cancel, &run->error);
      break;
    }
  if (run->image)
    run->png = sinopia_png_encode_rgb (run->image->rgb, run->image->width, run->image->height, NULL, NULL);
  g_idle_add_full (G_PRIORITY_DEFAULT, report_finished, g_atomic_rc_box_acquire (run), run_unref);
  return TRUE;
}

/* What each mode needs from the document, checked before anything runs, in words that say what
 * to do. */
static gboolean
prepare (Run *run, const guint8 *input_rgb, GError **error)
{
  const SinopiaComposition *c = run->composition;
  gsize n = (gsize) c->width * c->height;
  if (input_rgb)
    run->input_rgb = g_memdup2 (input_rgb, n * 3);
  switch (run->settings.mode)
    {
    case SINOPIA_MODE_GENERATE:
      return collect_regions (run, error);
    case SINOPIA_MODE_INPAINT:
      if (!input_rgb)
        {
          g_set_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT,
                       "Inpaint works on an input image: open one, or show a result and press Use as Input.");
          return FALSE;
        }
      run->inpaint_mask = g_malloc0 (n);
      gboolean any = FALSE;
      for (guint i = 0; i < c->regions->len; i++)
        {
          const SinopiaDocRegion *region = g_ptr_array_index (c->regions, i);
          for (gsize p = 0; region->visible && p < n; p++)
            if (region->mask[p])
              any = run->inpaint_mask[p] = 1;
        }
      if (!any)
        {
          g_set_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT,
                       "Paint the area to repaint first: the brush or a region marks it.");
          return FALSE;
        }
      return TRUE;
    case SINOPIA_MODE_EDIT:
      if (!*c->source_prompt)
        {
          g_set_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT,
                       "Edit needs a source prompt that describes the picture as it is.");
          return FALSE;
        }
      return TRUE;
    }
  g_return_val_if_reached (FALSE);
}

/* A run of the arguments (copied), with everything it needs checked; NULL with the reason. */
static Run *
run_new (SinopiaGenerator *self, const SinopiaComposition *composition, const SinopiaGenerationSettings *settings,
         const guint8 *input_rgb, GError **error)
{
  if (!self->model)
    {
      g_set_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_INPUT,
                   self->state == SINOPIA_GENERATOR_LOADING ? "The model is still loading; try again in a moment."
                                                            : "No model is loaded.");
      return NULL;
    }
  if (!sinopia_generate_check_size (sinopia_model_info (self->model), composition->width, composition->height,
                                    error))
    return NULL;
  Run *run = g_atomic_rc_box_new0 (Run);
  g_weak_ref_init (&run->generator, self);
  g_mutex_init (&run->lock);
  run->model = self->model;
  run->composition = sinopia_composition_copy (composition);
  run->settings = *settings;
  run->regions = g_array_new (FALSE, FALSE, sizeof (SinopiaRegion));
  run->masks = g_ptr_array_new_with_free_func (g_free);
  run->start = g_get_monotonic_time ();
  if (!prepare (run, input_rgb, error))
    {
      run_unref (run);
      return NULL;
    }
  return run;
}

gboolean
sinopia_generator_check (SinopiaGenerator *self, const SinopiaComposition *composition,
                         const SinopiaGenerationSettings *settings, const guint8 *input_rgb, GError **error)
{
  g_return_val_if_fail (SINOPIA_IS_GENERATOR (self), FALSE);
  Run *run = run_new (self, composition, settings, input_rgb, error);
  if (!run)
    return FALSE;
  run_unref (run);
  return TRUE;
}

gboolean
sinopia_generator_run (SinopiaGenerator *self, const SinopiaComposition *composition,
                       const SinopiaGenerationSettings *settings, const guint8 *input_rgb, GError **error)
{
  g_return_val_if_fail (SINOPIA_IS_GENERATOR (self), FALSE);
  Run *run = run_new (self, composition, settings, input_rgb, error);
  if (!run)
    return FALSE;
  self->current = run;
  g_clear_pointer (&self->current_job, sinopia_job_unref);
  self->current_job = sinopia_worker_submit (self->worker, run_job, run, run_unref, SINOPIA_JOB_REPLACE);
  set_state (self, SINOPIA_GENERATOR_RUNNING, NULL);
  return TRUE;
}

void
sinopia_generator_cancel (SinopiaGenerator *self)
{
  g_return_if_fail (SINOPIA_IS_GENERATOR (self));
  if (self->current_job)
    sinopia_job_cancel (self->current_job);
}

void
sinopia_generator_discard (SinopiaGenerator *self)
{
  g_return_if_fail (SINOPIA_IS_GENERATOR (self));
  if (!self->current)
    return;
  /* the cancelled job stays referenced until the next run replaces it, so this never waits for
   * the worker; its reports find another current run, or none, and are ignored */
  sinopia_job_cancel (self->current_job);
  self->current = NULL;
  set_state (self, SINOPIA_GENERATOR_READY, NULL);
}

/* ---- object ---- */

static void
sinopia_generator_dispose (GObject *object)
{
  SinopiaGenerator *self = SINOPIA_GENERATOR (object);
  /* cancels the running job and waits for it, so nothing uses the model after this */
  g_clear_pointer (&self->current_job, sinopia_job_unref);
  g_clear_pointer (&self->worker, sinopia_worker_free);
  g_clear_pointer (&self->model, sinopia_model_free);
  g_clear_pointer (&self->ctx, sinopia_vk_context_free);
  self->current = NULL;
  self->loading = NULL;
  G_OBJECT_CLASS (sinopia_generator_parent_class)->dispose (object);
}

static void
sinopia_generator_finalize (GObject *object)
{
  SinopiaGenerator *self = SINOPIA_GENERATOR (object);
  g_free (self->status);
  g_clear_error (&self->error);
  G_OBJECT_CLASS (sinopia_generator_parent_class)->finalize (object);
}

static void
sinopia_generator_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  SinopiaGenerator *self = SINOPIA_GENERATOR (object);
  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_int (value, self->state);
      break;
    case PROP_STATUS:
      g_value_set_string (value, self->status);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sinopia_generator_class_init (SinopiaGeneratorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->dispose = sinopia_generator_dispose;
  object_class->finalize = sinopia_generator_finalize;
  object_class->get_property = sinopia_generator_get_property;
  properties[PROP_STATE] = g_param_spec_int ("state", NULL, NULL, SINOPIA_GENERATOR_IDLE, SINOPIA_GENERATOR_FAILED,
                                             SINOPIA_GENERATOR_IDLE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATUS] = g_param_spec_string ("status", NULL, NULL, NULL,
                                                 G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  signals[PREVIEW] = g_signal_new ("preview", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                   G_TYPE_NONE, 4, GDK_TYPE_TEXTURE, G_TYPE_UINT, G_TYPE_UINT, G_TYPE_DOUBLE);
  signals[FINISHED] = g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                    G_TYPE_NONE, 3, G_TYPE_POINTER, G_TYPE_BYTES, G_TYPE_ERROR);
}

static void
sinopia_generator_init (SinopiaGenerator *self)
{
  self->worker = sinopia_worker_new ("sinopia-engine");
  self->status = g_strdup ("");
}

SinopiaGenerator *
sinopia_generator_new (void)
{
  return g_object_new (SINOPIA_TYPE_GENERATOR, NULL);
}

SinopiaGeneratorState
sinopia_generator_get_state (SinopiaGenerator *self)
{
  g_return_val_if_fail (SINOPIA_IS_GENERATOR (self), SINOPIA_GENERATOR_FAILED);
  return self->state;
}

const char *
sinopia_generator_get_status (SinopiaGenerator *self)
{
  g_return_val_if_fail (SINOPIA_IS_GENERATOR (self), NULL);
  return self->status;
}

const GError *
sinopia_generator_get_error (SinopiaGenerator *self)
{
  g_return_val_if_fail (SINOPIA_IS_GENERATOR (self), NULL);
  return self->error;
}

const SinopiaModelInfo *
sinopia_generator_get_model_info (SinopiaGenerator *self)
{
  g_return_val_if_fail (SINOPIA_IS_GENERATOR (self), NULL);
  return self->model ? sinopia_model_info (self->model) : NULL;
}

const char *
sinopia_generator_error_advice (const GError *error)
{
  if (error->domain == SINOPIA_VK_ERROR)
    switch (error->code)
      {
      case SINOPIA_VK_ERROR_NO_DRIVER:
      case SINOPIA_VK_ERROR_NO_DEVICE:
        return "Install a Vulkan driver (on Debian: mesa-vulkan-drivers for the CPU driver), or choose another "
               "device in Preferences, then press Retry.";
      case SINOPIA_VK_ERROR_OUT_OF_MEMORY:
        return "The device ran out of memory: choose a smaller size, or close other programs that use the "
               "graphics card, then try again.";
      case SINOPIA_VK_ERROR_DEVICE_LOST:
        return "The graphics device stopped responding: press Retry to open it again.";
      default:
        return "Press Retry; if it fails again, choose another device in Preferences.";
      }
  if (error->domain == SINOPIA_MODEL_ERROR)
    return error->code == SINOPIA_MODEL_ERROR_NOT_FOUND
             ? "Choose a model folder in Preferences (or set SINOPIA_MODEL), then press Retry."
             : "The model folder is incomplete or damaged: choose another one in Preferences, then press Retry.";
  if (g_error_matches (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_SIZE))
    return "Change the size in the parameters.";
  return "Your work is kept; correct the problem and try again.";
}
