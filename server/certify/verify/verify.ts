// Complete verification of a VNN-LIB property: falsification, then CROWN/α-CROWN, then branch and bound.
import { buildBoundGraph, UnsupportedModelError, type BoundGraph } from '../../bounds/index';
import type { Graph } from '../../ir/graph';
import type { VnnlibProperty } from '../vnnlib/index';
import { attack, sampleSearch, type Counterexample } from './falsify';
import { seededRandom } from '../../tensor/random';
import { boundRows, type RowBounds } from './bounding';
import { BoundWorker } from './root';
import { inputSplit } from './input-split';
import { disjunctMargins, stackDisjuncts } from './property';
import { reluSplit } from './relu-split';
import { breathe, stopReason, type ParallelSettings, type PhaseTimes, type SearchContext, type SearchOutcome } from './search';
import { BabPool, defaultBabWorkers } from './bab-pool';

export type VerifyStatus = 'sat' | 'unsat' | 'timeout' | 'unknown' | 'error';
export type VerifyMethod = 'pgd' | 'bounds' | 'input-split' | 'relu-split';

export interface VerifyOptions {
  timeout_s: number;
  signal?: AbortSignal;
  seed?: number;
  /** Input dimension up to which branch and bound splits inputs instead of ReLUs. */
  inputSplitMaxDims?: number;
  /**
   * The model's file: when given (and the worker script exists), the root bounds of models too big to split inputs
   * run in a worker thread, stopped at the deadline, while this thread attacks.
   */
  modelFile?: string;
  /**
   * Threads for branch-and-bound domains; default min(2, available cores). 1 keeps every domain in this thread; more
   * start a pool of workers (each sent the model's IR once) when a search runs `workerStartAfter_s` undecided.
   */
  workers?: number;
  /**
   * Seconds the in-thread branch-and-bound loop runs before the pool starts (default 1: searches decided sooner never
   * pay a worker's start-up). 0 starts it at once and waits for it.
   */
  workerStartAfter_s?: number;
  onProgress?(message: string): void;
}

/** Branch and bound's worker pool, when one was started. */
export interface PoolReport {
  /** Worker threads started. */
  workers: number;
  /** Domains they bounded (counted in `domains` too). */
  domains: number;
  /** Seconds until the first worker was ready (null: none became ready). */
  startup_s: number | null;
  /** The counterexample came from a worker's domain (re-checked in float64 by the main thread). */
  counterexample: boolean;
}

export interface VerifyOutcome {
  result: VerifyStatus;
  /** Re-checked: x in the box, y = the float64 forward pass on x, y meets a disjunct. */
  counterexample: Counterexample | null;
  /** The stage that decided it (null when undecided). */
  method: VerifyMethod | null;
  /** Branch-and-bound domains bounded. */
  domains: number;
  /** One sentence for timeout, unknown and error. */
  reason: string | null;
  time_s: number;
  phases: PhaseTimes;
  /** null when every branch-and-bound domain was bounded in this thread. */
  pool: PoolReport | null;
}

/** Default seconds of in-thread branch and bound before workers start (a worker needs ~0.1–0.3 s to start bundled). */
const WORKER_START_AFTER_S = 1;

/** Root CROWN cheaper than this: BaB recomputes every layer per domain. */
const FULL_RECOMPUTE_S = 0.3;
/** Share of the time left that the root bounds (CROWN, α-CROWN) may take in the worker before branch and bound. */
const ALPHA_SHARE = 0.3;

export async function verifyProperty(graph: Graph, property: VnnlibProperty, options: VerifyOptions): Promise<VerifyOutcome> {
  const start = performance.now();
  const deadline = start + 1000 * options.timeout_s;
  const stats = { falsify_s: 0, bounds_s: 0, bab_s: 0, domains: 0 };
  const random = seededRandom(options.seed ?? 1);
  const workers = options.workers ?? defaultBabWorkers();
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers: ${workers} is not a positive integer`);
  let pool: BabPool | null | undefined;
  const parallel: ParallelSettings = {
    workers,
    startAfter_ms: 1000 * Math.max(0, options.workerStartAfter_s ?? WORKER_START_AFTER_S),
    acquire: () => {
      if (pool === undefined) pool = BabPool.start(graph, workers);
      return pool;
    },
  };
  const progress = options.onProgress ?? (() => undefined);
  const finish = (result: VerifyStatus, method: VerifyMethod | null, reason: string | null, ce: Counterexample | null = null): VerifyOutcome => ({
    result,
    counterexample: ce,
    method,
    domains: stats.domains,
    reason,
    time_s: (performance.now() - start) / 1000,
    phases: { falsify_s: stats.falsify_s, bounds_s: stats.bounds_s, bab_s: stats.bab_s },
    pool:
      pool == null
        ? null
        : { workers: pool.size, domains: pool.domains, startup_s: pool.startup_ms === null ? null : pool.startup_ms / 1000, counterexample: pool.counterexampleFromWorker && ce !== null },
  });
  const stopped = (why: 'timeout' | 'cancelled'): VerifyOutcome =>
    why === 'timeout'
      ? finish('timeout', null, `no verdict within ${options.timeout_s} s`)
      : finish('unknown', null, 'cancelled before a verdict');

  let bg: BoundGraph | null = null;
  let boundsProblem: string | null = null;
  try {
    bg = buildBoundGraph(graph, 'verification');
  } catch (error) {
    if (!(error instanceof UnsupportedModelError)) throw error;
    boundsProblem = error.message;
  }
  if (bg === null) return finish('unknown', null, boundsProblem);

  const maxDims = options.inputSplitMaxDims ?? 16;
  const worker = options.modelFile !== undefined && bg.inputSize > maxDims && BoundWorker.available() ? new BoundWorker(options.modelFile) : null;

  // 1. A quick falsification on every box: samples, then a short PGD (more runs beside the bounds and in BaB). With a
  // bound worker, the attacks run beside it instead.
  const falsifyUntil = start + 1000 * Math.min(options.timeout_s * 0.05, 2);
  progress('falsification');
  for (const spec of worker === null ? property.specs : []) {
    const t = performance.now();
    const ce =
      sampleSearch(graph, bg, spec.box, spec.disjuncts, 512, random, falsifyUntil) ??
      attack(graph, bg, spec.box, spec.disjuncts, { restarts: 16, steps: 50, deadline: falsifyUntil, random });
    stats.falsify_s += (performance.now() - t) / 1000;
    if (ce !== null) return finish('sat', 'pgd', null, ce);
    await breathe();
  }
  const why0 = stopReason({ deadline, signal: options.signal } as SearchContext);
  if (why0 !== null) return stopped(why0);

  // 2. Incomplete verification per box, then branch and bound on what stays open.
  let decidedBy: VerifyMethod = 'bounds';
  let unresolved: string | null = null;
  try {
    for (const [s, spec] of property.specs.entries()) {
      const all = spec.disjuncts.map((_, k) => k);
      if (all.length === 0) continue;
      progress(`bounds on box ${s + 1}/${property.specs.length}`);
      const t = performance.now();
      let rows = stackDisjuncts(spec.disjuncts, all, bg.outputSize);
      let root: RowBounds;
      let crownTime: number;
      if (worker !== null) {
        // CROWN and α-CROWN in the worker; PGD here meanwhile.
        const budget = (deadline - performance.now()) / 1000;
        const job = worker.run({
          lower: spec.box.lower,
          upper: spec.box.upper,
          A: rows.A,
          b: rows.b,
          owner: rows.owner,
          count: rows.count,
          nOutputs: rows.nOutputs,
          budget_s: ALPHA_SHARE * budget,
        });
        let attackTime = 0;
        for (;;) {
          const why = stopReason({ deadline, signal: options.signal } as SearchContext);
          if (why !== null) {
            worker.stop();
            stats.bounds_s += (performance.now() - t) / 1000;
            stats.falsify_s += attackTime;
            return stopped(why);
          }
          if (job.latest !== null) {
            const m = disjunctMargins(rows, job.latest.lower);
            if (all.every((k) => m.get(k)!.refuted)) {
              if (!job.done) worker.stop();
              break;
            }
          }
          if (job.done) break;
          // α-CROWN of every layer past its share of the time: stop it and go on with what is there.
          if (job.latest !== null && job.latest.stage !== 'crown' && performance.now() - t > 1000 * ALPHA_SHARE * budget) {
            worker.stop();
            break;
          }
          const a = performance.now();
          const slice = Math.min(deadline, a + 300);
          const ce =
            attackTime === 0
              ? sampleSearch(graph, bg, spec.box, spec.disjuncts, 512, random, slice)
              : attack(graph, bg, spec.box, spec.disjuncts, { restarts: 8, steps: 50, deadline: slice, random });
          attackTime += (performance.now() - a) / 1000;
          if (ce !== null) {
            worker.stop();
            stats.falsify_s += attackTime;
            return finish('sat', 'pgd', null, ce);
          }
          await breathe();
        }
        // The attacks ran beside the worker: both phases count this wall time.
        stats.falsify_s += attackTime;
        if (job.latest === null) {
          stats.bounds_s += (performance.now() - t) / 1000;
          return finish('unknown', null, `the bound worker failed: ${job.error ?? 'no bounds'}`);
        }
        root = { lower: job.latest.lower, preActivations: job.latest.pre };
        crownTime = job.crownTime_s;
      } else {
        root = boundRows(bg, spec.box, rows, 'crown');
        crownTime = (performance.now() - t) / 1000;
      }
      let margins = disjunctMargins(rows, root.lower);
      let open = all.filter((k) => !margins.get(k)!.refuted);
      const remaining = (deadline - performance.now()) / 1000;
      if (worker === null && open.length > 0 && bg.inputSize > maxDims && crownTime * 8 < remaining) {
        rows = stackDisjuncts(spec.disjuncts, open, bg.outputSize);
        root = boundRows(bg, spec.box, rows, 'alpha-crown', root.preActivations);
        margins = disjunctMargins(rows, root.lower);
        open = open.filter((k) => !margins.get(k)!.refuted);
      }
      stats.bounds_s += (performance.now() - t) / 1000;
      if (open.length === 0) continue;
      const why = stopReason({ deadline, signal: options.signal } as SearchContext);
      if (why !== null) return stopped(why);

      const ctx: SearchContext = {
        graph,
        bg,
        box: spec.box,
        disjuncts: spec.disjuncts,
        random,
        deadline,
        signal: options.signal,
        stats,
        parallel,
        onDomains: (visited, pending) => progress(`branch and bound: ${visited} domains, ${pending} open`),
      };
      const worst = Math.min(...open.map((k) => margins.get(k)!.margin));
      let outcome: SearchOutcome;
      if (bg.inputSize <= maxDims) {
        decidedBy = 'input-split';
        outcome = await inputSplit(ctx, open, worst);
      } else {
        decidedBy = 'relu-split';
        const openRows = stackDisjuncts(spec.disjuncts, open, bg.outputSize);
        const lower = restackRows(rows, root.lower, openRows.owner);
        outcome = await reluSplit(ctx, open, root.preActivations, lower, worst, { fullRecompute: crownTime < FULL_RECOMPUTE_S, partialRecompute: true });
      }
      if (outcome.kind === 'counterexample') return finish('sat', decidedBy, null, outcome.counterexample);
      if (outcome.kind === 'stopped') return stopped(outcome.why);
      if (outcome.kind === 'unresolved') unresolved = outcome.reason;
    }
  } finally {
    worker?.stop();
    // Every BaB worker has exited before the answer goes out (a cancelled run leaves no thread computing).
    await pool?.close();
  }
  if (unresolved !== null) return finish('unknown', null, unresolved);
  return finish('unsat', decidedBy, null);
}

/** Lower bounds of the rows whose owners are `owners` (in order), picked from a larger stacking. */
function restackRows(from: { owner: Int32Array; count: number }, lower: Float64Array, owners: Int32Array): Float64Array {
  const out = new Float64Array(owners.length);
  let i = 0;
  for (let r = 0; r < from.count && i < owners.length; r++) if (from.owner[r] === owners[i]) out[i++] = lower[r];
  return out;
}
