/**
 * The agent's start options inside the desktop app, from the same configuration files the
 * headless agent reads (machine-wide config written by the installer, then the data folder's),
 * so an installed PC behaves the same whichever way the agent runs. No Electron import.
 */
import { join } from 'node:path';
import type { AgentOptions } from '../core/agent';
import { DEFAULT_PORT, loadConfig, readPublicKeys, resolveToken, type ConfigFile } from '../core/config';
import type { SyncWiringOptions } from '../core/sync-wiring';

export interface DesktopAgentSettings {
  agent: AgentOptions;
  /**
   * The sync settings, read on demand: a missing key file is a sync problem to show in the
   * status, not a reason for the agent not to start.
   */
  sync: () => SyncWiringOptions;
  config: ConfigFile;
}

/** Reads configuration for `dataDir` and returns what `startAgent` and `wireSync` need. */
export function desktopAgentSettings(options: { dataDir: string; uiDir: string; log: (line: string) => void }): DesktopAgentSettings {
  const config = loadConfig(options.dataDir);
  const token = resolveToken(options.dataDir, config.token);
  return {
    config,
    agent: {
      dataDir: options.dataDir,
      port: config.port ?? DEFAULT_PORT,
      token,
      allowOrigins: config.allowOrigins,
      // The agent also serves the UI at /ui/ for a browser, e.g. when IT checks a PC remotely
      // through its own session; the desktop windows load it from the app itself.
      uiDir: options.uiDir,
      retentionDays: config.retentionDays,
      maxFrameBytes: config.maxFrameBytes,
      nhsaPopup: config.nhsaPopup,
      decisionTimeoutSeconds: config.decisionTimeoutSeconds,
      log: options.log,
    },
    sync: () => ({
      servers: config.servers ?? [],
      publicKeys: readPublicKeys(config.publicKeys ?? []),
      intervalMinutes: config.syncIntervalMinutes,
      reportUrl: config.reportUrl,
    }),
  };
}

/** Where the desktop app keeps its own log (no patient data goes into it). */
export function logFilePath(dataDir: string): string {
  return join(dataDir, 'logs', 'rxgate.log');
}
