/**
 * Builds the hub's console into one folder: `index.html`, `console.js`, `console.css`.
 * Bundled with everything it needs, so the console works on a hospital LAN without internet.
 */
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packageRoot } from '../paths';

/** The console's sources, which stay in hub/console (the compiled build has no .tsx). */
const sourceDir = join(packageRoot(), 'hub', 'console');

export async function buildConsole(options: { outDir: string; production?: boolean; log?: (line: string) => void }): Promise<string> {
  const outDir = resolve(options.outDir);
  const production = options.production ?? true;
  const started = Date.now();
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: { console: join(sourceDir, 'main.tsx') },
    outdir: outDir,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['chrome109', 'edge109', 'firefox115'],
    jsx: 'automatic',
    minify: production,
    sourcemap: production ? false : 'inline',
    legalComments: 'none',
    define: { 'process.env.NODE_ENV': JSON.stringify(production ? 'production' : 'development') },
    logLevel: 'warning',
  });
  copyFileSync(join(sourceDir, 'index.html'), join(outDir, 'index.html'));
  options.log?.(`控制台已构建: ${outDir} (${Date.now() - started} ms)`);
  return outDir;
}

if (require.main === module) {
  buildConsole({ outDir: process.argv[2] ?? join(packageRoot(), 'dist', 'hub-console'), log: (line) => console.log(line) }).catch((error: unknown) => {
    console.error(`控制台构建失败: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
