// A stand-in for the `code` executable: runs extension tests in code-server + headless Chromium, exits with their result.
//
// @vscode/test-electron's runTests({ vscodeExecutablePath }) spawns this (through scripts/e2e/code-web) with
// the usual VS Code test flags: --extensionDevelopmentPath=…, --extensionTestsPath=…, --user-data-dir=…,
// --extensions-dir=…, a workspace folder as a plain argument, and a few Electron flags that mean
// nothing here. The workbench calls window.codeAutomationExit(code) when the tests are done.
import { createWriteStream, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { format } from 'node:util';
import { launchChromium } from './browser';
import { createProfile, startCodeServer } from './code-server';
import { artifactsDir, assertToolsInstalled } from './paths';

/** A whole extension-test run (start, load, every test) must end within this. */
const runDeadlineMs = Number(process.env.GRAFTCERT_E2E_DEADLINE_MS ?? 10 * 60_000);

/**
 * Workbench start-up lines that say nothing about the tests (connection set-up; the marketplace at
 * open-vsx.org, which these machines cannot reach). They still go to exthost-console.log.
 */
const workbenchChatter = [
  /^Resolv(ing|ed) connection token/,
  /^Creating a socket/,
  /^Updating additional builtin extensions cache/,
  /^\[Service Worker\]/,
  /^ChatSessionStore:/,
  /open-vsx\.org/,
];

interface Invocation {
  developmentPaths: string[];
  testsPath: string;
  userDataDir?: string;
  extensionsDir?: string;
  folder?: string;
}

function parseArgs(argv: readonly string[]): Invocation {
  const developmentPaths: string[] = [];
  let testsPath: string | undefined;
  let userDataDir: string | undefined;
  let extensionsDir: string | undefined;
  let folder: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--extensionDevelopmentPath':
        developmentPaths.push(resolve(value()));
        break;
      case '--extensionTestsPath':
        testsPath = resolve(value());
        break;
      case '--user-data-dir':
        userDataDir = resolve(value());
        break;
      case '--extensions-dir':
        extensionsDir = resolve(value());
        break;
      default:
        // Electron/desktop flags (--no-sandbox, --disable-updates, …) have no meaning in code-server.
        if (!arg.startsWith('-')) folder = resolve(arg);
    }
  }
  if (!testsPath || developmentPaths.length === 0) {
    throw new Error('code-web needs --extensionDevelopmentPath=DIR and --extensionTestsPath=FILE (it only runs extension tests)');
  }
  return { developmentPaths, testsPath, userDataDir, extensionsDir, folder };
}

async function main(): Promise<number> {
  assertToolsInstalled();
  const invocation = parseArgs(process.argv.slice(2));
  mkdirSync(artifactsDir, { recursive: true });
  const profile = createProfile({ userDataDir: invocation.userDataDir, extensionsDir: invocation.extensionsDir });
  const server = await startCodeServer({ profile, logFile: join(artifactsDir, 'code-server-exthost.log') });
  const browser = await launchChromium().catch(async (error) => {
    await server.stop();
    throw error;
  });
  try {
    const page = await browser.newPage();
    const exitCode = new Promise<number>((resolveExit) => {
      void page.exposeFunction('codeAutomationExit', (code: number) => resolveExit(Number(code)));
    });
    const consoleLog = createWriteStream(join(artifactsDir, 'exthost-console.log'));
    await page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => {
      // The workbench forwards console calls as (format, ...values), mocha's reporter included.
      const line = format(...(Array.isArray(args) ? args : [args]));
      consoleLog.write(`[${type}] ${line}\n`);
      if (!workbenchChatter.some((pattern) => pattern.test(line))) (type === 'error' ? process.stderr : process.stdout).write(line + '\n');
    });
    page.on('pageerror', (error) => process.stderr.write(`code-web: page error: ${error.message}\n`));

    const payload = [
      ...invocation.developmentPaths.map((dir) => ['extensionDevelopmentPath', server.remoteUri(dir)]),
      ['extensionTestsPath', server.remoteUri(invocation.testsPath)],
      ['skipWelcome', 'true'],
    ];
    const query = new URLSearchParams({ payload: JSON.stringify(payload) });
    if (invocation.folder) query.set('folder', invocation.folder);
    await page.goto(`${server.url}/?${query.toString()}`);

    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<number>((resolveDeadline) => {
      timer = setTimeout(() => {
        process.stderr.write(`code-web: the extension tests did not finish within ${runDeadlineMs / 1000} s\n`);
        resolveDeadline(1);
      }, runDeadlineMs);
    });
    const code = await Promise.race([exitCode, deadline]);
    clearTimeout(timer);
    return code;
  } finally {
    await browser.close().catch(() => undefined);
    await server.stop();
    if (!invocation.userDataDir) profile.dispose();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`code-web: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
