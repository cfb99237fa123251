// Where a worker thread's script is: the bundle's `<name>.js` beside `cli.js`/`server.js` (esbuild.mjs builds one
// per worker), or, when graftcert runs as TypeScript (tests and benches under tsx), the worker's own `.ts` file with
// tsx's CommonJS hook. (Node 20 does not apply ESM loader hooks given as `--import tsx` to a worker's own entry, so
// the require hook it is.)
import { join } from 'node:path';

export interface WorkerEntry {
  readonly file: string;
  readonly execArgv: string[] | undefined;
}

/** `source`: the worker's .ts file (the caller's `join(__dirname, ...)`); `bundle`: its bundle's file name in dist/. */
export function workerEntry(source: string, bundle: string): WorkerEntry {
  if (__filename.endsWith('.ts')) {
    // Through a variable: the bundles never take this branch, and esbuild should not try to resolve tsx for them.
    const tsxRequireHook = 'tsx/cjs';
    return { file: source, execArgv: ['--require', require.resolve(tsxRequireHook)] };
  }
  return { file: join(__dirname, bundle), execArgv: undefined };
}
