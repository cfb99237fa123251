// Creates the LanguageClient that runs the graftcert backend (dist/server.js) as a Node process over stdio.
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  CloseAction,
  type CloseHandlerResult,
  ErrorAction,
  type ErrorHandler,
  type LanguageClientOptions,
  LanguageClient,
  type ServerOptions,
  TransportKind,
} from 'vscode-languageclient/node';
import type { Config } from './config';

export const clientId = 'graftcert';

/** The documents the backend serves: the model text view and VNN-LIB property files. */
export const documentSelector = [
  { scheme: 'graftcert-model', language: 'onnx-text' },
  { language: 'vnnlib' },
];

export function serverModulePath(extensionPath: string, config: Config): string {
  const custom = config.serverPath;
  if (custom === '') return path.join(extensionPath, 'dist', 'server.js');
  return path.isAbsolute(custom) ? custom : path.join(extensionPath, custom);
}

/** How many unexpected exits within `crashWindowMs` are restarted before giving up. */
const maxRestarts = 4;
const crashWindowMs = 3 * 60_000;

/**
 * Restarts a backend that exits unexpectedly (a few times), and tells the Ctx each time so work in
 * flight is reported as failed and the user hears about it.
 */
export class CrashHandler implements ErrorHandler {
  private readonly exits: number[] = [];

  constructor(private readonly onCrash: (willRestart: boolean) => void) {}

  error(): { action: ErrorAction } {
    return { action: ErrorAction.Continue };
  }

  closed(): CloseHandlerResult {
    const now = Date.now();
    this.exits.push(now);
    while (this.exits.length > 0 && now - this.exits[0] > crashWindowMs) this.exits.shift();
    const willRestart = this.exits.length <= maxRestarts;
    this.onCrash(willRestart);
    return willRestart ? { action: CloseAction.Restart, handled: true } : { action: CloseAction.DoNotRestart, handled: true };
  }
}

export function createClient(
  extensionPath: string,
  config: Config,
  outputChannel: vscode.OutputChannel,
  errorHandler: ErrorHandler,
): LanguageClient {
  const module = serverModulePath(extensionPath, config);
  const env = { ...process.env, ...config.backendEnv() };
  // With `module`, the client forks Node (ELECTRON_RUN_AS_NODE under desktop VS Code) itself.
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.stdio, options: { env } },
    debug: { module, transport: TransportKind.stdio, options: { env, execArgv: ['--nolazy', '--inspect=6010'] } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector,
    outputChannel,
    errorHandler,
    initializationFailedHandler: () => false,
    // The server pulls `graftcert.*` (e.g. the unstable-share warning threshold) and hears of changes.
    synchronize: { configurationSection: 'graftcert' },
  };
  return new LanguageClient(clientId, 'graftcert backend', serverOptions, clientOptions);
}
