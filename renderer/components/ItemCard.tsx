import { effectiveAction, type ChoiceEvaluation, type Draft, type FlaggedItem } from '../logic/choice';
import { describeItemSupply, describeLine } from '../logic/format';
import { actionLabel } from '../logic/labels';
import { ActionBar } from './ActionBar';
import { FindingView } from './FindingView';
import { LevelBadge } from './LevelBadge';
import { ReasonPicker } from './ReasonPicker';
import { useAppStore } from './store-context';

/**
 * One flagged line: its findings, its actions and, while it is being continued past a
 * warning, the reason picker. The card itself is the tab stop that number keys act on.
 */
export function ItemCard({
  checkId,
  item,
  position,
  draft,
  evaluation,
}: {
  checkId: string;
  item: FlaggedItem;
  position: number;
  draft: Draft;
  evaluation: ChoiceEvaluation;
}) {
  const { states, reasonLines } = evaluation;
  const focusLine = useAppStore((state) => state.focusLine);
  const action = effectiveAction(item, draft);
  const open = item.findings.some((finding) => {
    const state = states.get(finding.findingId);
    return state === 'needs-action' || state === 'needs-reason';
  });
  const reasonFindings = item.findings.filter((finding) => reasonLines.get(finding.findingId) === item.line);
  const supply = item.item ? describeItemSupply(item.item) : '';

  return (
    <section
      className={`item item--${item.level}${open ? ' item--open' : ' item--done'}`}
      tabIndex={0}
      data-item-card=""
      data-line={item.line}
      data-testid={`item-${item.line}`}
      aria-label={`第 ${position} 项 ${item.name}, ${item.level === 'block' ? '拦截' : '提醒'}, ${open ? '待处理' : `已选择${action ? actionLabel[action] : ''}`}`}
      onFocus={() => focusLine(item.line)}
    >
      <header className="item-head">
        <span className="item-line" title="HIS 处方中的行">{describeLine(item.line)}</span>
        <h2 className="item-name">{item.name}</h2>
        {item.item?.channel === 'selfpay' ? <span className="item-channel">自费</span> : null}
        {supply ? <span className="item-supply">{supply}</span> : null}
        <LevelBadge level={item.level} large />
        <span className={`item-state${open ? ' item-state--open' : ''}`} data-testid={`item-state-${item.line}`}>
          {open ? '待处理' : `已处理 · ${action ? actionLabel[action] : ''}`}
        </span>
      </header>
      <div className="item-findings">
        {item.findings.map((finding) => (
          <FindingView key={finding.findingId} checkId={checkId} finding={finding} />
        ))}
      </div>
      <ActionBar item={item} selected={action} />
      {reasonFindings.length > 0 ? <ReasonPicker checkId={checkId} findings={reasonFindings} testKey={item.line} /> : null}
    </section>
  );
}

