// Chooses the neurons to graft: score_j = γ·rank01(u_j) − rank01(s_j), the top ratio·N over all ReLU layers (GRAFTING.md §1).
import type { LayerScores } from './score';

export type GraftCriterion = 'magnitude' | 'instability' | 'mixed';

export const GRAFT_CRITERIA: readonly GraftCriterion[] = ['magnitude', 'instability', 'mixed'];

export interface SelectionOptions {
  /** Fraction of all ReLU neurons to graft, in [0, 1]. */
  ratio: number;
  /** 'mixed' (default): γ·rank01(u) − rank01(s); 'magnitude': least significant first; 'instability': most unstable first. */
  criterion?: GraftCriterion;
  /** Weight of the instability rank in 'mixed' (default 1). */
  gamma?: number;
}

export interface LayerSelection {
  /** Index of the ReLU layer (graph order). */
  layer: number;
  size: number;
  /** Neurons chosen in this layer. */
  grafted: number;
}

export interface Selection {
  /** m_j = 1: grafted; one mask per ReLU layer. */
  masks: Uint8Array[];
  /** Neurons chosen, all layers together (round(ratio · N)). */
  total: number;
  perLayer: LayerSelection[];
}

/**
 * Ranks scaled to [0, 1] over all values: the smallest gets 0, the largest 1, ties share their average rank
 * (so neurons with the same count are indistinguishable by it).
 */
export function rank01(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && values[order[j + 1]] === values[order[i]]) j++;
    const r = n > 1 ? (i + j) / 2 / (n - 1) : 0;
    for (let k = i; k <= j; k++) ranks[order[k]] = r;
    i = j + 1;
  }
  return ranks;
}

/**
 * The graft masks: the `round(ratio · N)` neurons with the highest score, chosen globally across layers.
 * `instability` may be omitted for the magnitude criterion. Ties go to the less significant neuron, then to the
 * earlier one, so the selection is deterministic.
 */
export function selectNeurons(significance: LayerScores, instability: LayerScores | undefined, options: SelectionOptions): Selection {
  const { ratio } = options;
  if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`the graft ratio ${ratio} is outside [0, 1]`);
  const criterion = options.criterion ?? 'mixed';
  const gamma = options.gamma ?? 1;
  if (criterion !== 'magnitude' && instability === undefined) throw new Error(`the '${criterion}' criterion needs instability counts`);
  const flatS = concat(significance);
  const n = flatS.length;
  const rs = rank01(flatS);
  const ru = instability === undefined ? new Float64Array(n) : rank01(concat(instability));
  const score = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    score[j] = criterion === 'magnitude' ? -rs[j] : criterion === 'instability' ? ru[j] : gamma * ru[j] - rs[j];
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => score[b] - score[a] || flatS[a] - flatS[b] || a - b);
  const total = Math.round(ratio * n);
  const chosen = new Uint8Array(n);
  for (let k = 0; k < total; k++) chosen[order[k]] = 1;
  const masks: Uint8Array[] = [];
  const perLayer: LayerSelection[] = [];
  let offset = 0;
  significance.forEach((s, layer) => {
    const mask = chosen.slice(offset, offset + s.length);
    masks.push(mask);
    perLayer.push({ layer, size: s.length, grafted: mask.reduce((a, b) => a + b, 0) });
    offset += s.length;
  });
  return { masks, total, perLayer };
}

function concat(layers: LayerScores): Float64Array {
  const out = new Float64Array(layers.reduce((s, l) => s + l.length, 0));
  let o = 0;
  for (const l of layers) {
    out.set(l, o);
    o += l.length;
  }
  return out;
}
