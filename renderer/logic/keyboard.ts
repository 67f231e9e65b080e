/**
 * The popup's keyboard map, as a pure function of the key and of what kind of element has the
 * focus, so it can be tested without a browser:
 *
 * - 1 / 2 / 3 / 4 pick 转自费 / 删除 / 继续 / 符合限定条件 on the focused item (fixed keys, so fingers learn them);
 * - Enter confirms (on a reason choice it selects that reason); Esc goes back to editing (返回修改);
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
  /**
   * A radio group of choices (the common reasons): arrows, Space and Enter are its own. Enter
   * there selects the focused reason, as it does on any button; it never confirms the order,
   * because a doctor pressing Enter on a reason means that reason.
   */
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
      return target === 'control' || target === 'choice' ? null : { type: 'confirm' };
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

/** One key hint in the popup's footer. */
export interface KeyHint {
  key: string;
  label: string;
}

/** What the popup on screen offers, as far as the footer's key hints care. */
export interface HintContext {
  /** Line actions offered by at least one flagged item (a block never offers 继续). */
  actions: ReadonlySet<LineAction>;
  /** Whether a reason is asked for anywhere on the popup. */
  reasons: boolean;
  /** Whether the queue holds more than this check. */
  queued: boolean;
}

const hintOrder: LineAction[] = ['selfpay', 'remove', 'continue', 'attest'];
const hintLabel: Record<LineAction, string> = { selfpay: '转自费', remove: '删除', continue: '继续', attest: '符合限定条件' };

/**
 * The footer's key hints for the popup on screen: only keys that do something here, each with
 * what it does, so the footer never promises 3 继续 on a block or hides how reasons are picked.
 */
export function keyHints(context: HintContext): KeyHint[] {
  const hints: KeyHint[] = hintOrder
    .filter((action) => context.actions.has(action))
    .map((action) => ({ key: keyForAction[action], label: hintLabel[action] }));
  hints.push({ key: '↑↓', label: '上/下一项' });
  hints.push({ key: '空格', label: '(在项目上) 政策依据' });
  if (context.reasons) hints.push({ key: 'Tab', label: '到理由, ←→ 或 Enter 选中理由, 也可直接输入' });
  hints.push({ key: 'Enter', label: '确认' }, { key: 'Esc', label: '返回修改' });
  if (context.queued) hints.push({ key: 'PageUp/PageDown', label: '切换处方' });
  return hints;
}
