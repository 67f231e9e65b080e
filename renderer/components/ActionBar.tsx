import { actionLabel, type LineAction } from '../logic/labels';
import { keyForAction } from '../logic/keyboard';
import type { FlaggedItem } from '../logic/choice';
import { useAppStore } from './store-context';

const actionHint: Record<LineAction, string> = {
  selfpay: '按自费结算, 不占医保',
  remove: '从处方中删去',
  continue: '按医保继续, 须填理由',
  attest: '确认患者符合限定支付条件(限制使用标志), 按医保支付',
};

/**
 * The actions one line offers, with their number keys. Not in the tab order: the number keys
 * are the keyboard route, and Tab stays short (item → reason → next item).
 */
export function ActionBar({ item, selected }: { item: FlaggedItem; selected: LineAction | undefined }) {
  const pickAction = useAppStore((state) => state.pickAction);
  return (
    <div className="actions" role="radiogroup" aria-label={`${item.name} 的处理方式`}>
      <span className="actions-label">处理:</span>
      {item.actions.map((action) => {
        const checked = selected === action;
        return (
          <button
            key={action}
            type="button"
            role="radio"
            aria-checked={checked}
            tabIndex={-1}
            title={actionHint[action]}
            className={`action action--${action}${checked ? ' action--checked' : ''}`}
            data-testid={`action-${item.line}-${action}`}
            onClick={() => pickAction(item.line, action)}
          >
            <kbd>{keyForAction[action]}</kbd>
            {actionLabel[action]}
            {checked ? <span className="action-check" aria-hidden="true"> ✓</span> : null}
          </button>
        );
      })}
    </div>
  );
}
