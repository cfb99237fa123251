// The shipped backend (dist/server.js) over real LSP stdio: initialize, graftcert/inspect, survival after bad models.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import {
  ErrorCodes,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  type InitializeResult,
  LSPErrorCodes,
  LogMessageNotification,
  type MessageConnection,
  ResponseError,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  createMessageConnection,
} from 'vscode-languageserver-protocol/node';
import { type InspectParams, inspectRequest } from '../../server/protocol/requests';

const root = resolve(__dirname, '..', '..');
const serverJs = join(root, 'dist', 'server.js');
const fcSmall = resolve(root, '..', 'shared', 'benchmarks', 'lirpa', 'models', 'fc_small.onnx');
const fcSmallParameters = 784 * 100 + 100 + 100 * 100 + 100 + 100 * 10 + 10;

let server: ChildProcess;
let connection: MessageConnection;
let initializeResult: InitializeResult;
let scratch = '';
const logMessages: string[] = [];
let serverStderr = '';

before(async () => {
  // `npm test` builds first; a lone run of this file builds only when the bundle is missing.
  if (!existsSync(serverJs)) {
    const build = spawnSync(process.execPath, [join(root, 'esbuild.mjs')], { cwd: root, encoding: 'utf8' });
    assert.equal(build.status, 0, `build failed:\n${build.stderr}`);
  }
  scratch = mkdtempSync(join(tmpdir(), 'graftcert-server-'));
  server = spawn(process.execPath, [serverJs, '--stdio'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  server.stderr!.on('data', (chunk: Buffer) => (serverStderr += chunk.toString()));
  connection = createMessageConnection(new StreamMessageReader(server.stdout!), new StreamMessageWriter(server.stdin!));
  connection.onNotification(LogMessageNotification.type, (params) => logMessages.push(params.message));
  connection.listen();
  initializeResult = await connection.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: null,
    capabilities: {},
    workspaceFolders: null,
  });
  await connection.sendNotification(InitializedNotification.type, {});
});

after(async () => {
  if (server.exitCode === null) {
    const exited = new Promise<number | null>((done) => server.once('exit', (code) => done(code)));
    await connection.sendRequest(ShutdownRequest.type);
    await connection.sendNotification(ExitNotification.type);
    const code = await Promise.race([exited, new Promise<'timeout'>((done) => setTimeout(() => done('timeout'), 5000))]);
    if (code === 'timeout') server.kill();
    assert.equal(code, 0, 'the server should exit with 0 after shutdown + exit');
  }
  connection.dispose();
  rmSync(scratch, { recursive: true, force: true });
});

function inspect(params: InspectParams) {
  return connection.sendRequest(inspectRequest, params);
}

/** Awaits an error response (not a result, not a dead connection) and returns it. */
async function expectErrorResponse(params: InspectParams): Promise<ResponseError<unknown>> {
  try {
    const result = await inspect(params);
    assert.fail(`expected an error response, got ${JSON.stringify(result).slice(0, 200)}`);
  } catch (error) {
    assert.ok(error instanceof ResponseError, `expected a ResponseError, got ${String(error)}`);
    return error;
  }
}

test('initialize names the server and advertises graftcert/inspect', () => {
  assert.equal(initializeResult.serverInfo?.name, 'graftcert');
  const experimental = initializeResult.capabilities.experimental as { graftcert: { methods: string[] } };
  assert.ok(experimental.graftcert.methods.includes('graftcert/inspect'));
});

test('graftcert/inspect on fc_small.onnx (by path) reports its layers and parameters', async () => {
  const report = await inspect({ path: fcSmall });
  assert.equal(report.reluLayers.length, 2);
  assert.deepEqual(report.reluLayers.map((l) => l.size), [100, 100]);
  assert.equal(report.totalParameters, fcSmallParameters);
  assert.deepEqual(report.inputs[0].shape, [1, 1, 28, 28]);
  assert.deepEqual(report.outputs[0].shape, [1, 10]);
  assert.deepEqual(report.nodes.map((n) => n.opType), ['Flatten', 'Gemm', 'Relu', 'Gemm', 'Relu', 'Gemm']);
});

test('graftcert/inspect accepts a file: URI', async () => {
  const report = await inspect({ uri: pathToFileURL(fcSmall).href });
  assert.equal(report.totalParameters, fcSmallParameters);
});

test('a garbage model gives a one-sentence error response and the server keeps serving', async () => {
  const garbage = join(scratch, 'garbage.onnx');
  writeFileSync(garbage, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) % 251)));
  const error = await expectErrorResponse({ path: garbage });
  assert.equal(error.code, LSPErrorCodes.RequestFailed);
  assert.deepEqual(error.data, { kind: 'bad-input' });
  assert.ok(error.message.includes(basename(garbage)), error.message);
  assert.doesNotMatch(error.message, /\n/);
  assert.equal(server.exitCode, null, 'the server died');

  const report = await inspect({ path: fcSmall });
  assert.equal(report.totalParameters, fcSmallParameters);
  assert.ok(logMessages.some((m) => m.includes(basename(garbage))), 'the failure is logged to the client');
});

test('a text file, a missing file and a directory are error responses too', async () => {
  const text = join(scratch, 'notes.onnx');
  writeFileSync(text, 'not a model\n'.repeat(100));
  for (const path of [text, join(scratch, 'missing.onnx'), scratch]) {
    const error = await expectErrorResponse({ path });
    assert.equal(error.code, LSPErrorCodes.RequestFailed, `${path}: ${error.message}`);
  }
  assert.equal((await inspect({ path: fcSmall })).reluLayers.length, 2);
});

test('malformed params are InvalidParams, not a crash', async () => {
  for (const params of [{}, { path: fcSmall, uri: pathToFileURL(fcSmall).href }] as InspectParams[]) {
    const error = await expectErrorResponse(params);
    assert.equal(error.code, ErrorCodes.InvalidParams, error.message);
  }
  assert.equal(server.exitCode, null, `the server died: ${serverStderr}`);
});

test('an unknown graftcert method answers MethodNotFound and the server lives on', async () => {
  await assert.rejects(connection.sendRequest('graftcert/noSuchMethod', { path: fcSmall }), (error: unknown) => {
    assert.ok(error instanceof ResponseError);
    assert.equal(error.code, ErrorCodes.MethodNotFound);
    return true;
  });
});
