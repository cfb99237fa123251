// The root bounds of big models in a worker thread: CROWN, then α-CROWN, while the main thread attacks; a worker can
// be stopped at the deadline, a synchronous bound pass cannot.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { BoundReply, BoundTask, BoundWorkerInit } from './worker';
import { type WorkerEntry, workerEntry } from '../../worker-entry';

/** The verify-worker thread's script (server/worker-entry.ts). */
export function verifyWorkerEntry(): WorkerEntry {
  return workerEntry(join(__dirname, 'worker.ts'), 'verify-worker.js');
}

/** One task's progress, updated as the worker replies. */
export interface RootJob {
  /** The best bounds so far (null before CROWN's). */
  latest: Extract<BoundReply, { type: 'bounds' }> | null;
  /** CROWN's own time, seconds (estimates the cost of later passes). */
  crownTime_s: number;
  done: boolean;
  error: string | null;
}

export class BoundWorker {
  private worker: Worker | null = null;
  private job: RootJob | null = null;

  constructor(private readonly modelFile: string) {}

  /** Whether a worker can be started here (its script exists). */
  static available(): boolean {
    return existsSync(verifyWorkerEntry().file);
  }

  run(task: BoundTask): RootJob {
    if (this.worker === null) this.start();
    const job: RootJob = { latest: null, crownTime_s: 0, done: false, error: null };
    this.job = job;
    this.worker!.postMessage(task);
    return job;
  }

  /** Stops the worker (and whatever it computes); a later task starts a fresh one. */
  stop(): void {
    if (this.job !== null && !this.job.done) {
      this.job.done = true;
      this.job.error ??= 'stopped';
    }
    this.job = null;
    const w = this.worker;
    this.worker = null;
    if (w !== null) void w.terminate();
  }

  private start(): void {
    const entry = verifyWorkerEntry();
    const init: BoundWorkerInit = { modelFile: this.modelFile };
    const w = new Worker(entry.file, { workerData: init, execArgv: entry.execArgv });
    w.unref();
    w.on('message', (m: BoundReply) => {
      const job = this.job;
      if (job === null || w !== this.worker) return;
      if (m.type === 'bounds') {
        job.latest = m;
        if (m.stage === 'crown') job.crownTime_s = m.time_s;
        if (m.last) job.done = true;
      } else if (m.type === 'error') {
        job.error = m.message;
        job.done = true;
      }
    });
    w.on('error', (e) => {
      if (w !== this.worker || this.job === null) return;
      this.job.error = e.message;
      this.job.done = true;
    });
    w.on('exit', () => {
      if (w !== this.worker || this.job === null || this.job.done) return;
      this.job.error = 'the bound worker exited';
      this.job.done = true;
    });
    this.worker = w;
  }
}
