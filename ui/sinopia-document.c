/* sinopia-document.c — the project with undo, selection and the modified flag. */
#define G_LOG_DOMAIN "sinopia-document"

#include <string.h>

#include "sinopia-document.h"
#include "sinopia-undo.h"

struct _SinopiaDocument {
  GObject parent_instance;
  SinopiaProject *project;
  SinopiaUndoStack *undo;
  guint selected;
  gboolean modified;
};

G_DEFINE_FINAL_TYPE (SinopiaDocument, sinopia_document, G_TYPE_OBJECT)

enum { PROP_0, PROP_SELECTED_REGION, PROP_MODIFIED, N_PROPS };
static GParamSpec *properties[N_PROPS];

enum { CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
sinopia_document_finalize (GObject *object)
{
  SinopiaDocument *self = SINOPIA_DOCUMENT (object);
  sinopia_project_free (self->project);
  sinopia_undo_stack_free (self->undo);
  G_OBJECT_CLASS (sinopia_document_parent_class)->finalize (object);
}

static void
sinopia_document_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  SinopiaDocument *self = SINOPIA_DOCUMENT (object);
  switch (prop_id)
    {
    case PROP_SELECTED_REGION:
      g_value_set_uint (value, self->selected);
      break;
    case PROP_MODIFIED:
      g_value_set_boolean (value, self->modified);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sinopia_document_class_init (SinopiaDocumentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->finalize = sinopia_document_finalize;
  object_class->get_property = sinopia_document_get_property;
  properties[PROP_SELECTED_REGION] = g_param_spec_uint ("selected-region", NULL, NULL, 0, G_MAXUINT, 0,
                                                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_MODIFIED] = g_param_spec_boolean ("modified", NULL, NULL, FALSE,
                                                    G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  /* changed (SinopiaChange what): after every change, with the parts that changed */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                   G_TYPE_NONE, 1, G_TYPE_UINT);
}

static void
sinopia_document_init (SinopiaDocument *self)
{
  self->undo = sinopia_undo_stack_new ();
}

SinopiaDocument *
sinopia_document_new (uint32_t width, uint32_t height)
{
  SinopiaDocument *self = g_object_new (SINOPIA_TYPE_DOCUMENT, NULL);
  self->project = sinopia_project_new (width, height);
  return self;
}

void
sinopia_document_set_modified (SinopiaDocument *self, gboolean modified)
{
  g_return_if_fail (SINOPIA_IS_DOCUMENT (self));
  if (self->modified == !!modified)
    return;
  self->modified = !!modified;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODIFIED]);
}

gboolean
sinopia_document_get_modified (SinopiaDocument *self)
{
  g_return_val_if_fail (SINOPIA_IS_DOCUMENT (self), FALSE);
  return self->modified;
}

void
sinopia_document_changed (SinopiaDocument *self, SinopiaChange what)
{
  g_return_if_fail (SINOPIA_IS_DOCUMENT (self));
  /* a selection whose region went away (delete, undo) is dropped */
  if (self->selected && !sinopia_composition_find (self->project->composition, self->selected, NULL))
    sinopia_document_select (self, 0);
  sinopia_document_set_modified (self, TRUE);
  g_signal_emit (self, signals[CHANGED], 0, (guint) what);
}

void
sinopia_document_set_project (SinopiaDocument *self, SinopiaProject *project)
{
  g_return_if_fail (SINOPIA_IS_DOCUMENT (self));
  sinopia_project_free (self->project);
  self->project = project;
  sinopia_undo_stack_clear (self->undo);
  sinopia_document_changed (self, SINOPIA_CHANGE_ALL);
  sinopia_document_set_modified (self, FALSE);
}

const SinopiaProject *
sinopia_document_get_project (SinopiaDocument *self)
{
  g_return_val_if_fail (SINOPIA_IS_DOCUMENT (self), NULL);
  return self->project;
}

const SinopiaComposition *
sinopia_document_get_composition (SinopiaDocument *self)
{
  g_return_val_if_fail (SINOPIA_IS_DOCUMENT (self), NULL);
  return self->project->composition;
}

SinopiaComposition *
sinopia_document_begin_edit (SinopiaDocument *self, const char *key)
{
  g_return_val_if_fail (SINOPIA_IS_DOCUMENT (self), NULL);
  sinopia_undo_stack_record (self->undo, self->project->composition, key);
  return self->project->composition;
}

void
sinopia_document_end_edit (SinopiaDocument *self, SinopiaChange what)
{
  sinopia_document_changed (self, what);
}

SinopiaGenerationSettings *
sinopia_document_get_settings (SinopiaDocument *self)
{
  g_return_val_if_fail (SINOPIA_IS_DOCUMENT (self), NULL);
  return &self->project->settings;
}

gboolean
sinopia_document_can_undo (SinopiaDocument *self)
{
  return sinopia_undo_stack_can_undo (self->undo);
}

gboolean
sinopia_document_can_redo (SinopiaDocument *self)
{
  return sinopia_undo_stack_can_redo (self->undo);
}

/* The input image keeps its size through undo and redo: a composition restored from before the
 * image was opened is scaled to it. */
static gboolean
swap (SinopiaDocument *self, gboolean (*step) (SinopiaUndoStack *, SinopiaComposition **))
{
  SinopiaProject *p = self->project;
  uint32_t width = p->composition->width, height = p->composition->height;
  if (!step (self->undo, &p->composition))
    return FALSE;
  gboolean resized = p->composition->width != width || p->composition->height != height;
  if (p->input_rgb && resized)
    sinopia_composition_resize (p->composition, width, height);
  sinopia_document_changed (self, SINOPIA_CHANGE_COMPOSITION | (resized && !p->input_rgb ? SINOPIA_CHANGE_IMAGE : 0));
  return TRUE;
}

gboolean
sinopia_document_undo (SinopiaDocument *self)
{
  g_return_val_if_fail (SINOPIA_IS_DOCUMENT (self), FALSE);
  return swap (self, sinopia_undo_stack_undo);
}

gboolean
sinopia_document_redo (SinopiaDocument *self)
{
  g_return_val_if_fail (SINOPIA_IS_DOCUMENT (self), FALSE);
  return swap (self, sinopia_undo_stack_redo);
}

guint
sinopia_document_add_region (SinopiaDocument *self)
{
  g_return_val_if_fail (SINOPIA_IS_DOCUMENT (self), 0);
  if (self->project->composition->regions->len >= SINOPIA_COMPOSITION_MAX_REGIONS)
    return 0;
  SinopiaDocRegion *region = sinopia_composition_add_region (sinopia_document_begin_edit (self, NULL));
  sinopia_document_end_edit (self, SINOPIA_CHANGE_REGIONS);
  sinopia_document_select (self, region->id);
  return region->id;
}

void
sinopia_document_delete_region (SinopiaDocument *self, guint id)
{
  guint index;
  g_return_if_fail (SINOPIA_IS_DOCUMENT (self));
  if (!sinopia_composition_find (self->project->composition, id, &index))
    return;
  sinopia_composition_remove (sinopia_document_begin_edit (self, NULL), index);
  sinopia_document_end_edit (self, SINOPIA_CHANGE_REGIONS);
}

void
sinopia_document_move_region (SinopiaDocument *self, guint id, int delta)
{
  guint index;
  g_return_if_fail (SINOPIA_IS_DOCUMENT (self));
  if (!sinopia_composition_find (self->project->composition, id, &index))
    return;
  int to = CLAMP ((int) index + delta, 0, (int) self->project->composition->regions->len - 1);
  if (to == (int) index)
    return;
  sinopia_composition_move (sinopia_document_begin_edit (self, NULL), index, (guint) to);
  sinopia_document_end_edit (self, SINOPIA_CHANGE_REGIONS);
}

void
sinopia_document_set_region_visible (SinopiaDocument *self, guint id, gboolean visible)
{
  g_return_if_fail (SINOPIA_IS_DOCUMENT (self));
  SinopiaDocRegion *region = sinopia_composition_find (self->project->composition, id, NULL);
  if (!region || region->visible == !!visible)
    return;
  sinopia_document_begin_edit (self, NULL);
  region->visible = !!visible;
  sinopia_document_end_edit (self, SINOPIA_CHANGE_REGIONS);
}

void
sinopia_document_set_region_prompt (SinopiaDocument *self, guint id, const char *prompt)
{
  g_return_if_fail (SINOPIA_IS_DOCUMENT (self));
  SinopiaDocRegion *region = sinopia_composition_find (self->project->composition, id, NULL);
  if (!region || g_str_equal (region->prompt, prompt))
    return;
  g_autofree char *key = g_strdup_printf ("region-prompt-%u", id);
  sinopia_document_begin_edit (self, key);
  g_free (region->prompt);
  region->prompt = g_strdup (prompt);
  sinopia_document_end_edit (self, SINOPIA_CHANGE_REGIONS);
}

void
sinopia_document_set_prompt (SinopiaDocument *self, const char *which, const char *text)
{
  g_return_if_fail (SINOPIA_IS_DOCUMENT (self));
  SinopiaComposition *c = self->project->composition;
  char **field = g_str_equal (which, "prompt") ? &c->prompt
                 : g_str_equal (which, "negative") ? &c->negative
                 : g_str_equal (which, "source_prompt") ? &c->source_prompt
                 : NULL;
  g_return_if_fail (field != NULL);
  if (g_str_equal (*field, text))
    return;
  sinopia_document_begin_edit (self, which);
  g_free (*field);
  *field = g_strdup (text);
  sinopia_document_end_edit (self, SINOPIA_CHANGE_PROMPTS);
}

void
sinopia_document_set_input (SinopiaDocument *self, guint8 *rgb, GBytes *png, uint32_t width, uint32_t height)
{
  g_return_if_fail (SINOPIA_IS_DOCUMENT (self));
  SinopiaProject *p = self->project;
  if (p->composition->width != width || p->composition->height != height)
    sinopia_composition_resize (sinopia_document_begin_edit (self, NULL), width, height);
  g_free (p->input_rgb);
  p->input_rgb = rgb;
  g_clear_pointer (&p->input_png, g_bytes_unref);
  p->input_png = rgb && png ? g_bytes_ref (png) : NULL;
  p->shown = -1;
  sinopia_document_changed (self, SINOPIA_CHANGE_IMAGE | SINOPIA_CHANGE_MASKS | SINOPIA_CHANGE_HISTORY);
}

void
sinopia_document_add_history (SinopiaDocument *self, SinopiaHistoryItem *item)
{
  g_return_if_fail (SINOPIA_IS_DOCUMENT (self));
  GPtrArray *history = self->project->history;
  if (history->len == SINOPIA_PROJECT_MAX_HISTORY)
    g_ptr_array_remove_index (history, 0);
  g_ptr_array_add (history, item);
  self->project->shown = (int) history->len - 1;
  sinopia_document_changed (self, SINOPIA_CHANGE_HISTORY);
}

void
sinopia_document_show (SinopiaDocument *self, int index)
{
  g_return_if_fail (SINOPIA_IS_DOCUMENT (self));
  g_return_if_fail (index >= -1 && index < (int) self->project->history->len);
  if (self->project->shown == index)
    return;
  self->project->shown = index;
  sinopia_document_changed (self, SINOPIA_CHANGE_HISTORY);
}

guint
sinopia_document_get_selected (SinopiaDocument *self)
{
  g_return_val_if_fail (SINOPIA_IS_DOCUMENT (self), 0);
  return self->selected;
}

void
sinopia_document_select (SinopiaDocument *self, guint id)
{
  g_return_if_fail (SINOPIA_IS_DOCUMENT (self));
  if (id && !sinopia_composition_find (self->project->composition, id, NULL))
    id = 0;
  if (self->selected == id)
    return;
  self->selected = id;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_REGION]);
}
