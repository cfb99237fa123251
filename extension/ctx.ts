// The extension's context: owns the backend client and two disposal scopes (extension lifetime, server instance).
import * as vscode from 'vscode';
import { type LanguageClient, State } from 'vscode-languageclient/node';
import { createClient } from './client';
import { Config } from './config';
import { StatusItem } from './status';

/** How long a restart waits for the old backend to exit before abandoning it. */
const stopTimeoutMs = 2000;
/** How long a request waits for a crashed backend that the client is restarting. */
const restartWaitMs = 30_000;

export class Ctx {
  readonly config = new Config();
  readonly outputChannel: vscode.OutputChannel;
  private readonly status: StatusItem;
  private client: LanguageClient | undefined;
  /** Disposed when the current backend instance stops (restart, deactivate). */
  private serverScope: vscode.Disposable[] = [];
  private starting: Promise<LanguageClient> | undefined;

  constructor(readonly extCtx: vscode.ExtensionContext) {
    this.outputChannel = vscode.window.createOutputChannel('graftcert');
    this.status = new StatusItem();
    this.pushExtCleanup(this.outputChannel);
    this.pushExtCleanup(this.status);
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
    const client = createClient(this.extCtx.extensionPath, this.config, this.outputChannel);
    this.client = client;
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

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
