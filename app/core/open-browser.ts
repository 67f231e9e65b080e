/**
 * Opens the agent's UI as a browser "app window" (no tabs, no address bar) when the agent runs
 * headless: a PC where Electron cannot run, or `npm start` without the Electron binary. It looks
 * only for Chromium-family browsers, because `--app=` and a throw-away `--user-data-dir` are what
 * make the page behave like a small desktop window instead of a tab in the doctor's browser.
 * Pure Node: no Electron, so the headless agent can use it.
 */
import { spawn as spawnProcess, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, win32 } from 'node:path';

/** What `openAppWindow` did: which browser it started, or why it could not. */
export type OpenResult =
  | { opened: true; browser: string; profileDir: string }
  | { opened: false; reason: string };

/** The pieces of the environment the lookup depends on, so tests can stand in for them. */
export interface BrowserLookup {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  /** Whether a file exists; `existsSync` outside tests. */
  exists: (path: string) => boolean;
}

export interface OpenAppWindowOptions extends Partial<BrowserLookup> {
  /** Starts the browser; `child_process.spawn` outside tests. */
  spawn?: (command: string, args: string[], options: SpawnOptions) => ChildProcess;
  /** Where the fresh profile goes; a new temporary folder when absent. */
  profileDir?: string;
  /** Initial window size in CSS pixels; the popup is laid out for 1366×768 ward screens. */
  width?: number;
  height?: number;
}

/** Browser executables on PATH, in order of preference, for Linux and other Unix systems. */
const unixCommandNames = [
  'chromium',
  'chromium-browser',
  'google-chrome-stable',
  'google-chrome',
  'microsoft-edge-stable',
  'microsoft-edge',
  'brave-browser',
];

/** Install locations that are not always on PATH (snap, flatpak exports, vendor folders). */
const unixFixedPaths = [
  '/usr/bin/chromium',
  '/snap/bin/chromium',
  '/var/lib/flatpak/exports/bin/org.chromium.Chromium',
  '/opt/google/chrome/chrome',
  '/opt/microsoft/msedge/msedge',
];

/**
 * Every path worth trying, best first. `RXGATE_BROWSER` overrides the search, for IT who
 * want a particular browser. Edge comes first on Windows because every Windows 10/11 PC has
 * it and hospital IT already manages it.
 */
export function browserCandidates(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string[] {
  const candidates: string[] = [];
  if (env.RXGATE_BROWSER) candidates.push(env.RXGATE_BROWSER);
  if (platform === 'win32') {
    const roots = [env['ProgramFiles(x86)'], env.ProgramFiles, env.LOCALAPPDATA].filter(
      (root): root is string => Boolean(root),
    );
    const relative = [
      ['Microsoft', 'Edge', 'Application', 'msedge.exe'],
      ['Google', 'Chrome', 'Application', 'chrome.exe'],
      ['Chromium', 'Application', 'chrome.exe'],
    ];
    for (const parts of relative) for (const root of roots) candidates.push(win32.join(root, ...parts));
    return unique(candidates);
  }
  if (platform === 'darwin') {
    const bundles = [
      ['Google Chrome.app', 'Google Chrome'],
      ['Microsoft Edge.app', 'Microsoft Edge'],
      ['Chromium.app', 'Chromium'],
    ];
    const folders = ['/Applications', env.HOME ? posix.join(env.HOME, 'Applications') : undefined].filter(
      (folder): folder is string => Boolean(folder),
    );
    for (const [bundle, binary] of bundles) {
      for (const folder of folders) candidates.push(posix.join(folder, bundle!, 'Contents', 'MacOS', binary!));
    }
    return unique(candidates);
  }
  const pathFolders = (env.PATH ?? '').split(':').filter(Boolean);
  for (const name of unixCommandNames) for (const folder of pathFolders) candidates.push(posix.join(folder, name));
  candidates.push(...unixFixedPaths);
  return unique(candidates);
}

/** The first candidate that exists, or undefined. */
export function findBrowser(lookup: BrowserLookup): string | undefined {
  return browserCandidates(lookup.platform, lookup.env).find((candidate) => lookup.exists(candidate));
}

/**
 * The command line for an app window. `--user-data-dir` with a fresh folder keeps the doctor's
 * own browser profile (extensions, other tabs, a running instance that would swallow the
 * request) out of it.
 */
export function appWindowArguments(url: string, profileDir: string, width = 1100, height = 720): string[] {
  return [
    `--app=${url}`,
    `--user-data-dir=${profileDir}`,
    `--window-size=${width},${height}`,
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-extensions',
    '--disable-sync',
  ];
}

/**
 * Only the agent's own loopback pages are opened: the URL comes from our own code, but a
 * browser given an arbitrary URL with a fresh profile is not something to leave lying around.
 */
export function isOpenableUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return (
    (parsed.protocol === 'http:' || parsed.protocol === 'https:') &&
    ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname)
  );
}

/** Why a graphical browser cannot be shown at all here, or undefined when it can. */
export function missingDisplayReason(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string | undefined {
  if (platform === 'win32' || platform === 'darwin') return undefined;
  if (env.DISPLAY || env.WAYLAND_DISPLAY) return undefined;
  return '没有图形界面 (DISPLAY/WAYLAND_DISPLAY 未设置) / no graphical display (DISPLAY/WAYLAND_DISPLAY unset)';
}

/**
 * Finds a Chromium-family browser and opens `url` in it as an app window with a fresh profile.
 * Resolves once the browser process has started (or failed to); never throws.
 */
export async function openAppWindow(url: string, options: OpenAppWindowOptions = {}): Promise<OpenResult> {
  const lookup: BrowserLookup = {
    platform: options.platform ?? process.platform,
    env: options.env ?? process.env,
    exists: options.exists ?? existsSync,
  };
  if (!isOpenableUrl(url)) return { opened: false, reason: `只打开本机地址 / only loopback URLs are opened: ${url}` };
  const noDisplay = missingDisplayReason(lookup.platform, lookup.env);
  if (noDisplay) return { opened: false, reason: noDisplay };
  const browser = findBrowser(lookup);
  if (!browser) {
    return {
      opened: false,
      reason:
        '未找到 Chromium / Chrome / Edge 浏览器 (可用环境变量 RXGATE_BROWSER 指定) / ' +
        'no Chromium, Chrome or Edge found (set RXGATE_BROWSER to choose one)',
    };
  }
  let profileDir: string;
  try {
    profileDir = options.profileDir ?? mkdtempSync(join(tmpdir(), 'rxgate-ui-'));
  } catch (error) {
    return { opened: false, reason: `无法创建浏览器临时配置目录 / cannot create a browser profile folder: ${(error as Error).message}` };
  }
  const spawn = options.spawn ?? spawnProcess;
  return new Promise<OpenResult>((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(browser, appWindowArguments(url, profileDir, options.width, options.height), {
        detached: true,
        stdio: 'ignore',
        windowsHide: false,
      });
    } catch (error) {
      resolve({ opened: false, reason: `无法启动浏览器 / cannot start ${browser}: ${(error as Error).message}` });
      return;
    }
    child.once('error', (error) =>
      resolve({ opened: false, reason: `无法启动浏览器 / cannot start ${browser}: ${error.message}` }),
    );
    child.once('spawn', () => {
      // The window belongs to the doctor now; the agent must be able to exit without it.
      child.unref();
      resolve({ opened: true, browser, profileDir });
    });
  });
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
