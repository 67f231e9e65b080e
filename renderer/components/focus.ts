/**
 * DOM helpers for the keyboard: what kind of element has the focus (for the key map), and
 * moving the focus between item cards. Kept apart from the pure key map, which tests cover.
 */
import { emptyDraft, evaluateChoice } from '../logic/choice';
import type { KeyTarget } from '../logic/keyboard';
import { selectCurrentView, type AppState } from '../store/store';

/** Marks elements whose own Enter/Space/arrow keys must keep working (see `KeyTarget`). */
export const controlAttribute = 'data-keys';

export function keyTargetOf(element: EventTarget | null): KeyTarget {
  if (!(element instanceof HTMLElement)) return 'other';
  if (element instanceof HTMLTextAreaElement || element instanceof HTMLSelectElement || element.isContentEditable) return 'text';
  if (element instanceof HTMLInputElement && !['button', 'checkbox', 'radio', 'submit'].includes(element.type)) return 'text';
  if (element.closest(`[${controlAttribute}="choice"]`)) return 'choice';
  if (element.closest(`[${controlAttribute}="control"]`)) return 'control';
  return 'other';
}

/** Marks the 确认 button, where the focus goes once nothing else needs the doctor. */
export const confirmAttribute = 'data-confirm';

/**
 * After a reason is chosen from the keyboard: the focus moves to the first item that still
 * needs the doctor, or to 确认 when none does. An order-wide reason still missing keeps the
 * focus where it is, since the picker for it is the one just used or sits right below.
 */
export function focusAfterReason(state: AppState, root: ParentNode = document): void {
  const view = selectCurrentView(state);
  if (!view) return;
  const { problems } = evaluateChoice(view, state.drafts[view.id] ?? emptyDraft);
  const line = problems.find((problem) => problem.line)?.line;
  if (line) {
    focusItemCard(line, root);
    return;
  }
  if (problems.length === 0) root.querySelector<HTMLElement>(`[${confirmAttribute}]`)?.focus();
}

/**
 * Scrolls `card`'s reason picker into view when the popup asks for a reason: on a short window
 * the picker sits below the fold while the footer says a reason is missing.
 */
export function revealReason(line: string, root: ParentNode = document): void {
  const card = itemCards(root).find((candidate) => candidate.dataset.line === line);
  card?.querySelector<HTMLElement>('.reason')?.scrollIntoView({ block: 'nearest' });
}

/** Item cards of the popup in screen order. */
export function itemCards(root: ParentNode = document): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>('[data-item-card]')];
}

/**
 * Focuses the card for `line`; returns whether there was one. The page scrolls only when the
 * card's top is out of view, so what sits above the first card (the chronic panel) stays on
 * screen when the popup opens.
 */
export function focusItemCard(line: string, root: ParentNode = document): boolean {
  const card = itemCards(root).find((candidate) => candidate.dataset.line === line);
  if (!card) return false;
  card.focus({ preventScroll: true });
  const scroller = card.closest('.popup-body');
  const box = card.getBoundingClientRect();
  const view = scroller?.getBoundingClientRect() ?? { top: 0, bottom: window.innerHeight };
  if (box.top < view.top || box.top > view.bottom - 48) card.scrollIntoView({ block: 'start' });
  return true;
}

/** The line of the card holding the focus, if any. */
export function focusedCardLine(): string | undefined {
  const active = document.activeElement;
  if (!(active instanceof HTMLElement)) return undefined;
  return active.closest<HTMLElement>('[data-item-card]')?.dataset.line;
}
