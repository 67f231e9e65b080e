/**
 * `npm start`: builds what is needed, then runs the desktop app (Electron: tray, popup, the
 * agent core inside). Where the Electron binary is not installed (it is downloaded by the
 * `electron` package's install script, which offline machines and CI skip), it says so in
 * Chinese and English and runs the same core headless instead (`rxgate agent`), which opens the
 * UI in a Chromium/Chrome/Edge app window.
 *
 *   npm start [-- agent flags, e.g. --port 17381 --data-dir DIR --no-open]
 *
 * Flags after `--` go to the headless agent (cli.md); the desktop app reads its settings from
 * the config files instead.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildRenderer } from './build-renderer';

const root = join(__dirname, '..');

/** Where the Electron binary is, or why there is none. */
export type ElectronLookup = { path: string } | { missing: string };

/**
 * The `electron` package's main export is the binary's path, and it throws when the binary was
 * never downloaded; a path to a file that is not there counts as missing too.
 */
export function findElectronBinary(
  load: () => unknown = () => require('electron'),
  exists: (path: string) => boolean = existsSync,
): ElectronLookup {
  let path: unknown;
  try {
    path = load();
  } catch (error) {
    return { missing: error instanceof Error ? error.message : String(error) };
  }
  if (typeof path !== 'string') return { missing: 'require("electron") did not return a path (running inside Electron?)' };
  if (!exists(path)) return { missing: `${path} does not exist` };
  return { path };
}

/**
 * The message for a machine without the Electron binary: what happened and what runs instead.
 * Electron's own wording ("Electron failed to install correctly, please delete …") is left out
 * unless `debug` is set: after this explanation it reads like a second, worse failure.
 */
export function missingElectronMessage(reason: string, debug = Boolean(process.env.RXGATE_DEBUG)): string {
  return [
    '',
    '未找到 Electron 程序文件 (安装依赖时没有下载, 例如离线环境或设置了 ELECTRON_SKIP_BINARY_DOWNLOAD)。',
    '改为以无界面模式运行审核代理 (rxgate agent), 并在浏览器窗口中打开提醒界面。',
    '如需桌面版 (托盘图标和弹窗), 请在可联网的电脑上重新安装 electron: npm rebuild electron',
    '',
    'The Electron binary is missing (it was not downloaded when dependencies were installed,',
    'e.g. offline or with ELECTRON_SKIP_BINARY_DOWNLOAD). Falling back to the headless agent',
    '(rxgate agent), which opens the UI in a browser window. For the desktop app (tray and',
    'popup), reinstall electron where it can download: npm rebuild electron',
    '',
    ...(debug ? [`(${reason})`, ''] : []),
  ].join('\n');
}

/**
 * Compiles the main process, preload and core to `dist/` and puts the demo rule library where
 * the compiled core looks for it (`dist/rules-cache/demo/`), since tsc copies no JSON.
 */
export function buildDesktop(log: (line: string) => void = console.log): void {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error('TypeScript 编译失败 / the TypeScript build failed (tsc -p tsconfig.build.json)');
  const demo = join(root, 'rules-cache', 'demo', 'demo-rules.json');
  const target = join(root, 'dist', 'rules-cache', 'demo', 'demo-rules.json');
  if (existsSync(demo)) {
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(demo, target);
  }
  log('main: dist/app (main, preload, core) and dist/rules-cache built');
}

/** Runs `command`, passing Ctrl+C on to it, and resolves with its exit code. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'inherit', env, cwd: root });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('error', (error) => {
      console.error(`无法启动 / cannot start ${command}: ${error.message}`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 0 : 1));
    });
  });
}

async function main(args: string[]): Promise<number> {
  if (args.includes('--help')) {
    console.log('用法 / usage: npm start [-- --port N --data-dir DIR --no-open …]   (参数见 / flags: rxgate agent --help)');
    return 0;
  }
  await buildRenderer({ production: true, log: (line) => console.log(line) });
  const electron = findElectronBinary();
  if ('path' in electron) {
    buildDesktop();
    const env = { ...process.env };
    // Set by some tools to run Electron as plain Node; the desktop app needs the real thing.
    delete env.ELECTRON_RUN_AS_NODE;
    console.log(`启动桌面版 / starting the desktop app: ${electron.path}`);
    return run(electron.path, [root], env);
  }
  console.log(missingElectronMessage(electron.missing));
  return run(process.execPath, [join(root, 'bin', 'rxgate.js'), 'agent', ...args], process.env);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`启动失败 / start failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
