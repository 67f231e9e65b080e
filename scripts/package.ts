/**
 * `npm run package`: installers for the ward PCs (docs/deployment.md).
 *
 *   npm run package -- [--linux] [--win] [--arch x64,arm64] [--dry-run]
 *
 * Defaults: the platform this runs on; Linux builds deb and AppImage for x64 and arm64,
 * Windows builds the NSIS installer for x64. Steps:
 *
 * 1. build the renderer (minified), the main process, preload, core and hub (`dist/`), and the
 *    hub's console (`dist/hub-console/`);
 * 2. write `dist/build-resources/`: the icon (drawn by app/main/tray-model.ts) and the deb
 *    maintainer scripts (electron-builder's own, with installer/linux-after-*.sh appended);
 * 3. per architecture, rebuild better-sqlite3 for Electron with electron-builder's
 *    `install-app-deps` and package with electron-builder;
 * 4. put the Node build of better-sqlite3 back, so tests and the headless agent keep working.
 *
 * Rebuilding native modules for Electron happens only here, never in `postinstall`.
 * Electron, its headers and the NSIS tools are downloaded by electron-builder, so this needs
 * network access to their download hosts (or their caches); `--dry-run` shows the plan without.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { iconPng } from '../app/main/tray-model';
import { buildConsole } from '../hub/console/build';
import { BUILT_CONSOLE_DIR } from '../hub/paths';
import { buildRenderer } from './build-renderer';
import { buildDesktop } from './start';

const root = join(__dirname, '..');
const builderDir = join(root, 'node_modules', 'electron-builder');
const templatesDir = join(root, 'node_modules', 'app-builder-lib', 'templates', 'linux');
const resourcesDir = join(root, 'dist', 'build-resources');
const nativeBuild = join(root, 'node_modules', 'better-sqlite3', 'build');
const nativeBackup = join(root, 'release', '.better-sqlite3-node-build');

type Platform = 'linux' | 'win';
type Arch = 'x64' | 'arm64';

export interface PackagePlan {
  platform: Platform;
  arch: Arch;
  targets: string[];
}

/** What to build for the given flags on `hostPlatform`. */
export function packagePlan(args: string[], hostPlatform: NodeJS.Platform): PackagePlan[] {
  const platforms: Platform[] = [];
  if (args.includes('--linux')) platforms.push('linux');
  if (args.includes('--win')) platforms.push('win');
  if (platforms.length === 0) platforms.push(hostPlatform === 'win32' ? 'win' : 'linux');
  const archIndex = args.indexOf('--arch');
  const requested = archIndex >= 0 ? (args[archIndex + 1] ?? '').split(',').filter(Boolean) : undefined;
  for (const arch of requested ?? []) {
    if (arch !== 'x64' && arch !== 'arm64') throw new Error(`不支持的架构 / unsupported arch: ${arch} (x64, arm64)`);
  }
  const plans: PackagePlan[] = [];
  for (const platform of platforms) {
    const arches = (requested as Arch[] | undefined) ?? (platform === 'linux' ? ['x64', 'arm64'] : ['x64']);
    for (const arch of arches) plans.push({ platform, arch, targets: platform === 'linux' ? ['deb', 'AppImage'] : ['nsis'] });
  }
  return plans;
}

/** electron-builder's own maintainer script with RxGate's steps after it. */
export function maintainerScript(builderTemplate: string, rxgateSteps: string): string {
  return `${builderTemplate.trimEnd()}\n\n${rxgateSteps.trimEnd()}\n`;
}

function writeBuildResources(): void {
  mkdirSync(resourcesDir, { recursive: true });
  writeFileSync(join(resourcesDir, 'icon.png'), iconPng('ok', 512));
  for (const [template, steps, output] of [
    ['after-install.tpl', 'linux-after-install.sh', 'after-install.tpl'],
    ['after-remove.tpl', 'linux-after-remove.sh', 'after-remove.tpl'],
  ] as const) {
    const builderTemplate = readFileSync(join(templatesDir, template), 'utf8');
    const rxgateSteps = readFileSync(join(root, 'installer', steps), 'utf8');
    writeFileSync(join(resourcesDir, output), maintainerScript(builderTemplate, rxgateSteps));
  }
}

function runNode(script: string, args: string[], dryRun: boolean): void {
  console.log(`$ node ${script.replace(`${root}/`, '')} ${args.join(' ')}`);
  if (dryRun) return;
  const result = spawnSync(process.execPath, [script, ...args], { stdio: 'inherit', cwd: root });
  if (result.status !== 0) throw new Error(`失败 / failed (exit ${String(result.status)}): ${script} ${args.join(' ')}`);
}

async function main(args: string[]): Promise<void> {
  if (args.includes('--help')) {
    console.log('用法 / usage: npm run package -- [--linux] [--win] [--arch x64,arm64] [--dry-run]');
    return;
  }
  const dryRun = args.includes('--dry-run');
  const plans = packagePlan(args, process.platform);
  const demo = join(root, 'rules-cache', 'demo', 'demo-rules.json');
  if (!existsSync(demo)) throw new Error(`缺少内置演示规则库 / missing the demo library: ${demo}`);

  await buildRenderer({ production: true, log: (line) => console.log(line) });
  buildDesktop();
  // `rxgate hub` serves the console from here; the package has no esbuild to build it on first start.
  await buildConsole({ outDir: join(root, BUILT_CONSOLE_DIR), production: true, log: (line) => console.log(line) });
  writeBuildResources();
  console.log(`build resources: ${resourcesDir}`);

  if (existsSync(nativeBuild) && !dryRun) {
    rmSync(nativeBackup, { recursive: true, force: true });
    cpSync(nativeBuild, nativeBackup, { recursive: true });
  }
  try {
    for (const plan of plans) {
      const platformFlag = plan.platform === 'win' ? 'win32' : 'linux';
      // better-sqlite3 for this Electron and architecture (prebuilt when available, else compiled).
      runNode(join(builderDir, 'install-app-deps.js'), [`--platform=${platformFlag}`, `--arch=${plan.arch}`], dryRun);
      runNode(
        join(builderDir, 'cli.js'),
        ['--config', 'electron-builder.yml', `--${plan.platform}`, ...plan.targets, `--${plan.arch}`, '--publish', 'never'],
        dryRun,
      );
    }
  } finally {
    if (existsSync(nativeBackup) && !dryRun) {
      rmSync(nativeBuild, { recursive: true, force: true });
      cpSync(nativeBackup, nativeBuild, { recursive: true });
      rmSync(nativeBackup, { recursive: true, force: true });
      console.log('better-sqlite3: Node 版本已恢复 / the Node build is back in node_modules');
    }
  }
  console.log(dryRun ? '(--dry-run: 未打包 / nothing packaged)' : `安装包 / installers: ${join(root, 'release')}`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(`打包失败 / packaging failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
