// The graftcert language server: LSP/JSON-RPC over stdio; custom graftcert/* requests do the heavy work.
import { type InitializeResult, ProposedFeatures, TextDocumentSyncKind, createConnection } from 'vscode-languageserver/node';
import { backendStatusNotification } from './protocol/requests';
import { EditorFeatures } from './server/editor-features';
import { implementedMethods, registerHandlers } from './server/handlers';

const version = '0.1.0';

// Default to stdio when started without a transport flag (e.g. `node dist/server.js` in a test);
// the `--stdio` path also routes console.log to the client instead of corrupting stdout.
const transportFlags = ['--stdio', '--node-ipc', '--socket', '--pipe'];
if (!process.argv.slice(2).some((arg) => transportFlags.some((flag) => arg === flag || arg.startsWith(flag + '=')))) {
  process.argv.push('--stdio');
}

const connection = createConnection(ProposedFeatures.all);

const features = new EditorFeatures(connection);

connection.onInitialize((params): InitializeResult => {
  features.initialize(params);
  return {
    capabilities: {
      // Hover, inlay hints, CodeLens and diagnostics for the model text view and .vnnlib files.
      textDocumentSync: TextDocumentSyncKind.Incremental,
      hoverProvider: true,
      inlayHintProvider: true,
      codeLensProvider: { resolveProvider: false },
      experimental: { graftcert: { methods: implementedMethods, pid: process.pid } },
    },
    serverInfo: { name: 'graftcert', version },
  };
});

connection.onInitialized(() => {
  features.initialized();
  void reportComputeBackend();
});

/** Chooses the tfjs backend (GRAFTCERT_BACKEND, else auto) off the start-up path and tells the client which one it got. */
async function reportComputeBackend(): Promise<void> {
  try {
    const { backendPreferenceFromEnv, initBackend } = await import('./tensor/backend');
    const choice = await initBackend(backendPreferenceFromEnv(), { log: (message) => connection.console.log(message) });
    await connection.sendNotification(backendStatusNotification, { backend: choice.name, detail: choice.fallbackReason });
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    await connection.sendNotification(backendStatusNotification, { backend: null, detail }).catch(() => undefined);
  }
}

features.register();
registerHandlers(connection, features);

// A bug in a handler's async tail must not take the backend down with every open view.
process.on('uncaughtException', (error) => connection.console.error(`uncaught exception: ${error.stack ?? error.message}`));
process.on('unhandledRejection', (reason) => connection.console.error(`unhandled rejection: ${String(reason)}`));

connection.listen();
