/**
 * How long the hub keeps what it stores (docs/hub.md section 9), and the purge that applies it:
 * daily in every hub process and on demand with `rxgate hub purge`. Several processes purging
 * at once is harmless: each deletion only removes rows already past their cut-off.
 */
import type { HubStore, PurgeCounts } from './store/hub-store';

/** Retention in days per kind of record. */
export interface RetentionSettings {
  /** Committed orders (cross-PC history) and the event-id record: as long as the agents keep their own ledger. */
  ledgerDays: number;
  /** Overrides, attestations, self-pay switches and the findings behind rule activity: the insurance office's review material. */
  decisionDays: number;
  /** The console's own access audit (who read or exported patient-level rows, logins, changes). */
  consoleAuditDays: number;
}

/** The agents' own ledger retention (config `retentionDays`). */
export const DEFAULT_LEDGER_RETENTION_DAYS = 180;
/** Three years of review material: a full annual review cycle and the inspections after it. */
export const DEFAULT_DECISION_RETENTION_DAYS = 1095;
export const DEFAULT_CONSOLE_AUDIT_RETENTION_DAYS = 1095;
/**
 * The insurance office reviews a year at a time (monthly meetings, the annual self-inspection),
 * so review material and the record of who read it are never purged sooner than this.
 */
export const MINIMUM_REVIEW_RETENTION_DAYS = 366;
export const MAXIMUM_RETENTION_DAYS = 3650;

export const DEFAULT_RETENTION: RetentionSettings = {
  ledgerDays: DEFAULT_LEDGER_RETENTION_DAYS,
  decisionDays: DEFAULT_DECISION_RETENTION_DAYS,
  consoleAuditDays: DEFAULT_CONSOLE_AUDIT_RETENTION_DAYS,
};

/** The first day / instant each kind of record is kept from, as of `now`. */
export interface RetentionCutoffs {
  /** YYYY-MM-DD: ledger rows dated before it go, and event ids received before it. */
  ledgerBefore: string;
  decisionsBefore: Date;
  consoleAuditBefore: Date;
}

/** Whole days back from the start of `now`'s (UTC) day, so one day's purges agree whatever the hour. */
export function retentionCutoffs(settings: RetentionSettings, now: Date): RetentionCutoffs {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const back = (days: number): Date => new Date(today - days * 86_400_000);
  return {
    ledgerBefore: back(settings.ledgerDays).toISOString().slice(0, 10),
    decisionsBefore: back(settings.decisionDays),
    consoleAuditBefore: back(settings.consoleAuditDays),
  };
}

/** Why these settings cannot be used, or null. */
export function retentionProblem(settings: RetentionSettings): string | null {
  for (const [name, days] of Object.entries(settings)) {
    if (!Number.isInteger(days) || days < 1 || days > MAXIMUM_RETENTION_DAYS) return `${name}: 保留天数应为 1 到 ${MAXIMUM_RETENTION_DAYS}`;
  }
  if (settings.decisionDays < MINIMUM_REVIEW_RETENTION_DAYS) return `复核记录至少保留 ${MINIMUM_REVIEW_RETENTION_DAYS} 天 (医保办按年度复核)`;
  if (settings.consoleAuditDays < MINIMUM_REVIEW_RETENTION_DAYS) return `控制台访问审计至少保留 ${MINIMUM_REVIEW_RETENTION_DAYS} 天`;
  return null;
}

/** Deletes what is past retention as of `now`; the purge is itself written to the console audit when it removed anything. */
export async function purgeExpired(store: HubStore, settings: RetentionSettings, now: Date, by: string): Promise<PurgeCounts> {
  const cutoffs = retentionCutoffs(settings, now);
  const counts = await store.purge(cutoffs);
  if (Object.values(counts).some((count) => count > 0)) {
    await store.audit(by, 'purge', {
      ledgerBefore: cutoffs.ledgerBefore,
      decisionsBefore: cutoffs.decisionsBefore.toISOString(),
      consoleAuditBefore: cutoffs.consoleAuditBefore.toISOString(),
      ...counts,
    });
  }
  return counts;
}

/** One line for the log and the CLI: what went, with the settings that sent it. */
export function describePurge(counts: PurgeCounts, settings: RetentionSettings): string {
  return (
    `已清除过期记录: 处方台账 ${counts.ledger} 行, 事件记录 ${counts.events} 条 (保留 ${settings.ledgerDays} 天); ` +
    `复核记录 ${counts.decisions} 条, 规则触发 ${counts.findings} 条 (保留 ${settings.decisionDays} 天); ` +
    `控制台审计 ${counts.consoleAudit} 条 (保留 ${settings.consoleAuditDays} 天); 审计锚点 ${counts.anchors} 个`
  );
}
