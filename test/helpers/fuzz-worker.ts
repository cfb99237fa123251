// The fuzz worker: runs the cases it is given (test/helpers/fuzz.ts) and reports each one's start and outcome.
import { parentPort, workerData } from 'node:worker_threads';
import { workerMain, type WorkerData, type WorkerMessage } from './fuzz';

workerMain(workerData as WorkerData, (m: WorkerMessage) => parentPort!.postMessage(m));
