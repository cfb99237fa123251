// Both cores for CROWN's backward rows: chainRows split between this thread and one helper thread, fork-join.
//
// The rows of a backward pass are independent, so they are cut into chunks that this thread and a helper worker
// (holding a copy of the chain plan, sent once per plan) claim from a shared counter and write into shared memory;
// this thread then waits on Atomics flags for the chunks the helper took. Each row is computed by the same code
// in both threads, so the result equals the one-thread result exactly. The helper is used only on the main thread
// (certify and verify workers already keep the cores busy), once a plan has been used a few times (a one-shot bound
// computation does not pay for starting the helper and copying the plan), and for passes big enough to pay for the hand-off. Any failure
// of the helper (it threw, or took too long) falls back to computing its chunks here.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker, isMainThread } from 'node:worker_threads';
import { type ChainPlan, type ChainStart, chainRows } from './chain';
import type { Relaxation } from './ops/types';
import type { Region } from './region';
import { type WorkerEntry, workerEntry } from '../worker-entry';

/** Estimated multiply-adds of a pass below which one thread is faster than a hand-off. */
const MIN_WORK = 4e5;
/** Passes over a plan done on this thread alone first: a one-shot computation never pays for the hand-off. */
const SERIAL_USES = 8;
/** How long this thread waits for the helper's half (start-up included) before computing it itself. */
const HELPER_DEADLINE_MS = 20_000;

/** Messages to the helper (server/bounds/worker.ts). */
export type BoundsWorkerMessage =
  | { type: 'plan'; id: number; plan: ChainPlan }
  | {
      type: 'rows';
      plan: number;
      relaxations: [number, Relaxation][];
      regionId: number;
      region: Region;
      k: number;
      start: ChainStart;
      /** Pieces of `start` to claim (see chunkOf, chunkLayout). */
      chunks: number;
      buffer: SharedArrayBuffer;
    };

interface Helper {
  readonly worker: Worker;
  readonly plans: WeakMap<ChainPlan, number>;
  nextPlan: number;
}

let helper: Helper | null | undefined;
/** Passes split with the helper, and halves the helper failed to deliver (tests and benches read them). */
const stats = { handoffs: 0, fallbacks: 0 };

export function boundsHelperStats(): { handoffs: number; fallbacks: number } {
  return { ...stats };
}
const uses = new WeakMap<ChainPlan, number>();
const regionIds = new WeakMap<Region, number>();
let nextRegion = 1;

function wanted(): boolean {
  if (!isMainThread) return false;
  if (process.env.GRAFTCERT_BOUND_THREADS === '1') return false;
  return availableParallelism() >= 2;
}

/** The bounds-worker thread's script (server/worker-entry.ts). */
function helperEntry(): WorkerEntry {
  return workerEntry(join(__dirname, 'worker.ts'), 'bounds-worker.js');
}

function startHelper(): Helper | null {
  try {
    const entry = helperEntry();
    if (!existsSync(entry.file)) return null;
    const worker = new Worker(entry.file, { execArgv: entry.execArgv });
    worker.unref(); // never keeps the process alive
    worker.on('error', () => {
      helper = null;
    });
    worker.on('exit', () => {
      helper = null;
    });
    return { worker, plans: new WeakMap(), nextPlan: 1 };
  } catch {
    return null;
  }
}

/** Closes the helper thread (tests; the process otherwise just exits with it). */
export async function stopBoundsHelper(): Promise<void> {
  const h = helper;
  helper = undefined;
  if (h) await h.worker.terminate();
}

export function rowCount(start: ChainStart): number {
  return start.kind === 'neurons' ? start.neurons.length : start.count;
}

/** Chunk c of `chunks` of a pass (both threads cut the same way): its first row and its rows as a start. */
export function chunkOf(start: ChainStart, c: number, chunks: number): { from: number; part: ChainStart } {
  const rows = rowCount(start);
  const from = Math.floor((c * rows) / chunks);
  const to = Math.floor(((c + 1) * rows) / chunks);
  if (start.kind === 'neurons') return { from, part: { kind: 'neurons', neurons: start.neurons.subarray(from, to) } };
  const width = start.rows.length / start.count;
  return { from, part: { kind: 'matrix', rows: start.rows.subarray(from * width, to * width), count: to - from } };
}

/** Rough multiply-adds of the pass: every row meets the input and each relaxed level's neurons. */
function work(plan: ChainPlan, k: number, rows: number): number {
  let width = plan.sizes[0];
  for (let m = 1; m < k; m++) width += plan.sizes[m];
  return 2 * rows * width;
}

/** chainRows on both cores where it pays; otherwise (or if the helper fails) on this thread alone. */
export function chainRowsParallel(
  plan: ChainPlan,
  relaxations: ReadonlyMap<number, Relaxation>,
  region: Region,
  k: number,
  start: ChainStart,
): Float64Array {
  const rows = rowCount(start);
  const used = (uses.get(plan) ?? 0) + 1;
  uses.set(plan, used);
  if (rows < 8 || used <= SERIAL_USES || work(plan, k, rows) < MIN_WORK || !wanted()) return chainRows(plan, relaxations, region, k, start);
  if (helper === undefined) helper = startHelper();
  const h = helper;
  if (h === null) return chainRows(plan, relaxations, region, k, start);

  let planId = h.plans.get(plan);
  if (planId === undefined) {
    planId = h.nextPlan++;
    h.plans.set(plan, planId);
    h.worker.postMessage({ type: 'plan', id: planId, plan } satisfies BoundsWorkerMessage);
  }
  let regionId = regionIds.get(region);
  if (regionId === undefined) regionIds.set(region, (regionId = nextRegion++));
  const chunks = Math.min(CHUNKS, Math.ceil(rows / 8));
  const layout = chunkLayout(chunks, rows);
  const buffer = new SharedArrayBuffer(layout.bytes);
  const control = new Int32Array(buffer, 0, 2 + chunks);
  const out = new Float64Array(buffer, layout.resultOffset, 2 * rows);
  const needed: [number, Relaxation][] = [];
  for (let m = 1; m < k; m++) {
    const r = relaxations.get(plan.act[m]);
    if (r !== undefined) needed.push([plan.act[m], r]);
  }
  h.worker.postMessage({ type: 'rows', plan: planId, relaxations: needed, regionId, region, k, start, chunks, buffer } satisfies BoundsWorkerMessage);

  // Both threads claim chunks from the shared counter until none is left: no thread waits on a slower half, and a
  // helper that is still starting up simply gets nothing.
  const computeChunk = (c: number): void => {
    const { from, part } = chunkOf(start, c, chunks);
    out.set(chainRows(plan, relaxations, region, k, part), 2 * from);
  };
  for (let c = Atomics.add(control, 0, 1); c < chunks; c = Atomics.add(control, 0, 1)) {
    computeChunk(c);
    Atomics.store(control, 2 + c, CHUNK_DONE_HERE);
  }
  const deadline = performance.now() + HELPER_DEADLINE_MS;
  let helped = false;
  for (let c = 0; c < chunks; c++) {
    let state = Atomics.load(control, 2 + c);
    while (state === CHUNK_PENDING && performance.now() < deadline) {
      Atomics.wait(control, 2 + c, CHUNK_PENDING, Math.max(1, deadline - performance.now()));
      state = Atomics.load(control, 2 + c);
    }
    if (state === CHUNK_DONE_THERE) helped = true;
    else if (state !== CHUNK_DONE_HERE) {
      // Failed or too slow: stop using the helper and compute the chunk here (a late write lands in this call's
      // buffer, which is copied out below and then dropped).
      stats.fallbacks++;
      helper = null;
      void h.worker.terminate();
      computeChunk(c);
    }
  }
  if (helped) stats.handoffs++;
  return Float64Array.from(out);
}

/** How many pieces a pass is cut into for the two threads to claim. */
const CHUNKS = 2;
/** Per-chunk states in the control array. */
export const CHUNK_PENDING = 0;
export const CHUNK_DONE_HERE = 1;
export const CHUNK_DONE_THERE = 2;
export const CHUNK_FAILED = 3;


/** The shared buffer: Int32 [next chunk, unused, state per chunk], then the 2·rows results as float64. */
export function chunkLayout(chunks: number, rows: number): { bytes: number; resultOffset: number } {
  const resultOffset = 8 * Math.ceil((4 * (2 + chunks)) / 8);
  return { bytes: resultOffset + 8 * 2 * rows, resultOffset };
}
