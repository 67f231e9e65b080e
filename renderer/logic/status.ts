/**
 * What the status window says about the agent, as pure functions: how loud the rule-library
 * line is (expired must be impossible to miss), and the words for sync states.
 */
import type { RulesStatus, StatusView, SyncStatus } from '../../app/core/protocol/ui';
import { daysUntil, formatDate } from './format';

export type Severity = 'ok' | 'notice' | 'alarm';

export interface RulesHealth {
  severity: Severity;
  /** One sentence for the banner and the tray tooltip. */
  text: string;
}

/** Libraries older than this are worth a notice: policy changes at least monthly. */
export const staleAfterDays = 30;
/** Expiry this close is worth a notice so IT syncs before it becomes an alarm. */
export const expiringWithinDays = 7;

export function rulesHealth(rules: RulesStatus | null, now: Date = new Date()): RulesHealth {
  if (!rules) return { severity: 'alarm', text: '未加载规则库: 无法进行医保审核' };
  if (rules.expired) {
    return { severity: 'alarm', text: `规则库已过期 (有效期至 ${formatDate(rules.expiresAt)}): 请立即同步或联系信息科` };
  }
  if (rules.source === 'demo') return { severity: 'notice', text: '正在使用内置演示规则库: 尚未导入或同步正式规则' };
  if (rules.expiresAt) {
    const left = daysUntil(rules.expiresAt, now);
    if (left <= expiringWithinDays) return { severity: 'notice', text: `规则库将于 ${formatDate(rules.expiresAt)} 过期 (剩余 ${Math.max(0, left)} 天)` };
  }
  if (rules.ageDays !== undefined && rules.ageDays > staleAfterDays) {
    return { severity: 'notice', text: `规则库已 ${rules.ageDays} 天未更新` };
  }
  return { severity: 'ok', text: `规则库 v${rules.version} 正常` };
}

export const syncStateLabel: Record<SyncStatus['state'], string> = {
  idle: '等待下次同步',
  syncing: '正在同步…',
  ok: '同步正常',
  failed: '同步失败',
  disabled: '未配置规则服务器',
};

export function syncSeverity(sync: SyncStatus): Severity {
  if (sync.state === 'failed') return 'notice';
  return 'ok';
}

export const sourceLabel: Record<string, string> = {
  demo: '内置演示规则库',
  import: '手工导入',
  file: '本地文件',
  pack: '签名规则包',
};

/** HIS connections only: the UI's own socket is not a client worth listing. */
export function hisClients(status: StatusView): StatusView['clients'] {
  return status.clients.filter((client) => client.kind === 'his');
}
