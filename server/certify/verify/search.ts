// What the branch-and-bound searches share: the problem of one input box, the clock, statistics, outcomes.
import type { BoundGraph } from '../../bounds/index';
import type { Graph } from '../../ir/graph';
import type { InputBox, OutputDisjunct } from '../vnnlib/index';
import type { Counterexample } from './falsify';

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
