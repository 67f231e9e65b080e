/**
 * Connects the agent to rule-pack sync (rules-cache/sync.ts): the client polls the configured
 * servers, verifies what it finds against the pinned keys, and hands a verified pack to the
 * agent, which applies it without stopping checks. Without configured servers there is
 * nothing to poll, and `sync now` says so instead of pretending.
 */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { openStore, versionToBeat } from '../../rules-cache/store';
import { createSyncClient, type SyncClient, type SyncState } from '../../rules-cache/sync';
import type { Agent } from './agent';
import { ConfigError, loadConfig, readPublicKeys } from './config';
import { AGENT_VERSION } from './version';

export interface SyncWiringOptions {
  servers: string[];
  publicKeys: string[];
  intervalMinutes?: number;
  reportUrl?: string;
}

const STATE_KEY = 'sync.state';
const STATUS_KEY = 'sync.status';

function requireKeys(options: SyncWiringOptions): void {
  if (options.publicKeys.length === 0) {
    throw new ConfigError('配置了规则服务器, 但没有固定的公钥 (--public-key 或配置文件 publicKeys): 无法校验规则包');
  }
}

/** Starts polling for the agent; returns null (and says so in status) when no server is set. */
export function wireSync(agent: Agent, options: SyncWiringOptions): SyncClient | null {
  if (options.servers.length === 0) {
    agent.setSyncStatus({ configured: false, servers: [], state: 'disabled', lastResult: '未配置规则服务器' });
    return null;
  }
  requireKeys(options);
  let client: SyncClient;
  const publish = () => {
    const status = client.status();
    agent.setSyncStatus(status);
    agent.writer.setSetting(STATUS_KEY, status);
  };
  client = createSyncClient({
    servers: options.servers,
    publicKeys: options.publicKeys,
    activeVersion: () => agent.activeVersion(),
    activeExpiresAt: () => agent.rulesStatus()?.expiresAt,
    apply: async (library, manifest) => {
      await agent.applyVerifiedLibrary(library, { packId: manifest.packId, keyId: manifest.keyId, sha256: manifest.pack.sha256 });
    },
    loadState: () => agent.store.getSetting<SyncState>(STATE_KEY),
    saveState: (state) => agent.writer.setSetting(STATE_KEY, state),
    intervalMs: options.intervalMinutes === undefined ? undefined : options.intervalMinutes * 60_000,
    reportUrl: options.reportUrl,
    agentVersion: AGENT_VERSION,
    // Every attempt logs one line: the moment to show its result in the status too.
    log: (line) => {
      agent.log(line);
      publish();
    },
  });
  agent.syncInProgress = () => client.status().state === 'syncing';
  agent.syncHandler = async () => {
    const pending = client.syncNow();
    publish();
    const outcome = await pending;
    publish();
    return outcome.message;
  };
  publish();
  client.start();
  return client;
}

/**
 * `rxgate sync` while no agent is running: one attempt straight against the cache, with the
 * same verification; the agent picks the result up when it starts.
 */
export async function syncOffline(dataDir: string): Promise<{ ok: boolean; message: string }> {
  const config = loadConfig(dataDir);
  const servers = config.servers ?? [];
  if (servers.length === 0) return { ok: false, message: '代理未运行, 且未配置规则服务器 (配置文件 servers)' };
  const publicKeys = readPublicKeys(config.publicKeys ?? []);
  requireKeys({ servers, publicKeys });
  const file = join(dataDir, 'rxgate.db');
  if (!existsSync(dataDir)) return { ok: false, message: `数据目录不存在: ${dataDir}` };
  const store = openStore(file);
  try {
    const client = createSyncClient({
      servers,
      publicKeys,
      activeVersion: () => versionToBeat(store.libraryInfo().active),
      apply: (library, manifest) => {
        // The install writes its audit record in the same transaction.
        store.applyLibrary(library, { packId: manifest.packId, keyId: manifest.keyId, sha256: manifest.pack.sha256 });
      },
      loadState: () => store.getSetting<SyncState>(STATE_KEY),
      saveState: (state) => store.setSetting(STATE_KEY, state),
      reportUrl: config.reportUrl,
      agentVersion: AGENT_VERSION,
    });
    const outcome = await client.syncNow();
    store.setSetting(STATUS_KEY, client.status());
    return { ok: outcome.result !== 'failed', message: outcome.message };
  } finally {
    store.close();
  }
}
