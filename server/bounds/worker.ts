// The bound engine's helper thread (parallel.ts): holds chain plans and computes the rows handed to it.
import { parentPort } from 'node:worker_threads';
import { type ChainPlan, chainRows } from './chain';
import type { BoundsWorkerMessage } from './parallel';
import type { Region } from './region';

const plans = new Map<number, ChainPlan>();
// The last region seen, kept as one object so chain.ts's per-region caches hit across calls.
let region: { id: number; value: Region } | undefined;

parentPort?.on('message', (message: BoundsWorkerMessage) => {
  if (message.type === 'plan') {
    plans.set(message.id, message.plan);
    return;
  }
  const status = new Int32Array(message.buffer, 0, 1);
  try {
    const plan = plans.get(message.plan);
    if (plan === undefined) throw new Error(`no plan ${message.plan}`);
    if (region?.id !== message.regionId) region = { id: message.regionId, value: message.region };
    const rows = chainRows(plan, new Map(message.relaxations), region.value, message.k, message.start);
    new Float64Array(message.buffer, 8, rows.length).set(rows);
    Atomics.store(status, 0, 1);
  } catch {
    Atomics.store(status, 0, 2);
  }
  Atomics.notify(status, 0);
});
