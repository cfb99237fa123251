// A pool of branch-and-bound worker threads: each gets the model's IR once and bounds the batches of domains it is
// sent; results and failures queue up here for bab.ts, which owns the heap and every verdict.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Graph } from '../../ir/graph';
import type { BabReply, BabRequest, BabWorkerInit, WireExpansion } from './bab-worker';
import { type WorkerEntry, workerEntry } from '../../worker-entry';

/** The bab-worker thread's script (server/worker-entry.ts). */
export function babWorkerEntry(): WorkerEntry {
  return workerEntry(join(__dirname, 'bab-worker.ts'), 'bab-worker.js');
}

/** As data-set certification's default: one thread per core, at most 2 (the machines this runs on). */
export function defaultBabWorkers(): number {
  return Math.max(1, Math.min(2, availableParallelism()));
}

let alive = 0;

/** Branch-and-bound worker threads of this process that have not exited yet (every pool together). */
export function babWorkersAlive(): number {
  return alive;
}

export interface PoolWorker {
  readonly index: number;
  /** The model is loaded: batches may be sent. */
  ready: boolean;
  /** It errored or exited: nothing more comes from it. */
  failed: boolean;
  /** Batches sent and not answered yet. */
  inflight: number;
  /** The search whose set-up it holds (−1: none). */
  search: number;
}

export type PoolEvent =
  | { type: 'expanded'; worker: PoolWorker; search: number; batch: number; results: WireExpansion[]; domains: number; time_ms: number }
  | { type: 'failed'; worker: PoolWorker; message: string };

export class BabPool {
  readonly workers: PoolWorker[] = [];
  /** Domains the workers bounded (all searches). */
  domains = 0;
  /** A counterexample a worker found was confirmed by the main thread. */
  counterexampleFromWorker = false;
  /** Milliseconds from start to the first ready worker (null before). */
  startup_ms: number | null = null;
  private readonly threads: Worker[] = [];
  private readonly exits: Promise<void>[] = [];
  private readonly started = performance.now();
  private events: PoolEvent[] = [];
  private wake: (() => void) | null = null;
  private closed = false;
  private searches = 0;

  /** Starts `size` workers on `graph`; null when the worker script is missing or the IR cannot be sent. */
  static start(graph: Graph, size: number): BabPool | null {
    if (!existsSync(babWorkerEntry().file)) return null;
    const pool = new BabPool();
    try {
      for (let i = 0; i < size; i++) pool.spawn(graph, i);
    } catch {
      void pool.close();
      return null;
    }
    return pool;
  }

  private spawn(graph: Graph, index: number): void {
    const entry = babWorkerEntry();
    const init: BabWorkerInit = { graph };
    // stdout/stderr are captured so nothing a worker prints can corrupt `--json` output or the LSP stream.
    const thread = new Worker(entry.file, { workerData: init, execArgv: entry.execArgv, stdout: true, stderr: true });
    alive++;
    const w: PoolWorker = { index, ready: false, failed: false, inflight: 0, search: -1 };
    this.workers.push(w);
    this.threads.push(thread);
    thread.unref();
    thread.stdout.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    thread.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    const fail = (message: string) => {
      if (w.failed) return;
      w.failed = true;
      if (!this.closed) this.push({ type: 'failed', worker: w, message });
    };
    thread.on('message', (m: BabReply) => {
      if (w.failed) return;
      if (m.type === 'ready') {
        w.ready = true;
        this.startup_ms ??= performance.now() - this.started;
        this.notify();
      } else if (m.type === 'expanded') {
        w.inflight--;
        this.domains += m.domains;
        this.push({ type: 'expanded', worker: w, search: m.search, batch: m.batch, results: m.results, domains: m.domains, time_ms: m.time_ms });
      } else {
        fail(`branch-and-bound worker: ${m.message}`);
        void thread.terminate();
      }
    });
    thread.on('error', (e) => fail(`branch-and-bound worker: ${e.message}`));
    this.exits.push(
      new Promise((resolve) =>
        thread.once('exit', (code) => {
          alive--;
          fail(`a branch-and-bound worker exited (code ${code})`);
          resolve();
        }),
      ),
    );
  }

  /** Workers that can take batches. */
  get ready(): PoolWorker[] {
    return this.workers.filter((w) => w.ready && !w.failed);
  }

  /** Workers not failed (ready or still loading). */
  get live(): number {
    return this.workers.filter((w) => !w.failed).length;
  }

  /** Threads started. */
  get size(): number {
    return this.workers.length;
  }

  /** A fresh search id: workers get its set-up before its first batch. */
  newSearch(): number {
    return this.searches++;
  }

  send(w: PoolWorker, message: BabRequest): void {
    if (this.closed || w.failed) return;
    if (message.type === 'expand') w.inflight++;
    this.threads[w.index].postMessage(message);
  }

  /** The events so far; when there are none, waits up to `ms` for one (or a worker becoming ready, or an abort). */
  async next(ms: number, signal?: AbortSignal): Promise<PoolEvent[]> {
    if (this.events.length === 0 && !this.closed && !signal?.aborted && ms > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          this.wake = null;
          resolve();
        };
        const timer = setTimeout(done, ms);
        signal?.addEventListener('abort', done);
        this.wake = done;
      });
    }
    const out = this.events;
    this.events = [];
    return out;
  }

  /** Terminates every worker (whatever it computes) and resolves once all have exited. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      for (const t of this.threads) void t.terminate();
      this.notify();
    }
    return Promise.all(this.exits).then(() => undefined);
  }

  private push(e: PoolEvent): void {
    this.events.push(e);
    this.notify();
  }

  private notify(): void {
    this.wake?.();
  }
}
