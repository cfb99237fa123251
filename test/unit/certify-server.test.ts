// graftcert/bounds, graftcert/certify and graftcert/cancel on the shipped backend (dist/server.js) over LSP stdio.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import {
  CancellationTokenSource,
  ErrorCodes,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  type InitializeResult,
  LSPErrorCodes,
  type MessageConnection,
  type ProgressToken,
  ResponseError,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  type WorkDoneProgressBegin,
  type WorkDoneProgressEnd,
  type WorkDoneProgressReport,
  WorkDoneProgressCreateRequest,
  createMessageConnection,
} from 'vscode-languageserver-protocol/node';
import { computeBounds, linfBall, marginSpec, toBoundsReport } from '../../server/bounds/index';
import { certifyDataSet } from '../../server/certify/dataset';
import { loadDataSet } from '../../server/data/index';
import { loadModelFile } from '../../server/onnx/load';
import { boundsRequest, cancelRequest, type CertifyParams, certifyRequest } from '../../server/protocol/requests';
import { repoRoot, tempDir, writeModel } from '../helpers/onnx-models';
import { softmaxMlpSpec } from './certify-fixtures';

const serverJs = join(repoRoot, 'dist', 'server.js');
const fcSmall = resolve(repoRoot, '..', 'shared', 'benchmarks', 'lirpa', 'models', 'fc_small.onnx');

type ProgressValue = WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd;

let server: ChildProcess;
let connection: MessageConnection;
let initializeResult: InitializeResult;
let serverStderr = '';
const createdTokens: ProgressToken[] = [];
const progress = new Map<string, ProgressValue[]>();
const progressListeners: ((token: string, value: ProgressValue) => void)[] = [];

before(async () => {
  if (!existsSync(serverJs) || !existsSync(join(repoRoot, 'dist', 'certify-worker.js'))) {
    const build = spawnSync(process.execPath, [join(repoRoot, 'esbuild.mjs')], { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(build.status, 0, `build failed:\n${build.stderr}`);
  }
  server = spawn(process.execPath, [serverJs, '--stdio'], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
  server.stderr!.on('data', (chunk: Buffer) => (serverStderr += chunk.toString()));
  connection = createMessageConnection(new StreamMessageReader(server.stdout!), new StreamMessageWriter(server.stdin!));
  connection.onRequest(WorkDoneProgressCreateRequest.type, (params) => {
    createdTokens.push(params.token);
  });
  connection.onNotification('$/progress', (params: { token: ProgressToken; value: ProgressValue }) => {
    const token = String(params.token);
    progress.set(token, [...(progress.get(token) ?? []), params.value]);
    for (const listener of progressListeners) listener(token, params.value);
  });
  connection.listen();
  initializeResult = await connection.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: null,
    capabilities: { window: { workDoneProgress: true } },
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
  }
  connection.dispose();
});

async function expectError(request: Promise<unknown>): Promise<ResponseError<unknown>> {
  try {
    const result = await request;
    assert.fail(`expected an error response, got ${JSON.stringify(result).slice(0, 200)}`);
  } catch (error) {
    assert.ok(error instanceof ResponseError, `expected a ResponseError, got ${String(error)}`);
    assert.doesNotMatch(error.message, /\n/);
    return error;
  }
}

test('initialize advertises bounds, certify and cancel', () => {
  const methods = (initializeResult.capabilities.experimental as { graftcert: { methods: string[] } }).graftcert.methods;
  for (const m of ['graftcert/bounds', 'graftcert/certify', 'graftcert/cancel']) assert.ok(methods.includes(m), m);
});

test('graftcert/bounds answers the engine\'s BoundsReport (margin, clip, default centre)', async () => {
  const x0 = Array.from(loadDataSet('mnist', { count: 1 }).inputs);
  const report = await connection.sendRequest(boundsRequest, { path: fcSmall, eps: 0.02, center: x0, clip: [0, 1], margin: 7 });
  const expected = toBoundsReport(
    computeBounds(loadModelFile(fcSmall).graph, linfBall(x0, 0.02, [0, 1]), { method: 'crown', spec: marginSpec(10, 7) }),
    0.02,
    { label: 7, others: [0, 1, 2, 3, 4, 5, 6, 8, 9] },
  );
  assert.deepEqual({ ...report, time_s: 0 }, { ...expected, time_s: 0 });
  assert.equal(report.margin?.lower.length, 9);

  const plain = await connection.sendRequest(boundsRequest, { path: fcSmall, eps: 0.01, method: 'ibp' });
  assert.equal(plain.method, 'ibp');
  assert.equal(plain.margin, null);
  assert.equal(plain.layers.length, 2);
  plain.output.lower.forEach((l, i) => assert.ok(l <= plain.output.upper[i]));
});

test('graftcert/bounds: bad input is a one-sentence error, malformed params InvalidParams', async () => {
  for (const params of [
    { path: fcSmall, eps: 0 },
    { path: fcSmall, eps: 0.1, center: [0.5, 0.5] },
    { path: fcSmall, eps: 0.1, margin: 10 },
  ]) {
    const error = await expectError(connection.sendRequest(boundsRequest, params));
    assert.equal(error.code, LSPErrorCodes.RequestFailed, error.message);
    assert.deepEqual(error.data, { kind: 'bad-input' });
  }
  const bad = await expectError(connection.sendRequest(boundsRequest, { path: fcSmall, eps: 0.1, method: 'pgd' as never }));
  assert.equal(bad.code, ErrorCodes.InvalidParams);

  const spec = softmaxMlpSpec();
  const softmax = writeModel(tempDir('graftcert-certify-server-'), 'softmax.onnx', spec);
  const unsupported = await expectError(connection.sendRequest(boundsRequest, { path: softmax, eps: 0.1 }));
  assert.equal(unsupported.code, LSPErrorCodes.RequestFailed);
  assert.match(unsupported.message, /softmax\.onnx: crown cannot bound this op: Softmax/);
  assert.equal(server.exitCode, null, `the server died: ${serverStderr}`);
});

test('graftcert/certify matches the library, reporting progress on the client\'s token', async () => {
  const params: CertifyParams = { path: fcSmall, data: 'mnist', count: 12, eps: 0.01, workDoneToken: 'certify-1' };
  const report = await connection.sendRequest(certifyRequest, params);
  const local = await certifyDataSet(loadModelFile(fcSmall), loadDataSet('mnist', { count: 12 }), { eps: 0.01, workers: 1 });
  assert.deepEqual(report.samples, local.samples);
  assert.deepEqual(report.layers, local.layers);
  assert.equal(report.certified_accuracy, local.certified_accuracy);
  assert.equal(report.data, 'mnist');
  assert.equal(report.cancelled, false);
  const events = progress.get('certify-1') ?? [];
  assert.equal(events[0]?.kind, 'begin');
  assert.equal(events.at(-1)?.kind, 'end');
  assert.ok(events.some((e) => e.kind === 'report' && e.percentage === 100), JSON.stringify(events));
});

test('graftcert/certify without a token creates its own progress; bad data is a bad-input error', async () => {
  const before = createdTokens.length;
  const report = await connection.sendRequest(certifyRequest, { path: fcSmall, data: 'mnist', count: 2, eps: 0.01, workers: 1 });
  assert.equal(report.count, 2);
  assert.equal(report.workers, 1);
  assert.equal(createdTokens.length, before + 1);
  assert.equal(progress.get(String(createdTokens.at(-1)))?.at(-1)?.kind, 'end');

  const missing = await expectError(connection.sendRequest(certifyRequest, { path: fcSmall, data: '/nowhere/x.json', eps: 0.01 }));
  assert.equal(missing.code, LSPErrorCodes.RequestFailed);
  assert.match(missing.message, /x\.json: does not exist/);
  const eps = await expectError(connection.sendRequest(certifyRequest, { path: fcSmall, data: 'mnist', eps: -1 }));
  assert.equal(eps.code, LSPErrorCodes.RequestFailed);
  assert.equal(server.exitCode, null, `the server died: ${serverStderr}`);
});

/** Resolves once `token` has reported at least `done` samples. */
function progressReached(token: string, done: number): Promise<void> {
  return new Promise((resolveReached) => {
    progressListeners.push((t, value) => {
      if (t === token && value.kind === 'report' && Number(/^(\d+)\//.exec(value.message ?? '')?.[1]) >= done) resolveReached();
    });
  });
}

test('graftcert/cancel stops a job by id and the answer is the partial report', async () => {
  const pending = connection.sendRequest(certifyRequest, { path: fcSmall, data: 'mnist', count: 200, eps: 0.01, jobId: 'job-7', workDoneToken: 'certify-7' });
  await progressReached('certify-7', 2);
  assert.deepEqual(await connection.sendRequest(cancelRequest, { jobId: 'job-7' }), { cancelled: true });
  const report = await pending;
  assert.equal(report.cancelled, true);
  assert.ok(report.count >= 2 && report.count < 200, `${report.count} samples`);
  assert.deepEqual(await connection.sendRequest(cancelRequest, { jobId: 'job-7' }), { cancelled: false });
});

test('$/cancelRequest stops an in-process certify run as well', async () => {
  const source = new CancellationTokenSource();
  const pending = connection.sendRequest(certifyRequest, { path: fcSmall, data: 'mnist', count: 200, eps: 0.01, workers: 1, workDoneToken: 'certify-8' }, source.token);
  await progressReached('certify-8', 2);
  source.cancel();
  const report = await pending;
  assert.equal(report.cancelled, true);
  assert.ok(report.count < 200);
  assert.equal(server.exitCode, null, `the server died: ${serverStderr}`);
});
