// The pages' scripts stay small modules: no file of web/js over 300 lines, and no cycle among
// their imports (a page's entry imports its parts, the parts import helpers, never the entry).
// Each relative import must name a file that exists, and only names that file exports. Reads the
// files only: no browser, no portal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../web/js');
const MAX_LINES = 300;

/** Every .js file under `dir`, as absolute paths. */
function scripts(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return scripts(path);
    return e.name.endsWith('.js') ? [path] : [];
  });
}

/** The static imports of a module: `import { a, b as c } from './x.js'`, `import x from …`,
 * `import * as x from …`, `import './x.js'`; `names` are the named imports. */
function imports(source) {
  const found = [];
  const re = /^\s*import\s+(?:([^'";]*?)\s+from\s+)?['"]([^'"]+)['"]/gm;
  for (const [, clause = '', specifier] of source.matchAll(re)) {
    const braces = clause.match(/\{([\s\S]*)\}/);
    const names = braces ? braces[1].split(',').map((n) => n.trim().split(/\s+as\s+/)[0]).filter(Boolean) : [];
    found.push({ specifier, names });
  }
  return found;
}

/** The names a module exports (`export function f`, `export const x`, `export { a, b as c }`). */
function exportsOf(source) {
  const names = new Set();
  for (const [, name] of source.matchAll(/^\s*export\s+(?:\/\*[\s\S]*?\*\/\s*)?(?:async\s+)?(?:function\*?|const|let|var|class)\s+([\w$]+)/gm)) names.add(name);
  for (const [, list] of source.matchAll(/^\s*export\s*\{([^}]*)\}/gm)) {
    for (const n of list.split(',')) { const name = n.trim().split(/\s+as\s+/).pop(); if (name) names.add(name); }
  }
  return names;
}

const files = scripts(ROOT);
const sources = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));
const name = (f) => relative(ROOT, f);

test(`no script of web/js is over ${MAX_LINES} lines`, () => {
  const long = files.map((f) => [name(f), sources.get(f).split('\n').length - (sources.get(f).endsWith('\n') ? 1 : 0)])
    .filter(([, lines]) => lines > MAX_LINES);
  assert.deepEqual(long, [], `split these modules: ${long.map(([f, n]) => `${f} (${n} lines)`).join(', ')}`);
});

test('the imports of web/js resolve, name exports, and form no cycle', () => {
  const graph = new Map();
  const problems = [];
  for (const f of files) {
    const edges = [];
    for (const { specifier, names } of imports(sources.get(f))) {
      if (!specifier.startsWith('.')) { problems.push(`${name(f)} imports ${specifier}, not a file of web/js`); continue; }
      const target = resolve(dirname(f), specifier);
      if (!existsSync(target) || !sources.has(target)) { problems.push(`${name(f)} imports ${specifier}, which is missing`); continue; }
      const exported = exportsOf(sources.get(target));
      for (const n of names.filter((x) => !exported.has(x))) problems.push(`${name(f)} imports ${n} from ${specifier}, which does not export it`);
      edges.push(target);
    }
    graph.set(f, edges);
  }
  assert.deepEqual(problems, []);
  // Depth-first: a module met again while it is still on the path closes a cycle.
  const done = new Set();
  const path = [];
  const cycles = [];
  const visit = (f) => {
    if (path.includes(f)) { cycles.push([...path.slice(path.indexOf(f)), f].map(name).join(' → ')); return; }
    if (done.has(f)) return;
    path.push(f);
    for (const g of graph.get(f)) visit(g);
    path.pop();
    done.add(f);
  };
  for (const f of files) visit(f);
  assert.deepEqual(cycles, [], `import cycles: ${cycles.join('; ')}`);
  assert.ok(files.length > 10 && [...graph.values()].some((e) => e.length > 3), 'the test found the modules and their imports');
});
