/**
 * The Electron main process: a thin shell around the agent core. It boots the core in this
 * process (`startAgent`), shows the popup when the core holds a check for the doctor, keeps a
 * tray icon with the status, and answers the renderer's IPC by handing each call, after
 * checking who sent it and what it carries, to the core's in-process `AgentBridge`.
 *
 * Every decision worth testing (window options, URL checks, CSP, IPC validation, tray model,
 * popup placement) lives in a sibling file without Electron and is tested in Node; this file
 * only wires them to Electron's APIs.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  nativeImage,
  protocol,
  safeStorage,
  screen,
  session,
  Tray,
  type IpcMainInvokeEvent,
  type MenuItemConstructorOptions,
  type NativeImage,
  type Session,
} from 'electron';
import type { SecretSealer } from '../../rules-cache/key-file';
import { startAgent, type Agent } from '../core/agent';
import { writeRuntimeFile } from '../core/config';
import { ensureWritableDataDir } from '../core/data-dir';
import type { PendingChange, StatusView } from '../core/protocol/ui';
import { wireSync } from '../core/sync-wiring';
import { desktopAgentSettings } from './agent-options';
import { linuxAutostartEnabled, setLinuxAutostart } from './autostart';
import { eventChannels, invokeChannels, isTrustedSender, validateArguments, type InvokeName, type ValidatedArguments } from './ipc-contract';
import { createLogFile, logFilePath } from '../core/log-file';
import {
  navigationAllowed,
  permissionAllowed,
  rendererResponseHeaders,
  rendererScheme,
  rendererUrl,
  requestAllowed,
  resolveRendererAsset,
  type RendererView,
} from './security';
import { iconPng, trayModel, type TraySeverity } from './tray-model';
import { popupBounds, popupMove, popupWindowOptions, statusWindowOptions, type WindowContext } from './windows';

/** The popup must be on screen within this long of the core holding a check (product.md). */
const popupBudgetMs = 150;

// Must happen before `ready`: the renderer's origin is `rxgate://ui`, a standard secure scheme,
// so 'self' in the CSP means our files and nothing else.
protocol.registerSchemesAsPrivileged([
  { scheme: rendererScheme, privileges: { standard: true, secure: true, supportFetchAPI: false, corsEnabled: false } },
]);

const appRoot = app.getAppPath();
const rendererDir = join(appRoot, 'dist', 'renderer');
const preloadPath = join(__dirname, '..', 'preload', 'preload.js');
const startedHidden = process.argv.includes('--hidden');

let agent: Agent | null = null;
let stopSync: (() => void) | null = null;
let popup: BrowserWindow | null = null;
let statusWindow: BrowserWindow | null = null;
let tray: Tray | null = null;
let quitting = false;
let shownIds: string[] = [];
let lastStatus: StatusView | null = null;
let log: (line: string) => void = (line) => console.log(line);

if (!app.requestSingleInstanceLock()) {
  // Another RxGate owns the port and the tray on this desktop; a second one would only fight it.
  app.quit();
} else {
  app.on('second-instance', () => showStatusWindow());
  app.on('web-contents-created', (_event, contents) => {
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
    contents.on('will-navigate', (event, url) => {
      if (!navigationAllowed(url)) {
        event.preventDefault();
        log(`已阻止页面跳转: ${url.slice(0, 200)}`);
      }
    });
    contents.on('will-redirect', (event, url) => {
      if (!navigationAllowed(url)) event.preventDefault();
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
  });
  // The app lives in the tray: closing (hiding) every window must not end it.
  app.on('window-all-closed', () => undefined);
  app.on('before-quit', () => {
    quitting = true;
  });
  app.on('will-quit', (event) => {
    if (!agent) return;
    // Stop the core cleanly (store closed, HIS told) before the process goes.
    event.preventDefault();
    const stopping = agent;
    agent = null;
    stopSync?.();
    void stopping.stop().finally(() => app.exit(0));
  });
  app
    .whenReady()
    .then(boot)
    .catch((error: unknown) => fatal(error));
}

async function boot(): Promise<void> {
  const dataDir = app.getPath('userData');
  // Named in Chinese in the start-up error box, instead of SQLite's "unable to open database file".
  ensureWritableDataDir(dataDir);
  log = createLogFile({ path: logFilePath(dataDir) });
  log(`RxGate ${app.getVersion()} 启动 (Electron ${process.versions.electron}, ${process.platform}-${process.arch})`);
  Menu.setApplicationMenu(null);
  hardenSession(session.defaultSession);
  registerRendererProtocol();

  const settings = desktopAgentSettings({ dataDir, uiDir: rendererDir, log });
  agent = await startAgent({ ...settings.agent, sealer: osKeySealer() });
  writeRuntimeFile(dataDir, { pid: process.pid, port: agent.port, startedAt: agent.startedAt.toISOString() });
  // A sync set-up problem (bad key file, unreachable share) must not stop the checks: the
  // rules already loaded keep working, and the status window says what went wrong.
  try {
    const sync = wireSync(agent, settings.sync());
    stopSync = sync ? () => sync.stop() : null;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`规则同步未能启动: ${message}`);
    agent.setSyncStatus({ configured: true, servers: settings.config.servers ?? [], state: 'failed', lastResult: `同步未能启动: ${message}` });
  }
  log(`代理已启动: 端口 ${agent.port}`);

  registerIpc(agent);
  popup = createWindow('popup');
  agent.bridge.onPending((change) => onPending(change));
  agent.bridge.onStatus((status) => onStatus(status));
  tray = new Tray(trayIcon('alarm'));
  tray.on('click', () => showStatusWindow());
  onStatus(await agent.bridge.getStatus());
  configureAutostart();
  const pending = await agent.bridge.getPending();
  if (pending.length > 0) onPending({ added: pending, removed: [], reset: true });
  else if (!startedHidden && !app.isPackaged) showStatusWindow();
}

/**
 * Seals the install's key file with the OS key store (DPAPI, Keychain, libsecret) where one is
 * available, so a copy of the data folder alone does not carry the key. A key file created
 * unsealed (by the headless agent) stays readable as it is.
 */
function osKeySealer(): SecretSealer | undefined {
  if (!safeStorage.isEncryptionAvailable()) return undefined;
  return {
    name: 'electron-safeStorage',
    seal: (secret) => safeStorage.encryptString(secret.toString('base64')),
    unseal: (sealed) => Buffer.from(safeStorage.decryptString(sealed), 'base64'),
  };
}

/** Session-wide defences: no permissions, no network from the pages, our scheme only. */
function hardenSession(target: Session): void {
  target.setPermissionRequestHandler((_contents, permission, callback, details) =>
    callback(permissionAllowed(permission, details.requestingUrl)),
  );
  target.setPermissionCheckHandler((_contents, permission, requestingOrigin) => permissionAllowed(permission, requestingOrigin));
  target.webRequest.onBeforeRequest((details, callback) => {
    const allowed = requestAllowed(details.url);
    if (!allowed) log(`已阻止网络请求: ${details.url.slice(0, 200)}`);
    callback({ cancel: !allowed });
  });
}

/** Serves dist/renderer at rxgate://ui/ with the Electron CSP on every response. */
function registerRendererProtocol(): void {
  protocol.handle(rendererScheme, async (request) => {
    const file = resolveRendererAsset(request.url, rendererDir);
    if (!file) return new Response('not found', { status: 404 });
    try {
      return new Response(await readFile(file), { headers: rendererResponseHeaders(file) });
    } catch {
      return new Response('not found', { status: 404 });
    }
  });
}

/**
 * Answers one channel with `handler`, for trusted senders with valid arguments only. A refused
 * call gets `refusal(error)`: a rejection for the getters, a `{ok: false}` reply otherwise, as
 * `AgentBridge` promises.
 */
function handle<Name extends InvokeName>(
  name: Name,
  handler: (args: ValidatedArguments<Name>) => Promise<unknown>,
  refusal: (error: string) => unknown,
): void {
  ipcMain.handle(invokeChannels[name], async (event: IpcMainInvokeEvent, ...args: unknown[]) => {
    if (!trusted(event)) {
      log(`已拒绝 IPC ${name}: 来源 ${event.senderFrame?.url ?? '(已销毁)'}`);
      return refusal('拒绝: 调用来源不可信');
    }
    const validated = validateArguments(name, args);
    if (!validated.ok) return refusal(validated.error);
    return handler(validated.value);
  });
}

function trusted(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  const windows = [popup, statusWindow].filter((window): window is BrowserWindow => window !== null && !window.isDestroyed());
  return isTrustedSender({
    frameUrl: frame?.url,
    isTopFrame: frame !== null && frame !== undefined && frame.parent === null,
    isOurWindow: windows.some((window) => window.webContents.id === event.sender.id),
  });
}

function registerIpc(running: Agent): void {
  const bridge = running.bridge;
  const refuseWithError = (error: string) => {
    throw new Error(error);
  };
  const refuseWithReply = (error: string) => ({ ok: false, error });
  handle('getPending', () => bridge.getPending(), refuseWithError);
  handle('getStatus', () => bridge.getStatus(), refuseWithError);
  handle('decide', ([choice]) => bridge.decide(choice), refuseWithReply);
  handle('syncNow', () => bridge.syncNow(), refuseWithReply);
}

function windowContext(): WindowContext {
  return { preload: preloadPath, devTools: !app.isPackaged, icon: undefined };
}

function createWindow(view: RendererView): BrowserWindow {
  const options = view === 'popup' ? popupWindowOptions(windowContext()) : statusWindowOptions(windowContext());
  const window = new BrowserWindow(options);
  window.setIcon(trayIcon(lastStatus ? trayModel(lastStatus, autostartOptions()).severity : 'ok', 64));
  window.on('close', (event) => {
    // Hidden, not destroyed: the popup must be ready the instant a check arrives, and the
    // status window keeps its place. Only quitting really closes them.
    if (quitting) return;
    event.preventDefault();
    window.hide();
  });
  void window.loadURL(rendererUrl(view));
  return window;
}

function onPending(change: PendingChange): void {
  const started = performance.now();
  for (const window of [popup, statusWindow]) {
    if (window && !window.isDestroyed()) window.webContents.send(eventChannels.pending, change);
  }
  // The queue's ids, kept here from the changes, decide whether the popup shows or hides.
  const leaving = new Set([...change.removed, ...change.added.map((view) => view.id)]);
  const ids = [...(change.reset ? [] : shownIds.filter((id) => !leaving.has(id))), ...change.added.map((view) => view.id)];
  const move = popupMove(shownIds, ids);
  shownIds = ids;
  if (move === 'show') {
    showPopup();
    const elapsed = performance.now() - started;
    if (elapsed > popupBudgetMs) log(`提醒窗口显示用时 ${elapsed.toFixed(0)} ms, 超过 ${popupBudgetMs} ms`);
  } else if (move === 'hide') {
    popup?.hide();
  }
  updateTray();
}

/** Brings the popup up on the display under the mouse, where the doctor is working. */
function showPopup(): void {
  if (!popup || popup.isDestroyed()) popup = createWindow('popup');
  const display = screen.getDisplayNearestPoint(screen.getCursorScreenPoint());
  popup.setBounds(popupBounds(display.workArea));
  popup.setAlwaysOnTop(true, 'screen-saver');
  popup.show();
  popup.moveTop();
  popup.focus();
  if (!popup.isFocused()) popup.flashFrame(true);
}

function showStatusWindow(): void {
  if (!statusWindow || statusWindow.isDestroyed()) statusWindow = createWindow('status');
  const window = statusWindow;
  if (window.webContents.isLoading()) window.once('ready-to-show', () => window.show());
  else window.show();
  window.focus();
}

function onStatus(status: StatusView): void {
  lastStatus = status;
  for (const window of [popup, statusWindow]) {
    if (window && !window.isDestroyed()) window.webContents.send(eventChannels.status, status);
  }
  updateTray();
}

/**
 * Whether this user may switch start-at-login. Not in a development run (it would register
 * `electron .`), and not where the Windows installer set it up for every user (HKLM Run, with
 * a marker file next to the resources): there IT decides.
 */
function autostartAvailable(): boolean {
  return app.isPackaged && !existsSync(join(process.resourcesPath, 'machine-autostart'));
}

function autostartOptions(): { autoStart: boolean; autoStartAvailable: boolean } {
  if (!autostartAvailable()) return { autoStart: false, autoStartAvailable: false };
  const enabled = process.platform === 'linux' ? linuxAutostartEnabled() : app.getLoginItemSettings().openAtLogin;
  return { autoStart: enabled, autoStartAvailable: true };
}

/** The first packaged start turns start-at-login on; the tray's checkbox changes it later. */
function configureAutostart(): void {
  if (!autostartAvailable() || process.platform === 'linux') return;
  const marker = join(app.getPath('userData'), 'autostart-configured');
  readFile(marker).catch(async () => {
    setAutostart(true);
    await writeFile(marker, new Date().toISOString()).catch(() => undefined);
  });
}

function setAutostart(enabled: boolean): void {
  if (process.platform === 'linux') setLinuxAutostart(enabled, process.env.APPIMAGE ?? process.execPath);
  else app.setLoginItemSettings({ openAtLogin: enabled, args: ['--hidden'] });
  updateTray();
}

const iconCache = new Map<string, NativeImage>();

function trayIcon(severity: TraySeverity, size = 16): NativeImage {
  const key = `${severity}-${size}`;
  let image = iconCache.get(key);
  if (!image) {
    image = nativeImage.createFromBuffer(iconPng(severity, size));
    // A sharper copy for high-DPI ward screens (scale 2).
    if (size === 16) image.addRepresentation({ scaleFactor: 2, buffer: iconPng(severity, 32) });
    iconCache.set(key, image);
  }
  return image;
}

function updateTray(): void {
  if (!tray) return;
  const model = trayModel(lastStatus, autostartOptions());
  tray.setImage(trayIcon(model.severity));
  tray.setToolTip(model.tooltip);
  const items: MenuItemConstructorOptions[] = model.entries.map((entry) => {
    switch (entry.type) {
      case 'info':
        return { label: entry.label, enabled: false };
      case 'separator':
        return { type: 'separator' };
      case 'checkbox':
        return { label: entry.label, type: 'checkbox', checked: entry.checked, click: (item) => setAutostart(item.checked) };
      case 'action':
        return { label: entry.label, enabled: entry.enabled, click: () => runTrayAction(entry.id) };
    }
  });
  tray.setContextMenu(Menu.buildFromTemplate(items));
}

function runTrayAction(id: 'showPopup' | 'openStatus' | 'syncNow' | 'quit'): void {
  switch (id) {
    case 'showPopup':
      showPopup();
      break;
    case 'openStatus':
      showStatusWindow();
      break;
    case 'syncNow':
      void agent?.bridge.syncNow().then((reply) => log(`立即同步: ${reply.ok ? reply.value : reply.error}`));
      break;
    case 'quit':
      app.quit();
      break;
  }
}

function fatal(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  log(`启动失败: ${error instanceof Error ? (error.stack ?? message) : message}`);
  dialog.showErrorBox('RxGate 无法启动', `${message}\n\n日志: ${logFilePath(app.getPath('userData'))}`);
  app.exit(1);
}

process.on('unhandledRejection', (reason) => log(`未处理的异步错误: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`));
