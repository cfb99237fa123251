// The branch-and-bound loop: best-first over a heap of domains, in this thread, then (when the search has run a while
// undecided and workers are allowed) on a pool of worker threads that branch and bound batches of domains.
//
// Whatever thread bounds a domain, the verdicts are the main thread's: a counterexample counts only once it passes
// the float64 re-check on the whole box here; unsat only when the heap is empty, no batch is out and no domain was
// left unresolved; a lost worker's batches go back on the heap.
import { babDomainLimitReason } from '../../limits';
import type { BabPool, PoolEvent, PoolWorker } from './bab-pool';
import { checkCounterexample, type Counterexample } from './falsify';
import { MinHeap } from './heap';
import { AttackPacer, SearchCheckpoint, stopReason, type BranchingSearch, type Expansion, type SearchContext, type SearchOutcome } from './search';

/** Work per batch a worker is sent, in milliseconds: a message costs tens of microseconds. */
const BATCH_MS = 20;
const MAX_BATCH = 256;
/** Batches out per worker: the next one is there while the main thread merges the last. */
const MAX_INFLIGHT = 2;
/** Progress and deadline checks while waiting on workers. */
const TICK_MS = 50;

export async function branchAndBound<D>(ctx: SearchContext, search: BranchingSearch<D>, roots: Expansion<D>): Promise<SearchOutcome> {
  return new BranchAndBound(ctx, search).run(roots);
}

interface Batch<D> {
  worker: PoolWorker;
  domains: { key: number; domain: D }[];
}

class BranchAndBound<D> {
  private readonly heap = new MinHeap<D>();
  private unresolved = 0;
  /** Counterexample candidates that failed the re-check (their domains are not known to be safe). */
  private rejected = 0;
  private readonly pacer: AttackPacer;
  private readonly t0 = performance.now();
  /** Milliseconds per domain expansion (in this thread, then as the workers report). */
  private perDomain_ms = 5;
  private serialCount = 0;
  private serialTime = 0;
  private pool: BabPool | null = null;
  private poolTried = false;
  private searchId = -1;
  private readonly inflight = new Map<number, Batch<D>>();
  private batches = 0;
  private lastProgress = performance.now();

  constructor(
    private readonly ctx: SearchContext,
    private readonly search: BranchingSearch<D>,
  ) {
    this.pacer = new AttackPacer(search.attackShare);
  }

  async run(roots: Expansion<D>): Promise<SearchOutcome> {
    const { ctx } = this;
    try {
      const first = this.absorb(roots);
      if (first !== null) return first;
      const checkpoint = new SearchCheckpoint(ctx);
      for (;;) {
        if (this.pool !== null) {
          const outcome = await this.parallelStep();
          if (outcome === 'done') break;
          if (outcome !== null) return outcome;
          continue;
        }
        if (this.heap.size === 0) break;
        const why = await checkpoint.check(this.heap.size);
        if (why !== null) return { kind: 'stopped', why };
        const overLimit = babDomainLimitReason(this.heap.size);
        if (overLimit !== null) return { kind: 'unresolved', reason: overLimit };
        if (await this.maybeStartPool()) continue;
        const d = this.heap.pop()!;
        const ce = this.attackIfDue(d);
        if (ce !== null) return ce;
        const t = performance.now();
        const e = this.search.expand(d);
        this.serialTime += performance.now() - t;
        this.serialCount++;
        const outcome = this.absorb(e);
        if (outcome !== null) return outcome;
      }
    } finally {
      ctx.stats.bab_s += (performance.now() - this.t0) / 1000 - this.pacer.spent_s;
      ctx.stats.falsify_s += this.pacer.spent_s;
    }
    if (this.unresolved > 0 || this.rejected > 0) {
      const parts: string[] = [];
      if (this.unresolved > 0) parts.push(this.search.unresolvedReason(this.unresolved));
      if (this.rejected > 0) parts.push(`${this.rejected} counterexample candidate${this.rejected === 1 ? '' : 's'} failed the float64 re-check`);
      return { kind: 'unresolved', reason: parts.join('; ') };
    }
    return { kind: 'refuted' };
  }

  /** Children onto the heap; a candidate that passes the float64 re-check on the whole box ends the search. */
  private absorb(e: Expansion<D>): SearchOutcome | null {
    for (const c of e.children) this.heap.push(c.key, c.domain);
    this.unresolved += e.unresolved;
    if (e.counterexample === null) return null;
    const ce = checkCounterexample(this.ctx.graph, this.ctx.box, this.ctx.disjuncts, e.counterexample);
    if (ce !== null) return { kind: 'counterexample', counterexample: ce };
    this.rejected++;
    return null;
  }

  private attackIfDue(d: D | null): SearchOutcome | null {
    if (!this.pacer.due()) return null;
    const x = this.pacer.run(() => this.search.attack(this.pacer.rounds, d));
    if (x === null) return null;
    const ce: Counterexample | null = checkCounterexample(this.ctx.graph, this.ctx.box, this.ctx.disjuncts, x);
    return ce === null ? null : { kind: 'counterexample', counterexample: ce };
  }

  /**
   * Starts the pool once the in-thread loop has run `startAfter_ms` undecided (the loop goes on while the workers
   * load, unless the threshold is 0); true when the pool is ready to take the domains, or when the search must stop
   * (the loop head then says why).
   */
  private async maybeStartPool(): Promise<boolean> {
    const parallel = this.ctx.parallel;
    if (parallel === undefined || parallel.workers < 2) return false;
    if (!this.poolTried) {
      if (performance.now() - this.t0 < parallel.startAfter_ms) return false;
      this.poolTried = true;
      const pool = parallel.acquire();
      if (pool === null) return false;
      if (parallel.startAfter_ms <= 0) {
        while (pool.ready.length === 0 && pool.live > 0 && stopReason(this.ctx) === null) this.requeueFailures(await pool.next(TICK_MS, this.ctx.signal));
        if (stopReason(this.ctx) !== null) return true;
      }
      this.candidate = pool;
    }
    const pool = this.candidate;
    if (pool === null) return false;
    if (pool.live === 0) {
      this.candidate = null;
      return false;
    }
    if (pool.ready.length === 0) return false;
    this.pool = pool;
    this.searchId = pool.newSearch();
    if (this.serialCount > 0) this.perDomain_ms = this.serialTime / this.serialCount;
    return true;
  }

  private candidate: BabPool | null = null;

  /** One round with the pool: hand out batches, attack when due, merge what came back. 'done' when nothing is left. */
  private async parallelStep(): Promise<SearchOutcome | 'done' | null> {
    const pool = this.pool!;
    const why = stopReason(this.ctx);
    if (why !== null) {
      this.pool = null;
      await pool.close();
      return { kind: 'stopped', why };
    }
    const overLimit = babDomainLimitReason(this.heap.size + this.outstanding());
    // The batches still out come back to a later search as stale replies, which it ignores.
    if (overLimit !== null) return { kind: 'unresolved', reason: overLimit };
    this.dispatch(pool);
    if (this.heap.size === 0 && this.inflight.size === 0) return 'done';
    const attacked = this.attackIfDue(this.heap.peek() ?? null);
    if (attacked !== null) return attacked;
    const wait = Math.max(0, Math.min(TICK_MS, this.ctx.deadline - performance.now()));
    for (const event of await pool.next(wait, this.ctx.signal)) {
      const outcome = this.merge(event);
      if (outcome !== null) {
        if (outcome.kind === 'counterexample') pool.counterexampleFromWorker = true;
        return outcome;
      }
    }
    if (pool.live === 0) {
      // Every worker is gone: their batches are back on the heap, and this thread goes on alone.
      this.pool = null;
      this.candidate = null;
      await pool.close();
    }
    const now = performance.now();
    if (now - this.lastProgress > TICK_MS) {
      this.lastProgress = now;
      this.ctx.onDomains?.(this.ctx.stats.domains, this.heap.size + this.outstanding());
    }
    return null;
  }

  /** Domains out with the workers. */
  private outstanding(): number {
    let out = 0;
    for (const b of this.inflight.values()) out += b.domains.length;
    return out;
  }

  /** Fills every ready worker's queue (MAX_INFLIGHT batches) from the head of the heap, shared fairly. */
  private dispatch(pool: BabPool): void {
    const ready = pool.ready;
    if (ready.length === 0) return;
    const size = Math.max(1, Math.min(MAX_BATCH, Math.round(BATCH_MS / Math.max(this.perDomain_ms, 1e-3))));
    for (let sent = true; sent && this.heap.size > 0; ) {
      sent = false;
      for (const w of ready) {
        if (this.heap.size === 0) break;
        if (w.inflight >= MAX_INFLIGHT) continue;
        const count = Math.min(size, Math.ceil(this.heap.size / ready.length));
        const domains: Batch<D>['domains'] = [];
        for (let i = 0; i < count; i++) {
          const key = this.heap.peekKey();
          domains.push({ key, domain: this.heap.pop()! });
        }
        if (w.search !== this.searchId) {
          pool.send(w, { type: 'search', id: this.searchId, setup: this.search.setup });
          w.search = this.searchId;
        }
        const batch = this.batches++;
        this.inflight.set(batch, { worker: w, domains });
        pool.send(w, { type: 'expand', search: this.searchId, batch, domains: domains.map((d) => this.search.encode(d.domain)) });
        sent = true;
      }
    }
  }

  private merge(event: PoolEvent): SearchOutcome | null {
    if (event.type === 'failed') {
      this.requeueFailures([event]);
      return null;
    }
    if (event.search !== this.searchId) return null;
    const batch = this.inflight.get(event.batch);
    if (batch === undefined) return null;
    this.inflight.delete(event.batch);
    this.ctx.stats.domains += event.domains;
    if (event.results.length > 0) this.perDomain_ms = 0.7 * this.perDomain_ms + (0.3 * event.time_ms) / event.results.length;
    for (const r of event.results) {
      const outcome = this.absorb({
        children: r.children.map((c) => ({ key: c.key, domain: this.search.decode(c.domain) })),
        counterexample: r.counterexample,
        unresolved: r.unresolved,
      });
      if (outcome !== null) return outcome;
    }
    return null;
  }

  /** A failed worker's batches go back on the heap (bounded again, by whoever is left). */
  private requeueFailures(events: PoolEvent[]): void {
    for (const event of events) {
      if (event.type !== 'failed') continue;
      for (const [id, batch] of this.inflight)
        if (batch.worker === event.worker) {
          for (const d of batch.domains) this.heap.push(d.key, d.domain);
          this.inflight.delete(id);
        }
    }
  }
}
