// Packages the extension as a platform-neutral .vsix with vsce (what a person installs), from the current dist/.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { e2eOut, repoRoot } from './paths';

/** `vsce package` into out/e2e/graftcert.vsix; .vscodeignore decides what goes in. Needs a built dist/. */
export function packageVsix(): string {
  if (!existsSync(join(repoRoot, 'dist', 'extension.js'))) {
    throw new Error('dist/extension.js is missing — run `npm run build` before packaging');
  }
  mkdirSync(e2eOut, { recursive: true });
  const vsix = join(e2eOut, 'graftcert.vsix');
  const vsce = join(repoRoot, 'node_modules', '@vscode', 'vsce', 'vsce');
  // No prompts: the manifest has no repository field and the project no LICENSE file (yet).
  const result = spawnSync(process.execPath, [vsce, 'package', '--allow-missing-repository', '--skip-license', '--out', vsix], {
    cwd: repoRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 180_000,
  });
  if (result.status !== 0 || !existsSync(vsix)) {
    throw new Error(`vsce package failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
  return vsix;
}
