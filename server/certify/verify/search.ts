// What the branch-and-bound searches share: the problem of one input box, the clock, statistics, outcomes.
import type { BoundGraph } from '../../bounds/index';
import type { Graph } from '../../ir/graph';
import type { InputBox, OutputDisjunct } from '../vnnlib/index';
import type { Counterexample } from './falsify';
import type { BabPool } from './bab-pool';
import type { ReluSplitOptions } from './relu-split';

export interface PhaseTimes {
  falsify_s: number;
  bounds_s: number;
  bab_s: number;
}

export interface SearchContext {
  readonly graph: Graph;
  readonly bg: BoundGraph;
  readonly box: InputBox;
  readonly disjuncts: readonly OutputDisjunct[];
  readonly random: () => number;
  /** performance.now() at which to stop. */
  readonly deadline: number;
  readonly signal?: AbortSignal;
  readonly stats: PhaseTimes & { domains: number };
  /** Called now and then with the number of open domains (progress). */
  onDomains?(visited: number, open: number): void;
  /** Worker threads for the domains (bab-pool.ts); absent or 1 worker: every domain is bounded in this thread. */
  readonly parallel?: ParallelSettings;
}

/** How branch and bound may hand domains to worker threads. */
export interface ParallelSettings {
  readonly workers: number;
  /** The in-thread loop runs this long (ms) before the pool starts; 0: the pool starts (and is waited for) at once. */
  readonly startAfter_ms: number;
  /** The pool of this verification run, started on first use and shared by its searches; null when none can start. */
  acquire(): BabPool | null;
}

/** What a worker needs, besides the model, to rebuild a search: the box, the disjuncts and the kind of search. */
export interface SearchSetup {
  readonly search:
    | { kind: 'chain-input' }
    | { kind: 'box-input' }
    | { kind: 'relu'; options: ReluSplitOptions };
  readonly box: InputBox;
  readonly disjuncts: readonly OutputDisjunct[];
  /** The deadline as epoch milliseconds (performance.now() does not share its origin across threads). */
  readonly deadlineEpoch: number;
}

/** What a worker rebuilds a search of this context from. */
export function searchSetup(ctx: SearchContext, search: SearchSetup['search']): SearchSetup {
  return { search, box: ctx.box, disjuncts: ctx.disjuncts, deadlineEpoch: performance.timeOrigin + ctx.deadline };
}

/** One domain bounded and branched: its children (already bounded, keyed by worst margin), or a point to check. */
export interface Expansion<D> {
  children: { key: number; domain: D }[];
  /** An input the search found unsafe on its sub-box: the driver re-checks it in float64 on the whole box. */
  counterexample: Float64Array | null;
  /** Domains that could be neither refuted nor split further. */
  unresolved: number;
}

/**
 * A branch-and-bound search over domains D, run by bab.ts in this thread or, domain by domain, in worker threads
 * (which rebuild the same search from `setup` and exchange domains in their `encode`d form).
 */
export interface BranchingSearch<D> {
  readonly setup: SearchSetup;
  /** Share of the search's time given to attacks (main thread only). */
  readonly attackShare: number;
  /** Branches one domain and bounds its children. */
  expand(d: D): Expansion<D>;
  /** A falsification round (the `round`-th), given the domain at the head of the queue when there is one. */
  attack(round: number, d: D | null): Float64Array | null;
  /** Structured-cloneable form of a domain, and back. */
  encode(d: D): unknown;
  decode(wire: unknown): D;
  /** The sentence for `count` unresolved domains. */
  unresolvedReason(count: number): string;
}

export type SearchOutcome =
  | { kind: 'refuted' }
  | { kind: 'counterexample'; counterexample: Counterexample }
  | { kind: 'stopped'; why: 'timeout' | 'cancelled' }
  /** Every domain was handled but some could be neither refuted nor split further: no verdict. */
  | { kind: 'unresolved'; reason: string };

export function stopReason(ctx: SearchContext): 'timeout' | 'cancelled' | null {
  if (ctx.signal?.aborted) return 'cancelled';
  if (performance.now() >= ctx.deadline) return 'timeout';
  return null;
}

/** Lets the event loop run (cancellation requests, progress) during long searches. */
export function breathe(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The head of every branch-and-bound loop: stops on timeout/cancellation, and every 50 ms reports the domain
 * counts and lets the event loop run. Returns why the search must stop, or null to go on.
 */
export class SearchCheckpoint {
  private lastBreath = performance.now();

  constructor(private readonly ctx: SearchContext) {}

  async check(openDomains: number): Promise<'timeout' | 'cancelled' | null> {
    const why = stopReason(this.ctx);
    if (why !== null) return why;
    if (performance.now() - this.lastBreath > 50) {
      this.ctx.onDomains?.(this.ctx.stats.domains, openDomains);
      await breathe();
      this.lastBreath = performance.now();
    }
    return null;
  }
}

/** Paces falsification inside a search: attack whenever attacks have had less than `share` of the search's time. */
export class AttackPacer {
  private spent = 0;
  private readonly started = performance.now();
  rounds = 0;
  constructor(private readonly share: number) {}
  due(): boolean {
    const elapsed = performance.now() - this.started;
    // Searches that finish within a second never pay for an attack.
    return elapsed > 1000 && this.spent < this.share * elapsed;
  }
  /** Runs `work` and books its time. */
  run<T>(work: () => T): T {
    const t = performance.now();
    try {
      return work();
    } finally {
      this.spent += performance.now() - t;
      this.rounds++;
    }
  }
  get spent_s(): number {
    return this.spent / 1000;
  }
}
