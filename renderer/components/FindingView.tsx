import { useMemo } from 'react';
import type { Finding } from '../../app/core/protocol/messages';
import { describeDetails } from '../logic/details';
import { kindLabel } from '../logic/labels';
import { controlAttribute } from './focus';
import { LevelBadge } from './LevelBadge';
import { useAppStore } from './store-context';

/** One finding: level, rule, what is wrong, the facts behind it, and the policy basis. */
export function FindingView({ checkId, finding }: { checkId: string; finding: Finding }) {
  const expanded = useAppStore((state) => state.expandedBasis[checkId]?.[finding.findingId] ?? false);
  const toggleBasis = useAppStore((state) => state.toggleBasis);
  const details = useMemo(() => describeDetails(finding), [finding]);

  return (
    <div className={`finding finding--${finding.level}`} data-testid={`finding-${finding.findingId}`} data-rule={finding.ruleId}>
      <div className="finding-head">
        <LevelBadge level={finding.level} />
        <strong className="finding-title">{finding.title}</strong>
        <span className="finding-kind">{kindLabel[finding.kind] ?? finding.kind}</span>
        <span className="finding-rule">{finding.ruleId}</span>
      </div>
      {finding.message ? <p className="finding-message">{finding.message}</p> : null}
      {details.confirm.length > 0 ? (
        <div className="confirm" data-testid={`confirm-${finding.findingId}`}>
          <span className="confirm-label">需医生确认 (符合则选 4 符合限定条件):</span>
          <ul>
            {details.confirm.map((text) => (
              <li key={text}>{text}</li>
            ))}
          </ul>
        </div>
      ) : null}
      {details.earlier.length > 0 ? (
        <table className="earlier" data-testid={`earlier-${finding.findingId}`}>
          <caption>已有处方</caption>
          <thead>
            <tr>
              <th scope="col">开方日期</th>
              <th scope="col">科室</th>
              <th scope="col">医生</th>
              <th scope="col">天数</th>
              <th scope="col">剩余</th>
            </tr>
          </thead>
          <tbody>
            {details.earlier.map((earlier, index) => (
              <tr key={index}>
                <td>{earlier.date ?? '—'}</td>
                <td>{earlier.dept ?? '—'}</td>
                <td>{earlier.doctor ?? '—'}</td>
                <td>{earlier.days !== undefined ? `${earlier.days} 天` : '—'}</td>
                <td className="earlier-left">{earlier.daysLeft !== undefined ? `${earlier.daysLeft} 天` : earlier.endDate ? `至 ${earlier.endDate}` : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {details.facts.length > 0 ? (
        <dl className="facts">
          {details.facts.map((fact) => (
            <div key={fact.key} className="fact">
              <dt>{fact.label}</dt>
              <dd>{fact.value}</dd>
            </div>
          ))}
        </dl>
      ) : null}
      {finding.basis ? (
        <div className={`basis${expanded ? ' basis--open' : ''}`}>
          <button
            type="button"
            className="basis-toggle"
            tabIndex={-1}
            aria-expanded={expanded}
            data-testid={`basis-toggle-${finding.findingId}`}
            onClick={() => toggleBasis([finding.findingId])}
            {...{ [controlAttribute]: 'control' }}
          >
            政策依据 {expanded ? '▾' : '▸'}
          </button>
          <span className="basis-text" data-testid={`basis-${finding.findingId}`}>
            {finding.basis}
          </span>
        </div>
      ) : null}
    </div>
  );
}
