// Builds Robustness Report sections from the protocol's results (bounds, certify, graft).
//
// Each function adds to (a copy of) a report, so a command composes what it has:
//   let r = emptyReport('fc.onnx'); r = withCertify(r, certify, 'before'); r = withBounds(r, bounds, 'before');
import type { BoundsReport, CertifyReport, GraftReport, LayerBoundsSummary } from '../protocol/requests';
import { type AccuracyFigures, type LayerUnstable, type RobustnessReport, emptyReport } from './model';

export { emptyReport } from './model';

/** Adds the per-layer unstable counts of one bounds run (one method) to the `side` model. */
export function withBounds(report: RobustnessReport, bounds: BoundsReport, side: 'before' | 'after'): RobustnessReport {
  return {
    ...report,
    eps: report.eps ?? bounds.eps,
    layers: mergeLayers(report.layers, bounds.layers, side, bounds.method),
    timings: [...(report.timings ?? []), { step: `bounds (${bounds.method}, ${side === 'before' ? 'original' : 'grafted'})`, seconds: bounds.time_s }],
  };
}

/** Adds a certify run's accuracies and its (sample-averaged) per-layer unstable counts to the `side` model. */
export function withCertify(report: RobustnessReport, certify: CertifyReport, side: 'before' | 'after'): RobustnessReport {
  const figures: AccuracyFigures = {
    ...report.accuracy?.[side],
    clean: certify.clean_accuracy,
    certified: certify.certified_accuracy,
    count: certify.count,
  };
  const notes = [...(report.notes ?? [])];
  if (certify.cancelled) notes.push(`The ${side === 'before' ? 'original' : 'grafted'} model's certify run was cancelled after ${certify.count} samples.`);
  return {
    ...report,
    eps: report.eps ?? certify.eps,
    data: report.data ?? certify.data,
    accuracy: { ...report.accuracy, [side]: figures },
    layers: mergeLayers(report.layers, certify.layers, side, certify.method),
    timings: [...(report.timings ?? []), { step: `certify (${certify.method}, ${side === 'before' ? 'original' : 'grafted'})`, seconds: certify.time_s }],
    ...(notes.length > 0 ? { notes } : {}),
  };
}

/** Adds a graft run: the grafted counts per layer, clean accuracies and the graft time. */
export function withGraft(report: RobustnessReport, graft: GraftReport): RobustnessReport {
  const grafted = new Map(graft.layers.map((layer) => [layer.name, layer.grafted]));
  const layers = (report.layers ?? graft.layers.map((layer) => ({ name: layer.name, size: layer.size }))).map((layer) =>
    grafted.has(layer.name) ? { ...layer, grafted: grafted.get(layer.name) } : layer,
  );
  return {
    ...report,
    graftedModel: report.graftedModel ?? baseName(graft.out),
    eps: report.eps ?? graft.eps,
    ratio: graft.ratio,
    layers,
    accuracy: {
      before: { clean: graft.cleanAccuracyBefore, ...report.accuracy?.before },
      after: { clean: graft.cleanAccuracyAfter, ...report.accuracy?.after },
    },
    timings: [...(report.timings ?? []), { step: 'graft + fine-tune', seconds: graft.time_s }],
  };
}

/** A certify-only report: one model, its accuracies and unstable counts. */
export function reportFromCertify(certify: CertifyReport): RobustnessReport {
  return withCertify(emptyReport(baseName(certify.model)), certify, 'before');
}

/** A bounds-only report: one model, the unstable counts of each method run on it. */
export function reportFromBounds(model: string, runs: readonly BoundsReport[]): RobustnessReport {
  return runs.reduce((report, bounds) => withBounds(report, bounds, 'before'), emptyReport(baseName(model)));
}

function mergeLayers(
  existing: readonly LayerUnstable[] | undefined,
  incoming: readonly LayerBoundsSummary[],
  side: 'before' | 'after',
  method: BoundsReport['method'],
): LayerUnstable[] {
  const layers = (existing ?? []).map((layer) => ({ ...layer }));
  for (const summary of incoming) {
    let layer = layers.find((l) => l.name === summary.name);
    if (!layer) {
      layer = { name: summary.name, size: summary.size };
      layers.push(layer);
    }
    layer[side] = { ...layer[side], [method]: summary.unstable };
    if (side === 'after' && summary.grafted > 0) layer.grafted = summary.grafted;
  }
  return layers;
}

function baseName(path: string): string {
  return path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
}
