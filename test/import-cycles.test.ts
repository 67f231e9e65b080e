/**
 * No import cycles among the agent's modules (type-only imports included: a cycle of types is
 * still two modules that cannot be understood apart). The transport depends on the services
 * through app/core/surface.ts; nothing below a transport imports one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = join(__dirname, '..');

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files.push(...sourceFiles(path));
    else if (/\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name)) files.push(path);
  }
  return files;
}

/** Relative imports of a file, resolved to files. */
function localImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/(?:import|export)\s[^'";]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/g)) {
    const base = resolve(dirname(file), match[1]!);
    const target = [`${base}.ts`, `${base}.tsx`, join(base, 'index.ts')].find((candidate) => existsSync(candidate));
    if (target) found.push(target);
  }
  return found;
}

test('app/core, app/main and rules-cache have no import cycles', () => {
  const files = ['app/core', 'app/main', 'app/preload', 'rules-cache'].flatMap((dir) => sourceFiles(join(root, dir)));
  const graph = new Map(files.map((file) => [file, localImports(file)]));
  const cycles: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'visiting') {
      cycles.push([...stack.slice(stack.indexOf(file)), file].map((entry) => relative(root, entry)).join(' → '));
      return;
    }
    state.set(file, 'visiting');
    stack.push(file);
    for (const next of graph.get(file) ?? []) visit(next);
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of files) visit(file);
  assert.deepEqual(cycles, []);
});

test('nothing below the transport imports it, and the server does not import the agent', () => {
  const transport = join(root, 'app', 'core', 'transport');
  for (const file of sourceFiles(join(root, 'app', 'core'))) {
    if (file.startsWith(transport) || file.endsWith(`${join('core', 'agent.ts')}`)) continue;
    for (const target of localImports(file)) assert.ok(!target.startsWith(transport), `${relative(root, file)} imports ${relative(root, target)}`);
  }
  for (const file of sourceFiles(transport)) {
    assert.ok(!localImports(file).includes(join(root, 'app', 'core', 'agent.ts')), `${relative(root, file)} imports the agent`);
  }
});
