import type { ChronicSummary } from '../../app/core/protocol/messages';
import { chronicMeters, meterStateLabel } from '../logic/chronic';

/** 慢特病 year-to-date use against the yearly caps, one row per registered disease. */
export function ChronicPanel({ summaries }: { summaries: ChronicSummary[] }) {
  return (
    <section className="chronic" aria-label="慢特病年度累计" data-testid="chronic">
      {summaries.map((summary) => (
        <div className="chronic-row" key={`${summary.ruleId}-${summary.disease.code}`} data-testid={`chronic-${summary.disease.code}`}>
          <span className="chronic-disease">
            慢特病 <strong>{summary.disease.name ?? summary.disease.code}</strong> · {summary.year} 年累计 (含本次)
          </span>
          {chronicMeters(summary).map((meter) => (
            <span className={`meter meter--${meter.state}`} key={meter.label}>
              <span className="meter-label">{meter.label}</span>
              <span className="meter-value">
                {meter.used}
                {meter.cap ? ` / ${meter.cap}` : ' (无上限)'}
              </span>
              {meter.cap ? (
                <span className="meter-bar" aria-hidden="true">
                  <span className="meter-fill" style={{ width: `${Math.round(meter.fill * 100)}%` }} />
                </span>
              ) : null}
              {meter.share ? <span className="meter-share">{meter.share}</span> : null}
              {meter.state !== 'ok' ? <strong className="meter-state">{meterStateLabel[meter.state]}</strong> : null}
            </span>
          ))}
        </div>
      ))}
    </section>
  );
}
