/* sinopia-undo.c — bounded undo/redo stacks of composition snapshots. */
#define G_LOG_DOMAIN "sinopia-undo"

#include "sinopia-undo.h"

struct _SinopiaUndoStack {
  GPtrArray *undo;  /* SinopiaComposition*, oldest first */
  GPtrArray *redo;  /* SinopiaComposition*, next redo last */
  char *last_key;
  gint64 last_time;
};

SinopiaUndoStack *
sinopia_undo_stack_new (void)
{
  SinopiaUndoStack *stack = g_new0 (SinopiaUndoStack, 1);
  stack->undo = g_ptr_array_new_with_free_func ((GDestroyNotify) sinopia_composition_free);
  stack->redo = g_ptr_array_new_with_free_func ((GDestroyNotify) sinopia_composition_free);
  return stack;
}

void
sinopia_undo_stack_free (SinopiaUndoStack *stack)
{
  if (!stack)
    return;
  g_ptr_array_unref (stack->undo);
  g_ptr_array_unref (stack->redo);
  g_free (stack->last_key);
  g_free (stack);
}

void
sinopia_undo_stack_record (SinopiaUndoStack *stack, const SinopiaComposition *before, const char *key)
{
  gint64 now = g_get_monotonic_time ();
  gboolean coalesce = key && stack->last_key && g_str_equal (key, stack->last_key) && stack->undo->len > 0
                      && stack->redo->len == 0 && now - stack->last_time < SINOPIA_UNDO_COALESCE_US;
  g_free (stack->last_key);
  stack->last_key = g_strdup (key);
  stack->last_time = now;
  if (coalesce)
    return;
  g_ptr_array_set_size (stack->redo, 0);
  if (stack->undo->len == SINOPIA_UNDO_DEPTH)
    g_ptr_array_remove_index (stack->undo, 0);
  g_ptr_array_add (stack->undo, sinopia_composition_copy (before));
}

void
sinopia_undo_stack_clear (SinopiaUndoStack *stack)
{
  g_ptr_array_set_size (stack->undo, 0);
  g_ptr_array_set_size (stack->redo, 0);
  g_clear_pointer (&stack->last_key, g_free);
}

gboolean
sinopia_undo_stack_can_undo (const SinopiaUndoStack *stack)
{
  return stack->undo->len > 0;
}

gboolean
sinopia_undo_stack_can_redo (const SinopiaUndoStack *stack)
{
  return stack->redo->len > 0;
}

/* Moves the newest state of `from` into *current and *current onto `to`. */
static gboolean
swap (SinopiaUndoStack *stack, GPtrArray *from, GPtrArray *to, SinopiaComposition **current)
{
  if (from->len == 0)
    return FALSE;
  g_ptr_array_add (to, *current);
  *current = g_ptr_array_steal_index (from, from->len - 1);
  /* the next keystroke starts a new undo step */
  g_clear_pointer (&stack->last_key, g_free);
  return TRUE;
}

gboolean
sinopia_undo_stack_undo (SinopiaUndoStack *stack, SinopiaComposition **current)
{
  return swap (stack, stack->undo, stack->redo, current);
}

gboolean
sinopia_undo_stack_redo (SinopiaUndoStack *stack, SinopiaComposition **current)
{
  return swap (stack, stack->redo, stack->undo, current);
}
