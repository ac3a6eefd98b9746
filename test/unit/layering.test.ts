/**
 * The folders of src/ form layers: reading every import of every file (the TypeScript compiler's own
 * pre-processor, so `import type`, `export … from`, `require` and `import()` all count), no folder
 * may depend on another that depends back on it, however indirectly. Each top-level file (app.ts,
 * config.ts, log.ts, …) is a layer of its own: the composition root imports every folder, and the
 * folders may import the shared ones (config, log) without a cycle. Also: src/lti decides and
 * src/web renders (never the other way round), and nothing but the dev harness imports src/dev.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '../..');
const SRC = path.join(ROOT, 'src');

interface Import {
  from: string;
  to: string;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

/** The file a relative specifier names, as TypeScript would find it; null if there is none. */
function resolve(fromFile: string, specifier: string): string | null {
  const base = path.resolve(path.dirname(fromFile), specifier);
  const candidates = [base, `${base}.ts`, `${base}.d.ts`, path.join(base, 'index.ts'), base.replace(/\.js$/, '.ts')];
  return candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile()) ?? null;
}

/** Every relative import between files of src/ (package imports are not layers). */
function importsOf(files: string[]): { imports: Import[]; unresolved: string[] } {
  const imports: Import[] = [];
  const unresolved: string[] = [];
  for (const file of files) {
    const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    for (const ref of info.importedFiles) {
      if (!ref.fileName.startsWith('.')) continue;
      const target = resolve(file, ref.fileName);
      if (!target) unresolved.push(`${rel(file)} → ${ref.fileName}`);
      else if (target.startsWith(SRC + path.sep)) imports.push({ from: file, to: target });
    }
  }
  return { imports, unresolved };
}

const rel = (file: string) => path.relative(ROOT, file).split(path.sep).join('/');

/** `src/<folder>` for a file in a folder of src/, the file itself for a top-level one. */
function layerOf(file: string): string {
  return `src/${path.relative(SRC, file).split(path.sep)[0]}`;
}

/** Layer → layer, each edge with one import that makes it (the first found). */
function layerGraph(imports: Import[]): Map<string, Map<string, Import>> {
  const graph = new Map<string, Map<string, Import>>();
  for (const i of imports) {
    const a = layerOf(i.from);
    const b = layerOf(i.to);
    if (a === b) continue;
    const out = graph.get(a) ?? new Map<string, Import>();
    if (!out.has(b)) out.set(b, i);
    graph.set(a, out);
  }
  return graph;
}

/**
 * One cycle per group of layers that reach each other (Tarjan's strongly connected components),
 * written as `a → b (file imports file) → … → a`; empty when the layers form a DAG.
 */
export function layerCycles(graph: Map<string, Map<string, Import>>): string[] {
  const nodes = [...new Set([...graph.keys(), ...[...graph.values()].flatMap((m) => [...m.keys()])])].sort();
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of [...(graph.get(v)?.keys() ?? [])].sort()) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) groups.push(group.sort());
    }
  };
  for (const v of nodes) if (!index.has(v)) visit(v);

  return groups.map((group) => {
    // A shortest way back to the group's first layer, from that layer, inside the group.
    const start = group[0]!;
    const inGroup = new Set(group);
    const previous = new Map<string, string>();
    const queue = [start];
    let closing: string | undefined;
    while (queue.length > 0 && !closing) {
      const v = queue.shift()!;
      for (const w of [...(graph.get(v)?.keys() ?? [])].sort()) {
        if (!inGroup.has(w)) continue;
        if (w === start) {
          closing = v;
          break;
        }
        if (!previous.has(w)) {
          previous.set(w, v);
          queue.push(w);
        }
      }
    }
    const pathBack: string[] = [closing!];
    while (pathBack[0] !== start) pathBack.unshift(previous.get(pathBack[0]!)!);
    pathBack.push(start);
    return pathBack
      .map((layer, i) => {
        if (i === 0) return layer;
        const edge = graph.get(pathBack[i - 1]!)!.get(layer)!;
        return `→ ${layer} (${rel(edge.from)} imports ${rel(edge.to)})`;
      })
      .join(' ');
  });
}

const files = sourceFiles(SRC);
const { imports, unresolved } = importsOf(files);
const graph = layerGraph(imports);

test('every relative import of src/ is read and resolved (so the checks below miss none)', () => {
  expect(unresolved).toEqual([]);
  // The reader sees the kinds of import the code uses: a value import, a type-only one, a re-export.
  const edges = (from: string) => new Set(imports.filter((i) => rel(i.from) === from).map((i) => rel(i.to)));
  expect(edges('src/app.ts').has('src/ltijsAdapter.ts')).toBe(true);
  expect(edges('src/web/ports.ts').has('src/isnotai/types.ts')).toBe(true);
  expect(edges('src/store/index.ts').has('src/store/cache.ts')).toBe(true);
});

test('the cycle finder names a cycle between layers, with the imports that make it', () => {
  const edge = (from: string, to: string): Import => ({ from: path.join(ROOT, from), to: path.join(ROOT, to) });
  const fake = layerGraph([
    edge('src/a/x.ts', 'src/b/y.ts'),
    edge('src/b/y.ts', 'src/c/z.ts'),
    edge('src/c/z.ts', 'src/a/w.ts'),
    edge('src/c/z.ts', 'src/d.ts'),
  ]);
  expect(layerCycles(fake)).toEqual([
    'src/a → src/b (src/a/x.ts imports src/b/y.ts) → src/c (src/b/y.ts imports src/c/z.ts) → src/a (src/c/z.ts imports src/a/w.ts)',
  ]);
  expect(layerCycles(layerGraph([edge('src/a/x.ts', 'src/b/y.ts'), edge('src/b/y.ts', 'src/d.ts')]))).toEqual([]);
});

test('no import cycle between the folders of src/', () => {
  expect(layerCycles(graph)).toEqual([]);
});

test('src/lti decides and src/web renders: nothing in src/lti imports src/web', () => {
  const wrongWay = imports
    .filter((i) => layerOf(i.from) === 'src/lti' && layerOf(i.to) === 'src/web')
    .map((i) => `${rel(i.from)} imports ${rel(i.to)}`);
  expect(wrongWay).toEqual([]);
});

test('nothing outside src/dev imports the dev harness', () => {
  const intoDev = imports
    .filter((i) => layerOf(i.from) !== 'src/dev' && layerOf(i.to) === 'src/dev')
    .map((i) => `${rel(i.from)} imports ${rel(i.to)}`);
  expect(intoDev).toEqual([]);
});
