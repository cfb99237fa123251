// Both cores for CROWN's backward rows: chainRows split between this thread and one helper thread, fork-join.
//
// The rows of a backward pass are independent, so the second half goes to a helper worker that holds a copy of
// the chain plan (sent once per plan) while this thread computes the first half; this thread then blocks on an
// Atomics flag until the helper has written its half into shared memory. Each row is computed by the same code
// in both threads, so the result equals the one-thread result exactly. The helper is used only on the main thread
// (certify and verify workers already keep the cores busy), once a plan has been used a few times (a one-shot bound
// computation does not pay for starting the helper and copying the plan), and for passes big enough to pay for the hand-off. Any failure
// of the helper (it did not start, threw, or took too long) falls back to computing that half here.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker, isMainThread } from 'node:worker_threads';
import { type ChainPlan, type ChainStart, chainRows } from './chain';
import type { Relaxation } from './ops/types';
import type { Region } from './region';

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
      /** Int32 status at byte 0 (0 pending, 1 done, 2 failed), then the rows' results as float64 from byte 8. */
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

/** The helper's script: the bundle's `bounds-worker.js` beside the bundle, or worker.ts under tsx (as certify's pool). */
function helperEntry(): { file: string; execArgv: string[] | undefined } {
  if (__filename.endsWith('.ts')) {
    const tsxRequireHook = 'tsx/cjs';
    return { file: join(__dirname, 'worker.ts'), execArgv: ['--require', require.resolve(tsxRequireHook)] };
  }
  return { file: join(__dirname, 'bounds-worker.js'), execArgv: undefined };
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

function rowCount(start: ChainStart): number {
  return start.kind === 'neurons' ? start.neurons.length : start.count;
}

function slice(start: ChainStart, from: number, to: number, width: number): ChainStart {
  return start.kind === 'neurons'
    ? { kind: 'neurons', neurons: start.neurons.slice(from, to) }
    : { kind: 'matrix', rows: start.rows.slice(from * width, to * width), count: to - from };
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
  // Rows sorted by cost would balance better; halves are close enough for the uniform rows of one level.
  const half = Math.ceil(rows / 2);
  const width = start.kind === 'matrix' ? start.rows.length / start.count : 0;
  const theirs = slice(start, half, rows, width);
  const buffer = new SharedArrayBuffer(8 + 8 * 2 * (rows - half));
  const status = new Int32Array(buffer, 0, 1);
  const needed: [number, Relaxation][] = [];
  for (let m = 1; m < k; m++) {
    const r = relaxations.get(plan.act[m]);
    if (r !== undefined) needed.push([plan.act[m], r]);
  }
  h.worker.postMessage({ type: 'rows', plan: planId, relaxations: needed, regionId, region, k, start: theirs, buffer } satisfies BoundsWorkerMessage);

  const mine = chainRows(plan, relaxations, region, k, slice(start, 0, half, width));
  const result = new Float64Array(2 * rows);
  result.set(mine, 0);
  Atomics.wait(status, 0, 0, HELPER_DEADLINE_MS);
  if (Atomics.load(status, 0) === 1) {
    stats.handoffs++;
    result.set(new Float64Array(buffer, 8, 2 * (rows - half)), 2 * half);
  } else {
    stats.fallbacks++;
    // Failed or too slow: never trust a late write; stop using the helper and compute the half here.
    helper = null;
    void h.worker.terminate();
    result.set(chainRows(plan, relaxations, region, k, theirs), 2 * half);
  }
  return result;
}
