/**
 * The popup's keyboard map, as a pure function of the key and of what kind of element has the
 * focus, so it can be tested without a browser:
 *
 * - 1 / 2 / 3 / 4 pick 转自费 / 删除 / 继续 / 符合限定条件 on the focused item (fixed keys, so fingers learn them);
 * - Enter confirms; Esc goes back to editing (返回修改);
 * - Space on an item shows or hides the policy basis; ↑ / ↓ move between items;
 * - PageUp / PageDown move between queued checks;
 * - Tab / Shift-Tab are left to the browser: items, reason choices and buttons are in tab order.
 *
 * Keys typed into a text field stay text, and nothing fires while an input method (拼音) is
 * composing, because Enter there commits the characters, not the order.
 */
import type { LineAction } from './labels';

/** What has the focus, as far as the key map cares. */
export type KeyTarget =
  /** A text field: digits and Space are text; Enter still confirms, Esc still goes back. */
  | 'text'
  /** A button whose own Enter/Space matter (返回修改, a toggle); digits still pick. */
  | 'control'
  /** A radio group of choices (the common reasons): arrows and Space are its own, Enter confirms. */
  | 'choice'
  /** An item card, an action button, or nothing in particular. */
  | 'other';

export type KeyCommand =
  | { type: 'pick'; action: LineAction }
  | { type: 'confirm' }
  | { type: 'revise' }
  | { type: 'toggleBasis' }
  | { type: 'moveItem'; delta: 1 | -1 }
  | { type: 'moveCheck'; delta: 1 | -1 };

export interface KeyPress {
  key: string;
  ctrlKey?: boolean;
  altKey?: boolean;
  metaKey?: boolean;
  shiftKey?: boolean;
  /** True while an input method is composing (KeyboardEvent.isComposing, or key "Process"). */
  isComposing?: boolean;
}

/** Number key for each line action: 1 转自费, 2 删除, 3 继续, 4 符合限定条件. */
export const keyForAction: Record<LineAction, string> = { selfpay: '1', remove: '2', continue: '3', attest: '4' };

const actionForKey = new Map<string, LineAction>(
  (Object.entries(keyForAction) as Array<[LineAction, string]>).map(([action, key]) => [key, action]),
);

/** The command for a key press, or null to let the browser handle it. */
export function commandForKey(press: KeyPress, target: KeyTarget): KeyCommand | null {
  if (press.isComposing || press.key === 'Process') return null;
  if (press.ctrlKey || press.altKey || press.metaKey) return null;
  switch (press.key) {
    case 'Escape':
      return { type: 'revise' };
    case 'Enter':
      // A reason picked with the arrows is already chosen, so Enter there means 确认, as in a form.
      return target === 'control' ? null : { type: 'confirm' };
    case 'PageDown':
      return { type: 'moveCheck', delta: 1 };
    case 'PageUp':
      return { type: 'moveCheck', delta: -1 };
  }
  if (target === 'text' || press.shiftKey) return null;
  const action = actionForKey.get(press.key);
  if (action) return { type: 'pick', action };
  if (target !== 'other') return null;
  switch (press.key) {
    case ' ':
      return { type: 'toggleBasis' };
    case 'ArrowDown':
      return { type: 'moveItem', delta: 1 };
    case 'ArrowUp':
      return { type: 'moveItem', delta: -1 };
    default:
      return null;
  }
}
