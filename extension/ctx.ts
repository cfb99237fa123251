// The extension's context: owns the backend client and two disposal scopes (extension lifetime, server instance).
import * as vscode from 'vscode';
import { type LanguageClient, State } from 'vscode-languageclient/node';
import { backendStatusNotification } from '../server/protocol/requests';
import { CrashHandler, createClient } from './client';
import { Config } from './config';
import { StatusItem } from './status';
import { LongRunConsent } from './trust';

/** How long a restart waits for the old backend to exit before abandoning it. */
const stopTimeoutMs = 2000;
/** How long a request waits for a crashed backend that the client is restarting. */
const restartWaitMs = 30_000;

export class Ctx {
  readonly config = new Config();
  /** Restricted Mode: whether the user allowed long runs this session. */
  readonly longRunConsent = new LongRunConsent();
  readonly outputChannel: vscode.OutputChannel;
  private readonly status: StatusItem;
  private client: LanguageClient | undefined;
  /** Disposed when the current backend instance stops (restart, deactivate). */
  private serverScope: vscode.Disposable[] = [];
  private starting: Promise<LanguageClient> | undefined;
  /** Requests now running, by a private id: their titles show in the status item. */
  private readonly jobs = new Map<number, { title: string; fail: (error: Error) => void }>();
  private nextJobId = 1;
  private readonly jobsChanged = new vscode.EventEmitter<readonly string[]>();
  /** Fires with the titles of the jobs in flight whenever one starts or ends. */
  readonly onDidChangeJobs = this.jobsChanged.event;

  constructor(readonly extCtx: vscode.ExtensionContext) {
    this.outputChannel = vscode.window.createOutputChannel('graftcert');
    this.status = new StatusItem();
    this.pushExtCleanup(this.outputChannel);
    this.pushExtCleanup(this.status);
    this.pushExtCleanup(this.jobsChanged);
  }

  /** The status item's text and tooltip (tests read it). */
  get statusShown(): { text: string; tooltip: string } {
    return this.status.shown;
  }

  /** The backend's process id (initialize → capabilities.experimental.graftcert.pid); undefined while none runs. */
  get backendPid(): number | undefined {
    const experimental = this.client?.initializeResult?.capabilities.experimental as { graftcert?: { pid?: unknown } } | undefined;
    const pid = experimental?.graftcert?.pid;
    return this.client?.state === State.Running && typeof pid === 'number' ? pid : undefined;
  }

  /** The custom methods the running backend answers (initialize → capabilities.experimental.graftcert.methods). */
  serverMethods(client: LanguageClient): readonly string[] {
    const experimental = client.initializeResult?.capabilities.experimental as { graftcert?: { methods?: unknown } } | undefined;
    const methods = experimental?.graftcert?.methods;
    return Array.isArray(methods) ? methods.filter((m): m is string => typeof m === 'string') : [];
  }

  /**
   * Runs one request against the backend as a job: it shows in the status item while it runs, and if
   * the backend dies meanwhile it rejects with a sentence saying the work was lost (never silently).
   */
  async runJob<T>(title: string, work: (client: LanguageClient) => Promise<T>): Promise<T> {
    const client = await this.getClient();
    const id = this.nextJobId++;
    let fail!: (error: Error) => void;
    const lost = new Promise<never>((_, reject) => {
      fail = reject;
    });
    this.jobs.set(id, { title, fail });
    this.publishJobs();
    try {
      return await Promise.race([work(client), lost]);
    } finally {
      this.jobs.delete(id);
      this.publishJobs();
    }
  }

  private publishJobs(): void {
    const titles = [...this.jobs.values()].map((j) => j.title);
    this.status.setJobs(titles);
    this.jobsChanged.fire(titles);
  }

  /**
   * The backend process exited on its own: fail what was running (with a BackendLostError, which the
   * commands do not announce again) and tell the user once, naming the work that was lost.
   */
  private backendCrashed(willRestart: boolean): void {
    const lostJobs = [...this.jobs.values()];
    const lost = lostJobs.length > 0 ? `; ${lostJobs.map((j) => j.title).join(', ')} was lost — run it again` : '';
    for (const job of lostJobs) job.fail(new BackendLostError(`the backend stopped unexpectedly while ${job.title}; that work was lost — run it again`));
    this.outputChannel.appendLine(`graftcert: the backend stopped unexpectedly${lost}; ${willRestart ? 'restarting it' : 'it has stopped too often and was not restarted'}.`);
    if (willRestart) {
      this.status.set('starting');
      const message = `graftcert: the backend stopped unexpectedly${lost}; it is being restarted (Show Backend Output has its log).`;
      const shown = lostJobs.length > 0 ? vscode.window.showErrorMessage(message, 'Show Output') : vscode.window.showWarningMessage(message, 'Show Output');
      void shown.then((choice) => {
        if (choice === 'Show Output') this.outputChannel.show(true);
      });
    } else {
      this.status.set('error', 'the backend stopped unexpectedly too often');
      void vscode.window
        .showErrorMessage(`graftcert: the backend stopped unexpectedly 5 times in 3 minutes and was not restarted${lostJobs.length > 0 ? ` (${lostJobs.map((j) => j.title).join(', ')} was lost)` : ''} — see its output, then run Restart Backend.`, 'Show Output', 'Restart Backend')
        .then((choice) => {
          if (choice === 'Show Output') this.outputChannel.show(true);
          else if (choice === 'Restart Backend') void vscode.commands.executeCommand('graftcert.restartBackend');
        });
    }
  }

  /** Lives as long as the extension. */
  pushExtCleanup(disposable: vscode.Disposable): void {
    this.extCtx.subscriptions.push(disposable);
  }

  /** Lives as long as the current backend instance. */
  pushServerCleanup(disposable: vscode.Disposable): void {
    this.serverScope.push(disposable);
  }

  /** The running client, starting the backend first if needed. Rejects with the start failure. */
  async getClient(): Promise<LanguageClient> {
    if (this.starting) return this.starting;
    const client = this.client;
    if (client?.state === State.Running) return client;
    // The client restarts a crashed backend by itself; wait for that rather than start a second one.
    if (client?.state === State.Starting) return untilRunning(client);
    return this.restart();
  }

  start(): Promise<LanguageClient> {
    this.starting ??= this.startOnce().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async startOnce(): Promise<LanguageClient> {
    this.status.set('starting');
    const client = createClient(this.extCtx.extensionPath, this.config, this.outputChannel, new CrashHandler((willRestart) => this.backendCrashed(willRestart)));
    this.client = client;
    this.pushServerCleanup(client.onNotification(backendStatusNotification, (p) => this.status.setComputeBackend(p.backend, p.detail)));
    this.pushServerCleanup(
      client.onDidChangeState((event) => {
        if (event.newState === State.Running) this.status.set('ready');
        else if (event.newState === State.Starting) this.status.set('starting');
        else this.status.set('error', 'the backend stopped');
      }),
    );
    try {
      await client.start();
    } catch (error) {
      // Drop the failed instance so the next getClient()/restart starts a fresh one.
      await this.stop();
      this.status.set('error', `the backend failed to start: ${messageOf(error)}`);
      throw error;
    }
    this.status.set('ready');
    return client;
  }

  /** Stops the backend within a bounded time, then disposes everything of that instance. */
  async stop(): Promise<void> {
    for (const job of this.jobs.values()) job.fail(new Error(`the backend was stopped while ${job.title}; that work was cancelled`));
    const client = this.client;
    this.client = undefined;
    const scope = this.serverScope;
    this.serverScope = [];
    for (const disposable of scope) disposable.dispose();
    if (client) {
      try {
        // dispose() stops the process (bounded by the timeout) and releases the client's listeners.
        await client.dispose(stopTimeoutMs);
      } catch (error) {
        this.outputChannel.appendLine(`graftcert: the old backend did not stop cleanly: ${messageOf(error)}`);
      }
    }
    this.status.set('stopped');
  }

  async restart(): Promise<LanguageClient> {
    await this.stop();
    return this.start();
  }
}

/** Resolves when the client is running again, rejects when it gives up or takes too long. */
function untilRunning(client: LanguageClient): Promise<LanguageClient> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      listener.dispose();
      reject(new Error(`the backend did not come back within ${restartWaitMs / 1000} s`));
    }, restartWaitMs);
    const listener = client.onDidChangeState((event) => {
      if (event.newState === State.Starting) return;
      clearTimeout(timer);
      listener.dispose();
      if (event.newState === State.Running) resolve(client);
      else reject(new Error('the backend stopped while restarting'));
    });
  });
}

/** A job failed because the backend died under it; the crash notice already told the user. */
export class BackendLostError extends Error {
  override readonly name = 'BackendLostError';
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
