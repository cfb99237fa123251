// Branch-and-bound worker thread: builds the model's bound graph once, then branches and bounds the batches of
// domains the main thread sends it (bab.ts merges the results; counterexamples are re-checked there).
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { buildBoundGraph, type BoundGraph } from '../../bounds/index';
import type { Graph } from '../../ir/graph';
import { seededRandom } from '../../tensor/random';
import type { BranchingSearch, SearchContext, SearchSetup } from './search';
import { createSearch } from './searches';

/** `workerData` of a branch-and-bound worker: the model's IR, sent once (structured clone). */
export interface BabWorkerInit {
  graph: Graph;
}

/** Main → worker. A search is set up once; its domains then come in batches. */
export type BabRequest =
  | { type: 'search'; id: number; setup: SearchSetup }
  | { type: 'expand'; search: number; batch: number; domains: unknown[] };

/** One domain's expansion in its wire form (children `encode`d by the search). */
export interface WireExpansion {
  children: { key: number; domain: unknown }[];
  counterexample: Float64Array | null;
  unresolved: number;
}

/** Worker → main. */
export type BabReply =
  | { type: 'ready' }
  | { type: 'expanded'; search: number; batch: number; results: WireExpansion[]; domains: number; time_ms: number }
  | { type: 'error'; message: string; stack?: string };

function serve(): void {
  const port = parentPort!;
  const reply = (m: BabReply) => port.postMessage(m);
  let bg: BoundGraph;
  let graph: Graph;
  try {
    graph = (workerData as BabWorkerInit).graph;
    bg = buildBoundGraph(graph, 'verification');
  } catch (error) {
    reply(errorReply(error));
    return;
  }
  let current: { id: number; search: BranchingSearch<unknown>; ctx: SearchContext } | null = null;
  port.on('message', (m: BabRequest) => {
    try {
      if (m.type === 'search') {
        const ctx: SearchContext = {
          graph,
          bg,
          box: m.setup.box,
          disjuncts: m.setup.disjuncts,
          random: seededRandom(1),
          deadline: m.setup.deadlineEpoch - performance.timeOrigin,
          stats: { falsify_s: 0, bounds_s: 0, bab_s: 0, domains: 0 },
        };
        current = { id: m.id, search: createSearch(ctx, m.setup), ctx };
        return;
      }
      if (current === null || current.id !== m.search) throw new Error(`a batch for search ${m.search} arrived before its set-up`);
      const { search, ctx } = current;
      const t = performance.now();
      const before = ctx.stats.domains;
      const results = m.domains.map((wire): WireExpansion => {
        const e = search.expand(search.decode(wire));
        return { children: e.children.map((c) => ({ key: c.key, domain: search.encode(c.domain) })), counterexample: e.counterexample, unresolved: e.unresolved };
      });
      reply({ type: 'expanded', search: m.search, batch: m.batch, results, domains: ctx.stats.domains - before, time_ms: performance.now() - t });
    } catch (error) {
      reply(errorReply(error));
    }
  });
  reply({ type: 'ready' });
}

function errorReply(error: unknown): BabReply {
  return error instanceof Error ? { type: 'error', message: error.message, stack: error.stack } : { type: 'error', message: String(error) };
}

if (!isMainThread && parentPort !== null) serve();
