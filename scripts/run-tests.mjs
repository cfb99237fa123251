// Runs the test files under test/ (or those given as arguments) with node's test runner, TypeScript via tsx.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

function collect(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (entry.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const args = process.argv.slice(2);
const dirs = args.length > 0 ? args : ['test/unit'];
const files = dirs
  .flatMap((d) => (statSync(join(root, d)).isDirectory() ? collect(join(root, d)) : [join(root, d)]))
  .sort()
  .map((f) => relative(root, f));
if (files.length === 0) {
  console.error('run-tests: no test files found under ' + dirs.join(', '));
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
