// The bound engine's helper thread (parallel.ts): holds chain plans and computes the rows handed to it.
import { parentPort } from 'node:worker_threads';
import { type ChainPlan, chainRows } from './chain';
import { type BoundsWorkerMessage, CHUNK_DONE_THERE, CHUNK_FAILED, chunkLayout, chunkOf, rowCount } from './parallel';
import type { Region } from './region';

const plans = new Map<number, ChainPlan>();
// The last region seen, kept as one object so chain.ts's per-region caches hit across calls.
let region: { id: number; value: Region } | undefined;

parentPort?.on('message', (message: BoundsWorkerMessage) => {
  if (message.type === 'plan') {
    plans.set(message.id, message.plan);
    return;
  }
  const { chunks, buffer, start } = message;
  const control = new Int32Array(buffer, 0, 2 + chunks);
  const rows = rowCount(start);
  const out = new Float64Array(buffer, chunkLayout(chunks, rows).resultOffset, 2 * rows);
  const plan = plans.get(message.plan);
  if (region?.id !== message.regionId) region = { id: message.regionId, value: message.region };
  const relaxations = new Map(message.relaxations);
  for (let c = Atomics.add(control, 0, 1); c < chunks; c = Atomics.add(control, 0, 1)) {
    try {
      if (plan === undefined) throw new Error(`no plan ${message.plan}`);
      const { from, part } = chunkOf(start, c, chunks);
      out.set(chainRows(plan, relaxations, region.value, message.k, part), 2 * from);
      Atomics.store(control, 2 + c, CHUNK_DONE_THERE);
    } catch {
      Atomics.store(control, 2 + c, CHUNK_FAILED);
    }
    Atomics.notify(control, 2 + c);
  }
});
