// Creates the LanguageClient that runs the graftcert backend (dist/server.js) as a Node process over stdio.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { type LanguageClientOptions, LanguageClient, type ServerOptions, TransportKind } from 'vscode-languageclient/node';
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

export function createClient(
  extensionPath: string,
  config: Config,
  outputChannel: vscode.OutputChannel,
): LanguageClient {
  const module = serverModulePath(extensionPath, config);
  const env = { ...process.env, ...config.serverExtraEnv };
  // With `module`, the client forks Node (ELECTRON_RUN_AS_NODE under desktop VS Code) itself.
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.stdio, options: { env } },
    debug: { module, transport: TransportKind.stdio, options: { env, execArgv: ['--nolazy', '--inspect=6010'] } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector,
    outputChannel,
    // A crashed backend is restarted by the client a few times; our status item shows the rest.
    initializationFailedHandler: () => false,
  };
  return new LanguageClient(clientId, 'graftcert backend', serverOptions, clientOptions);
}
