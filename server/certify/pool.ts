// A small worker_threads pool for data-set certification: one model per worker, samples handed out one at a time.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CertifySettings, SampleOutcome } from './sample';
import type { WorkerInit, WorkerReply, WorkerTask } from './worker';
import { type WorkerEntry, workerEntry } from '../worker-entry';

/** The samples of a run: `inputs` holds `labels.length` samples contiguously; `indices` are their source indices. */
export interface SampleBatch {
  indices: readonly number[];
  labels: ArrayLike<number>;
  inputs: Float32Array;
}

export interface PoolRun {
  modelFile: string;
  /** ONNX bytes each worker decodes instead of reading `modelFile`. */
  modelBytes?: Uint8Array;
  settings: CertifySettings;
  workers: number;
  samples: SampleBatch;
  /** Called once per finished sample, in completion order (not index order). */
  onOutcome(outcome: SampleOutcome): void;
  signal?: AbortSignal;
}

/** The certify-worker thread's script (server/worker-entry.ts). */
export function certifyWorkerEntry(): WorkerEntry {
  return workerEntry(join(__dirname, 'worker.ts'), 'certify-worker.js');
}

/** Runs every sample on `run.workers` threads; resolves `{ cancelled }` once all are done or the signal fired. */
export function runPool(run: PoolRun): Promise<{ cancelled: boolean }> {
  const entry = certifyWorkerEntry();
  if (!existsSync(entry.file)) {
    return Promise.reject(new Error(`the certification worker ${entry.file} is missing — rebuild with \`node esbuild.mjs\``));
  }
  const total = run.samples.indices.length;
  const size = total === 0 ? 0 : run.samples.inputs.length / total;
  const threads = Math.max(1, Math.min(run.workers, total));
  return new Promise((resolve, reject) => {
    const workers: Worker[] = [];
    let next = 0;
    let finished = 0;
    let settled = false;

    const stop = () => {
      run.signal?.removeEventListener('abort', onAbort);
      for (const w of workers) void w.terminate();
    };
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      stop();
      reject(error);
    };
    const onAbort = () => {
      if (settled) return;
      settled = true;
      stop();
      resolve({ cancelled: true });
    };
    if (run.signal?.aborted) {
      resolve({ cancelled: true });
      return;
    }
    run.signal?.addEventListener('abort', onAbort);

    // One sample per task keeps both threads busy to the end; a message costs microseconds against milliseconds of bounds.
    const sendNext = (worker: Worker) => {
      if (next >= total) return;
      const k = next++;
      const task: WorkerTask = {
        type: 'task',
        indices: [run.samples.indices[k]],
        labels: [run.samples.labels[k]],
        inputs: run.samples.inputs.slice(k * size, (k + 1) * size),
      };
      worker.postMessage(task);
    };

    for (let t = 0; t < threads; t++) {
      const init: WorkerInit = { modelFile: run.modelFile, modelBytes: run.modelBytes, settings: run.settings };
      // stdout/stderr are captured so nothing a worker prints can corrupt `--json` output or the LSP stream.
      const worker = new Worker(entry.file, { workerData: init, execArgv: entry.execArgv, stdout: true, stderr: true });
      worker.stdout.on('data', (chunk: Buffer) => process.stderr.write(chunk));
      worker.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
      workers.push(worker);
      worker.on('message', (message: WorkerReply) => {
        if (settled) return;
        if (message.type === 'ready') sendNext(worker);
        else if (message.type === 'error') {
          const error = new Error(`certification worker: ${message.message}`);
          if (message.stack) error.stack = `${error.message}\n(worker) ${message.stack}`;
          fail(error);
        } else {
          for (const outcome of message.outcomes) {
            run.onOutcome(outcome);
            finished++;
          }
          if (finished === total) {
            settled = true;
            stop();
            resolve({ cancelled: false });
          } else sendNext(worker);
        }
      });
      worker.on('error', (error) => fail(error));
      worker.on('exit', (code) => {
        if (!settled) fail(new Error(`a certification worker exited early (code ${code})`));
      });
    }
  });
}
