// A graft run as a Robustness Report (server/report): accuracies, per-layer unstable counts, the sweep, timings.
import type { GraftReport } from '../protocol/requests';
import { emptyReport, type LayerUnstable, type RobustnessReport, type SweepPoint } from '../report/model';

/** The parts of a graft run the report needs (the `graft --json` document has them all). */
export interface GraftRunSummary {
  model: string;
  data: string;
  eps: number;
  before: NonNullable<GraftReport['before']>;
  runs: readonly GraftReport[];
  scores: { seconds: number };
}

/**
 * The report of a graft run: "before" is the original model, "after" the run `headline` picks (default: the first
 * grafting run); every run is a point of the ratio sweep.
 */
export function robustnessReportOfGraft(run: GraftRunSummary, headline?: GraftReport, notes: readonly string[] = []): RobustnessReport {
  const main = headline ?? run.runs.find((r) => r.mode !== 'prune') ?? run.runs[0];
  const baseName = (p: string): string => p.slice(Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\')) + 1);
  const report: RobustnessReport = { ...emptyReport(baseName(run.model)), createdAt: new Date().toISOString(), eps: run.eps, data: run.data };
  const b = run.before;
  report.accuracy = { before: { clean: b.cleanAccuracy, ...(b.pgdAccuracy !== null ? { pgd: b.pgdAccuracy } : {}), certified: b.certifiedAccuracy, count: b.count } };
  const layers: LayerUnstable[] = b.layers.map((l) => ({ name: l.name, size: l.size, before: { crown: l.unstable } }));
  const timings = [{ step: 'certify original (CROWN, α-CROWN, PGD)', seconds: b.time_s }, { step: 'score neurons', seconds: run.scores.seconds }];
  if (main?.after !== undefined) {
    const a = main.after;
    report.graftedModel = baseName(main.out);
    report.ratio = main.ratio;
    report.accuracy.after = { clean: a.cleanAccuracy, ...(a.pgdAccuracy !== null ? { pgd: a.pgdAccuracy } : {}), certified: a.certifiedAccuracy, count: a.count };
    for (const l of main.layers) {
      const layer = layers.find((x) => x.name === l.name);
      if (layer !== undefined) {
        layer.after = { crown: l.unstable };
        layer.grafted = l.grafted;
      }
    }
  }
  report.layers = layers;
  for (const r of run.runs) {
    timings.push({ step: `${r.mode} ${(100 * r.ratio).toFixed(0)} %: graft + fine-tune + certify`, seconds: r.time_s });
  }
  const points: SweepPoint[] = run.runs.filter((r) => r.after !== undefined).map((r) => ({
    ratio: r.ratio, mode: r.mode ?? 'graft', clean: r.after!.cleanAccuracy, ...(r.after!.pgdAccuracy !== null ? { pgd: r.after!.pgdAccuracy } : {}),
    certified: r.after!.certifiedAccuracy, unstable: r.after!.unstable,
  }));
  if (points.length > 0) report.ratioSweep = { method: 'crown', points: [{ ratio: 0, mode: 'graft', clean: b.cleanAccuracy, ...(b.pgdAccuracy !== null ? { pgd: b.pgdAccuracy } : {}), certified: b.certifiedAccuracy, unstable: b.unstable }, ...points] };
  report.timings = timings;
  if (notes.length > 0) report.notes = [...notes];
  return report;
}
