import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// The layering docs/architecture.md describes, checked on the source itself so that a new import
// that breaks it fails here rather than in a reviewer's head.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Every relative module a file imports or re-exports (static, type-only and dynamic), as repo paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specs = new Set<string>();
  const patterns = [
    /^\s*(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]/gms,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) specs.add(m[1]!);
  const out: string[] = [];
  for (const spec of specs) {
    if (!spec.startsWith('.')) continue;
    const target = relative(root, resolve(root, dirname(file), spec)).replace(/\.js$/, '.ts');
    out.push(target);
  }
  return out;
}

const files = [...sources('src'), ...sources('sip'), ...sources('media')];
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const top = (path: string): string => path.split('/')[0]!;

function violations(from: (f: string) => boolean, to: (t: string) => boolean): string[] {
  const bad: string[] = [];
  for (const [f, targets] of graph) if (from(f)) for (const t of targets) if (to(t)) bad.push(`${f} → ${t}`);
  return bad;
}

describe('structure: import rules and file sizes', () => {
  it('the import scan sees the imports it should (so the rules below cannot pass vacuously)', () => {
    assert.ok(files.length > 100, `only ${files.length} source files found`);
    assert.ok(graph.get('src/boot/gateway.ts')!.includes('sip/index.ts'));
    assert.ok(graph.get('src/boot/coordination.ts')!.includes('src/leases/index.ts'));
    for (const targets of graph.values()) for (const t of targets) assert.ok(existsSync(join(root, t)), `unresolved import ${t}`);
  });

  it('sip/ imports nothing from src/ or media/', () => {
    assert.deepEqual(violations((f) => top(f) === 'sip', (t) => top(t) === 'src' || top(t) === 'media'), []);
  });

  it('media/ imports nothing from src/ or sip/', () => {
    assert.deepEqual(violations((f) => top(f) === 'media', (t) => top(t) === 'src' || top(t) === 'sip'), []);
  });

  it('src/leases imports neither src/pools nor sip/', () => {
    assert.deepEqual(violations((f) => f.startsWith('src/leases/'), (t) => t.startsWith('src/pools/') || top(t) === 'sip'), []);
  });

  it('src/pools imports nothing from the rest of src/ but the error base, nor sip/ or media/', () => {
    const allowed = (t: string) => t.startsWith('src/pools/') || t === 'src/errors.ts';
    assert.deepEqual(violations((f) => f.startsWith('src/pools/'), (t) => !allowed(t)), []);
  });

  it('no circular imports', () => {
    // Tarjan's strongly connected components: any component of more than one file is a cycle.
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const cycles: string[][] = [];
    let next = 0;
    const visit = (v: string): void => {
      index.set(v, next); low.set(v, next); next++;
      stack.push(v); onStack.add(v);
      for (const w of graph.get(v) ?? []) {
        if (!graph.has(w)) continue;
        if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
        else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
      if (low.get(v) === index.get(v)) {
        const component: string[] = [];
        let w: string;
        do { w = stack.pop()!; onStack.delete(w); component.push(w); } while (w !== v);
        if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
      }
    };
    for (const f of files) if (!index.has(f)) visit(f);
    assert.deepEqual(cycles, []);
  });

  it('no source file outside bench/ is over 400 lines', () => {
    // Files another branch is splitting right now; the lead removes these at merge.
    const beingSplit = new Set<string>([]);
    const over: string[] = [];
    for (const f of [...files, ...sources('test')]) {
      const lines = readFileSync(join(root, f), 'utf8').split('\n').length - 1;
      if (lines > 400 && !beingSplit.has(f)) over.push(`${f}: ${lines} lines`);
    }
    assert.deepEqual(over, []);
  });
});
