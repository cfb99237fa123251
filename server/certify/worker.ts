// Certification worker thread: loads the model itself (by path), then certifies the samples the pool sends it.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { loadModelBytes, loadModelFile } from '../onnx/load';
import { type CertifySettings, SampleCertifier, type SampleOutcome } from './sample';

/** `workerData` of a certification worker. */
export interface WorkerInit {
  modelFile: string;
  /** When given, decoded instead of reading `modelFile` (which then only labels messages). */
  modelBytes?: Uint8Array;
  settings: CertifySettings;
}

/** Pool → worker: certify these samples (`inputs` holds them contiguously, C order). */
export interface WorkerTask {
  type: 'task';
  indices: number[];
  labels: number[];
  inputs: Float32Array;
}

/** Worker → pool. */
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'outcomes'; outcomes: SampleOutcome[] }
  | { type: 'error'; message: string; stack?: string };

function serve(): void {
  const port = parentPort!;
  const reply = (message: WorkerReply) => port.postMessage(message);
  let certifier: SampleCertifier;
  try {
    const init = workerData as WorkerInit;
    const model = init.modelBytes ? loadModelBytes(init.modelBytes, init.modelFile) : loadModelFile(init.modelFile);
    certifier = new SampleCertifier(model.graph, init.settings);
  } catch (error) {
    reply(errorReply(error));
    return;
  }
  port.on('message', (task: WorkerTask) => {
    try {
      const size = task.inputs.length / task.indices.length;
      const outcomes = task.indices.map((index, k) =>
        certifier.certify(index, task.inputs.subarray(k * size, (k + 1) * size), task.labels[k]),
      );
      reply({ type: 'outcomes', outcomes });
    } catch (error) {
      reply(errorReply(error));
    }
  });
  reply({ type: 'ready' });
}

function errorReply(error: unknown): WorkerReply {
  return error instanceof Error
    ? { type: 'error', message: error.message, stack: error.stack }
    : { type: 'error', message: String(error) };
}

if (!isMainThread && parentPort !== null) serve();
