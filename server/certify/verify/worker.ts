// Verification bound worker: loads the model itself (by path) and computes the root CROWN / α-CROWN bounds of the
// specification rows of each task, so the main thread can attack meanwhile and stop it at the deadline.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { buildBoundGraph, type BoundGraph, type Interval } from '../../bounds/index';
import { loadModelFile } from '../../onnx/load';
import { alphaRows, crownPass, crownRows } from './bounding';
import type { StackedRows } from './property';

export interface BoundWorkerInit {
  modelFile: string;
}

/** Main → worker: bound these rows over this box: CROWN, then (alphaIterations > 0) α-CROWN. */
export interface BoundTask {
  lower: Float64Array;
  upper: Float64Array;
  /** Stacked rows A (count × nOutputs) and their offsets b (a row is refuted when its lower bound exceeds b). */
  A: Float64Array;
  b: Float64Array;
  /** Disjunct of each row: a disjunct is refuted when one of its rows is. */
  owner: Int32Array;
  count: number;
  nOutputs: number;
  /** Seconds left for this task: α-CROWN of the intermediate layers runs only when it is likely to fit. */
  budget_s: number;
}

/** Worker → main. */
export type BoundReply =
  | { type: 'ready' }
  | { type: 'bounds'; stage: 'crown' | 'alpha-spec' | 'alpha-crown'; lower: Float64Array; pre: Map<string, Interval>; time_s: number; last: boolean }
  | { type: 'error'; message: string };

function serve(): void {
  const port = parentPort!;
  const reply = (m: BoundReply) => port.postMessage(m);
  let bg: BoundGraph;
  try {
    bg = buildBoundGraph(loadModelFile((workerData as BoundWorkerInit).modelFile).graph, 'verification');
  } catch (error) {
    reply({ type: 'error', message: (error as Error).message });
    return;
  }
  port.on('message', (task: BoundTask) => {
    try {
      const rows = { nOutputs: task.nOutputs, A: task.A, b: task.b, owner: task.owner, count: task.count } as StackedRows;
      const box = { lower: task.lower, upper: task.upper };
      const start = performance.now();
      const open = (lower: Float64Array): boolean => {
        const refuted = new Set<number>();
        for (let r = 0; r < task.count; r++) if (lower[r] > task.b[r]) refuted.add(task.owner[r]);
        for (let r = 0; r < task.count; r++) if (!refuted.has(task.owner[r])) return true;
        return false;
      };
      let t = performance.now();
      const pass = crownPass(bg, box);
      let best = crownRows(bg, pass, box, rows);
      const crownTime = (performance.now() - t) / 1000;
      const pre = pass.state.preActivations;
      // α of the specification rows only: a few backward passes of these rows per iteration.
      const spec = open(best);
      reply({ type: 'bounds', stage: 'crown', lower: best, pre, time_s: crownTime, last: !spec });
      if (!spec) return;
      t = performance.now();
      const a1 = alphaRows(bg, pass, box, rows, 30, false);
      best = best.map((v, r) => Math.max(v, a1.lower[r]));
      const left = task.budget_s - (performance.now() - start) / 1000;
      // Full α-CROWN costs about a CROWN pass per iteration (fewer with early stopping): only when it fits.
      const iterations = Math.min(40, Math.floor((0.7 * left) / Math.max(crownTime, 1e-3)));
      const full = open(best) && iterations >= 5;
      reply({ type: 'bounds', stage: 'alpha-spec', lower: best, pre, time_s: (performance.now() - t) / 1000, last: !full });
      if (!full) return;
      t = performance.now();
      const a2 = alphaRows(bg, pass, box, rows, iterations, true);
      best = best.map((v, r) => Math.max(v, a2.lower[r]));
      reply({ type: 'bounds', stage: 'alpha-crown', lower: best, pre: a2.preActivations, time_s: (performance.now() - t) / 1000, last: true });
    } catch (error) {
      reply({ type: 'error', message: (error as Error).message });
    }
  });
  reply({ type: 'ready' });
}

if (!isMainThread && parentPort !== null) serve();
