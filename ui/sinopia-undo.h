/* sinopia-undo.h — undo and redo of composition edits (prompts and regions) as whole snapshots:
 * before an edit the caller records the composition as it was; undo swaps the current one with
 * the newest record. Snapshots are small (prompts plus one byte per pixel per region) and the
 * stack is bounded, so this stays simple and exact.
 *
 * Typing coalesces: a record with the same non-NULL key as the previous one, made within
 * SINOPIA_UNDO_COALESCE_US of it, is dropped, so one undo removes a burst of typing in one field.
 *
 * Ownership: the stack owns its snapshots. Threads: the main thread.
 */
#pragma once

#include "sinopia-composition.h"

G_BEGIN_DECLS

#define SINOPIA_UNDO_DEPTH 100
#define SINOPIA_UNDO_COALESCE_US (1 * G_USEC_PER_SEC)

typedef struct _SinopiaUndoStack SinopiaUndoStack;

SinopiaUndoStack *sinopia_undo_stack_new (void);
void sinopia_undo_stack_free (SinopiaUndoStack *stack);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SinopiaUndoStack, sinopia_undo_stack_free)

/* Records `before` (copied) as the state an edit starts from and forgets the redo states.
 * `key` (may be NULL) names the field being typed into, for coalescing. */
void sinopia_undo_stack_record (SinopiaUndoStack *stack, const SinopiaComposition *before, const char *key);
/* Forgets everything (a project was loaded). */
void sinopia_undo_stack_clear (SinopiaUndoStack *stack);
gboolean sinopia_undo_stack_can_undo (const SinopiaUndoStack *stack);
gboolean sinopia_undo_stack_can_redo (const SinopiaUndoStack *stack);
/* Swaps *current with the previous (undo) or next (redo) state; FALSE when there is none. */
gboolean sinopia_undo_stack_undo (SinopiaUndoStack *stack, SinopiaComposition **current);
gboolean sinopia_undo_stack_redo (SinopiaUndoStack *stack, SinopiaComposition **current);

G_END_DECLS
