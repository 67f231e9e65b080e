/**
 * The agent's start options inside the desktop app, from the same configuration files the
 * headless agent reads (machine-wide config written by the installer, then the data folder's),
 * through the same {@link resolveSettings}, so an installed PC behaves the same whichever way
 * the agent runs. No Electron import.
 */
import type { AgentOptions } from '../core/agent';
import { loadConfig, resolveSettings, type ConfigFile, type ResolvedSettings } from '../core/config';

export interface DesktopAgentSettings {
  agent: AgentOptions;
  sync: ResolvedSettings['sync'];
  config: ConfigFile;
}

/** Reads configuration for `dataDir` and returns what `startAgent` and `wireSync` need. */
export function desktopAgentSettings(options: { dataDir: string; uiDir: string; log: (line: string) => void }): DesktopAgentSettings {
  const config = loadConfig(options.dataDir);
  const resolved = resolveSettings(options.dataDir, config);
  return {
    config,
    agent: {
      ...resolved.agent,
      // The agent also serves the UI at /ui/ for a browser, e.g. when IT checks a PC remotely
      // through its own session; the desktop windows load it from the app itself.
      uiDir: options.uiDir,
      log: options.log,
    },
    sync: resolved.sync,
  };
}
