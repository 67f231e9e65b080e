/**
 * DOM helpers for the keyboard: what kind of element has the focus (for the key map), and
 * moving the focus between item cards. Kept apart from the pure key map, which tests cover.
 */
import type { KeyTarget } from '../logic/keyboard';

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
