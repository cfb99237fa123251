// Starts and stops a private code-server (the real VS Code workbench + server) on a free loopback port.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeServerBin } from './paths';

/** How long code-server may take to answer /healthz (it takes ≈ 1.5 s on an idle machine). */
const healthDeadlineMs = 60_000;
/** How long a stop waits for code-server and its children to exit before killing them. */
const stopDeadlineMs = 5_000;

/** User settings that keep first-run UI (welcome page, tips, trust prompts) out of the tests' way. */
const quietSettings = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'window.restoreWindows': 'none',
};

export interface Profile {
  /** --user-data-dir; XDG config/data/cache dirs live under it so nothing lands in ~. */
  userDataDir: string;
  /** --extensions-dir */
  extensionsDir: string;
  /** Removes the folders when the profile was created here. */
  dispose(): void;
}

/**
 * User settings for a workbench with workspace trust on: no start-up prompt, so an opened folder that was never trusted
 * stays in Restricted Mode (pair with `workspaceTrust: true` in StartOptions).
 */
export const restrictedModeSettings = {
  'security.workspace.trust.enabled': true,
  'security.workspace.trust.startupPrompt': 'never',
  'security.workspace.trust.banner': 'always',
  'security.workspace.trust.untrustedFiles': 'open',
};

/** A fresh user-data-dir/extensions-dir pair (or the given ones), with quiet user settings (plus `settings` over them). */
export function createProfile(dirs: { userDataDir?: string; extensionsDir?: string } = {}, settings: Record<string, unknown> = {}): Profile {
  const owned = dirs.userDataDir === undefined ? mkdtempSync(join(tmpdir(), 'graftcert-e2e-')) : undefined;
  const userDataDir = dirs.userDataDir ?? join(owned!, 'user-data');
  const extensionsDir = dirs.extensionsDir ?? join(owned ?? userDataDir, 'extensions');
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  writeFileSync(join(userDataDir, 'User', 'settings.json'), JSON.stringify({ ...quietSettings, ...settings }, null, 2));
  return {
    userDataDir,
    extensionsDir,
    dispose: () => {
      if (owned) rmSync(owned, { recursive: true, force: true });
    },
  };
}

function codeServerEnv(profile: Profile, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    XDG_CONFIG_HOME: join(profile.userDataDir, 'xdg-config'),
    XDG_DATA_HOME: join(profile.userDataDir, 'xdg-data'),
    XDG_CACHE_HOME: join(profile.userDataDir, 'xdg-cache'),
    // code-server reads these before its flags; a developer's own settings must not leak in.
    PASSWORD: undefined,
    HASHED_PASSWORD: undefined,
    VSCODE_PROXY_URI: undefined,
    ...extra,
  };
}

/** `code-server --install-extension <vsix>` into the profile; throws with code-server's output on failure. */
export function installExtension(profile: Profile, vsix: string): void {
  const result = spawnSync(
    codeServerBin,
    ['--user-data-dir', profile.userDataDir, '--extensions-dir', profile.extensionsDir, '--install-extension', vsix, '--force'],
    { env: codeServerEnv(profile), encoding: 'utf8', timeout: 120_000 },
  );
  if (result.status !== 0) {
    throw new Error(`code-server --install-extension ${vsix} failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface CodeServer {
  readonly url: string;
  readonly port: number;
  /** A `vscode-remote://` URI for a path on this machine, as the workbench's payload wants it. */
  remoteUri(path: string): string;
  /** Stops code-server and everything it started (extension host, language servers). */
  stop(): Promise<void>;
}

export interface StartOptions {
  profile: Profile;
  /** Extra environment for code-server and so for the extension host and the backend. */
  env?: NodeJS.ProcessEnv;
  /** File that receives code-server's stdout and stderr. */
  logFile: string;
  /** Leave workspace trust on (no --disable-workspace-trust): for Restricted Mode tests. Default off. */
  workspaceTrust?: boolean;
}

/** Starts code-server on a free loopback port and resolves once /healthz answers. */
export async function startCodeServer(options: StartOptions): Promise<CodeServer> {
  const port = await freePort();
  const args = [
    '--bind-addr', `127.0.0.1:${port}`,
    '--auth', 'none',
    '--disable-telemetry',
    '--disable-update-check',
    ...(options.workspaceTrust ? [] : ['--disable-workspace-trust']),
    '--disable-getting-started-override',
    '--user-data-dir', options.profile.userDataDir,
    '--extensions-dir', options.profile.extensionsDir,
  ];
  const log = createWriteStream(options.logFile);
  // Its own process group, so stop() can end code-server's children with it.
  const child = spawn(codeServerBin, args, {
    env: codeServerEnv(options.profile, options.env),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const url = `http://127.0.0.1:${port}`;
  const stop = () => stopProcessGroup(child, exited).finally(() => log.end());
  try {
    await untilHealthy(url, exited, options.logFile);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    port,
    remoteUri: (path) => `vscode-remote://127.0.0.1:${port}${path}`,
    stop,
  };
}

async function untilHealthy(url: string, exited: Promise<number | null>, logFile: string): Promise<void> {
  const deadline = Date.now() + healthDeadlineMs;
  let early: number | null | undefined;
  void exited.then((code) => {
    early = code;
  });
  while (Date.now() < deadline) {
    if (early !== undefined) throw new Error(`code-server exited with code ${early} before it was ready; see ${logFile}`);
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`code-server did not answer ${url}/healthz within ${healthDeadlineMs / 1000} s; see ${logFile}`);
}

async function stopProcessGroup(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const group = -child.pid;
  try {
    process.kill(group, 'SIGTERM');
  } catch {
    return;
  }
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), stopDeadlineMs).unref());
  if ((await Promise.race([exited, timer])) === 'timeout') {
    try {
      process.kill(group, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
