// Where the e2e harness finds the checkout, code-server, Chromium and its build output.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(__dirname, '..', '..', '..');
/** code-server 4.100.3, installed by scripts/setup-e2e.sh outside the project's dependencies. */
export const codeServerBin = join(repoRoot, '.tools', 'code-server', 'node_modules', '.bin', 'code-server');
export const chromiumPath = process.env.GRAFTCERT_CHROMIUM ?? '/usr/bin/chromium';
/** Bundled test code (ignored by git). */
export const e2eOut = join(repoRoot, 'out', 'e2e');
/** Screenshots, logs and result files, kept after a run for a person to look at (ignored by git). */
export const artifactsDir = join(repoRoot, '.test-artifacts', 'e2e');
/** The executable handed to @vscode/test-electron's runTests as "VS Code". */
export const codeWebWrapper = join(repoRoot, 'scripts', 'e2e', 'code-web');

export function assertToolsInstalled(): void {
  if (!existsSync(codeServerBin)) {
    throw new Error(`code-server is not installed at ${codeServerBin} — run: bash scripts/setup-e2e.sh`);
  }
  if (!existsSync(chromiumPath)) {
    throw new Error(`Chromium is not installed at ${chromiumPath} — run: bash scripts/setup-e2e.sh`);
  }
}
