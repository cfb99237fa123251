// Mocha inside the extension host: runs every *.test.js bundled next to this file, reports counts to the harness.
//
// Adding a test: drop a `<name>.test.ts` into test/integration/suite/ (mocha "tdd" UI: suite/test/
// suiteSetup); the e2e runner bundles each one on its own and this file picks it up.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';

export interface SuiteResults {
  passed: number;
  failed: number;
  pending: number;
  failures: { title: string; error: string }[];
}

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 60_000, reporter: 'spec' });
  const grep = process.env.GRAFTCERT_E2E_GREP;
  if (grep) mocha.grep(grep);
  const files = readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort();
  for (const file of files) mocha.addFile(join(__dirname, file));

  return new Promise((resolve, reject) => {
    const failures: SuiteResults['failures'] = [];
    const runner = mocha.run((failed) => {
      const stats = runner.stats;
      const results: SuiteResults = {
        passed: stats?.passes ?? 0,
        failed: stats?.failures ?? failed,
        pending: stats?.pending ?? 0,
        failures,
      };
      const resultsFile = process.env.GRAFTCERT_E2E_RESULTS;
      if (resultsFile) writeFileSync(resultsFile, JSON.stringify(results, null, 2));
      if (files.length === 0) reject(new Error(`no *.test.js files next to ${__filename}`));
      else if (failed > 0) reject(new Error(`${failed} extension-host test(s) failed`));
      else resolve();
    });
    runner.on('fail', (test, error: Error) => failures.push({ title: test.fullTitle(), error: error?.stack ?? String(error) }));
  });
}
