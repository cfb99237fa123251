// The graftcert language server: LSP/JSON-RPC over stdio; custom graftcert/* requests do the heavy work.
import { type InitializeResult, ProposedFeatures, createConnection } from 'vscode-languageserver/node';
import { implementedMethods, registerHandlers } from './server/handlers';

const version = '0.1.0';

// Default to stdio when started without a transport flag (e.g. `node dist/server.js` in a test);
// the `--stdio` path also routes console.log to the client instead of corrupting stdout.
const transportFlags = ['--stdio', '--node-ipc', '--socket', '--pipe'];
if (!process.argv.slice(2).some((arg) => transportFlags.some((flag) => arg === flag || arg.startsWith(flag + '=')))) {
  process.argv.push('--stdio');
}

const connection = createConnection(ProposedFeatures.all);

connection.onInitialize((): InitializeResult => ({
  capabilities: {
    // Hover, inlay hints and CodeLens for the model text view arrive with the bound engine.
    experimental: { graftcert: { methods: implementedMethods } },
  },
  serverInfo: { name: 'graftcert', version },
}));

registerHandlers(connection);

// A bug in a handler's async tail must not take the backend down with every open view.
process.on('uncaughtException', (error) => connection.console.error(`uncaught exception: ${error.stack ?? error.message}`));
process.on('unhandledRejection', (reason) => connection.console.error(`unhandled rejection: ${String(reason)}`));

connection.listen();
