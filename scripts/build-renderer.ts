/**
 * Builds the renderer into `dist/renderer/`: `index.html` (with the Content Security Policy),
 * `app.js` and `app.css`. Everything is bundled; nothing is fetched at run time (no CDN, no web
 * fonts), because ward PCs often have no internet and the CSP forbids it anyway.
 *
 *   node --import tsx scripts/build-renderer.ts [--dev] [--out DIR]
 *
 * Production (the default) is minified without source maps; `--dev` keeps names and adds
 * inline source maps.
 */
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { contentSecurityPolicy } from '../app/core/ui-assets';

const root = resolve(__dirname, '..');

export interface BuildRendererOptions {
  /** Minified, no source maps (default true). */
  production?: boolean;
  outDir?: string;
  log?: (line: string) => void;
}

/** Builds the renderer bundle; resolves with the files written. */
export async function buildRenderer(options: BuildRendererOptions = {}): Promise<{ outDir: string; files: string[] }> {
  const production = options.production ?? true;
  const outDir = resolve(options.outDir ?? join(root, 'dist', 'renderer'));
  const started = Date.now();
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: { app: join(root, 'renderer', 'main.tsx') },
    outdir: outDir,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    // Electron 40's Chromium and any Chrome/Edge a hospital still runs.
    target: ['chrome109', 'edge109'],
    jsx: 'automatic',
    minify: production,
    sourcemap: production ? false : 'inline',
    legalComments: production ? 'none' : 'inline',
    define: { 'process.env.NODE_ENV': JSON.stringify(production ? 'production' : 'development') },
    // Node built-ins must never reach the renderer (test/boundaries.test.ts checks the sources).
    external: [],
    logLevel: 'warning',
    metafile: true,
  });
  const template = readFileSync(join(root, 'renderer', 'index.html'), 'utf8');
  const html = template.replace('%CONTENT_SECURITY_POLICY%', contentSecurityPolicy('browser'));
  writeFileSync(join(outDir, 'index.html'), html);
  const files = ['index.html', ...Object.keys(result.metafile.outputs).map((file) => file.slice(file.lastIndexOf('/') + 1))];
  options.log?.(`renderer: ${files.join(', ')} → ${outDir} (${production ? 'production' : 'development'}, ${Date.now() - started} ms)`);
  return { outDir, files };
}

if (require.main === module) {
  const args = process.argv.slice(2);
  if (args.includes('--help')) {
    console.log('用法 / usage: node --import tsx scripts/build-renderer.ts [--dev] [--out DIR]');
    process.exit(0);
  }
  const outIndex = args.indexOf('--out');
  buildRenderer({
    production: !args.includes('--dev'),
    outDir: outIndex >= 0 ? args[outIndex + 1] : undefined,
    log: (line) => console.log(line),
  }).catch((error: unknown) => {
    console.error(`渲染进程构建失败 / renderer build failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
