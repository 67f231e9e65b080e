/**
 * Connects the agent to rule-pack sync. Without configured servers there is nothing to poll,
 * and `sync now` says so instead of pretending.
 */
import type { Agent } from './agent';

export interface SyncWiringOptions {
  servers: string[];
  publicKeys: string[];
  intervalMinutes?: number;
  reportUrl?: string;
}

export function wireSync(agent: Agent, options: SyncWiringOptions): { stop(): void } | null {
  if (options.servers.length === 0) {
    agent.setSyncStatus({ configured: false, servers: [], state: 'disabled', lastResult: '未配置规则服务器' });
    return null;
  }
  throw new Error('规则包同步尚未接入');
}

export async function syncOffline(_dataDir: string): Promise<{ ok: boolean; message: string }> {
  return { ok: false, message: '代理未运行, 且未配置规则服务器' };
}
