// Builds the report's DOM: a header, then one section per part of the report that is present.
import {
  type AccuracyFigures,
  type RobustnessReport,
  boundMethodLabels,
  boundMethods,
  imageLayout,
  methodsPresent,
  unstableTotals,
} from '../../server/report/model';
import { epsChart, layerChart, sweepAccuracyChart, sweepUnstableChart, valuesChart } from './charts';
import { el, formatEps, percent, seconds, section } from './dom';
import { imageCanvas, perturbationCanvas } from './images';
import type { Theme } from './theme';

export interface RenderOptions {
  /** Shows the "Export HTML" button (the panel); the standalone HTML has no host to export to. */
  onExport?: () => void;
}

/** The whole report as one element. */
export function renderReport(report: RobustnessReport, theme: Theme, options: RenderOptions = {}): HTMLElement {
  const names = { before: 'original', after: 'grafted' };
  const parts: (HTMLElement | null)[] = [
    header(report, options),
    summary(report, names),
    layers(report, theme, names),
    epsCurve(report, theme),
    ratioSweep(report, theme),
    counterexamples(report, theme),
    timings(report),
    notes(report),
  ];
  const body = parts.filter((part): part is HTMLElement => part !== null);
  if (body.length === 1) body.push(el('p', { className: 'empty', 'data-section': 'empty' }, 'This report has no results yet.'));
  return el('main', { className: 'report' }, ...body);
}

function header(report: RobustnessReport, options: RenderOptions): HTMLElement {
  const facts: string[] = [];
  if (report.data) facts.push(`data ${report.data}`);
  if (report.eps !== undefined) facts.push(`ε = ${formatEps(report.eps)} (L∞)`);
  if (report.ratio !== undefined) facts.push(`grafting ratio ${percent(report.ratio)}`);
  if (report.graftedModel) facts.push(`grafted model ${report.graftedModel}`);
  if (report.createdAt) facts.push(new Date(report.createdAt).toLocaleString());
  const button = options.onExport ? el('button', { type: 'button', className: 'export', 'data-action': 'export-html' }, 'Export HTML') : null;
  button?.addEventListener('click', () => options.onExport?.());
  return el(
    'header',
    { className: 'header' },
    el('div', {}, el('h1', {}, 'Robustness report — ', el('span', { className: 'model' }, report.model)), el('p', { className: 'facts' }, facts.join(' · '))),
    button,
  );
}

function summary(report: RobustnessReport, names: { before: string; after: string }): HTMLElement | null {
  const accuracy = report.accuracy;
  const layersList = report.layers ?? [];
  const sides = (['before', 'after'] as const).filter((side) => accuracy?.[side] !== undefined || layersList.some((layer) => layer[side] !== undefined));
  if (sides.length === 0) return null;
  const rows: [string, (side: 'before' | 'after') => string][] = [];
  const figure = (key: keyof AccuracyFigures) => (side: 'before' | 'after') => percent(accuracy?.[side]?.[key]);
  const anyFigure = (key: keyof AccuracyFigures) => sides.some((side) => accuracy?.[side]?.[key] !== undefined);
  if (anyFigure('clean')) rows.push(['clean accuracy', figure('clean')]);
  if (anyFigure('pgd')) rows.push(['PGD accuracy (upper bound)', figure('pgd')]);
  if (anyFigure('certified')) rows.push(['certified accuracy (lower bound)', figure('certified')]);
  if (anyFigure('count')) rows.push(['samples', (side) => String(accuracy?.[side]?.count ?? '—')]);
  const totals = { before: unstableTotals(layersList, 'before'), after: unstableTotals(layersList, 'after') };
  for (const method of boundMethods) {
    if (sides.some((side) => totals[side][method] !== undefined)) {
      rows.push([`unstable neurons, ${boundMethodLabels[method]}`, (side) => { const v = totals[side][method]; return v === undefined ? '—' : String(Math.round(v * 10) / 10); }]);
    }
  }
  const grafted = layersList.reduce((sum, layer) => sum + (layer.grafted ?? 0), 0);
  if (grafted > 0 && sides.includes('after')) rows.push(['grafted neurons', (side) => (side === 'after' ? String(grafted) : '0')]);
  if (rows.length === 0) return null;
  const model = (side: 'before' | 'after') => (side === 'before' ? report.model : (report.graftedModel ?? names.after));
  const table = el(
    'table',
    { className: 'summary' },
    el('thead', {}, el('tr', {}, el('th', {}, ''), ...sides.map((side) => el('th', { title: model(side) }, names[side])))),
    el('tbody', {}, ...rows.map(([label, value]) => el('tr', {}, el('th', { scope: 'row' }, label), ...sides.map((side) => el('td', {}, value(side)))))),
  );
  return section('summary', 'Summary', 'PGD accuracy bounds the robust accuracy from above, certified accuracy from below.', table);
}

function layers(report: RobustnessReport, theme: Theme, names: { before: string; after: string }): HTMLElement | null {
  const list = report.layers ?? [];
  const methods = methodsPresent(list);
  if (list.length === 0 || methods.length === 0) return null;
  const hasAfter = list.some((layer) => layer.after !== undefined);
  const sides = hasAfter ? (['before', 'after'] as const) : (['before'] as const);
  const hasGrafted = list.some((layer) => (layer.grafted ?? 0) > 0);
  const head = el(
    'tr',
    {},
    el('th', {}, 'layer'),
    el('th', {}, 'size'),
    hasGrafted ? el('th', {}, 'grafted') : null,
    ...methods.flatMap((method) => sides.map((side) => el('th', {}, hasAfter ? `${boundMethodLabels[method]} ${names[side]}` : boundMethodLabels[method]))),
  );
  const rows = list.map((layer) =>
    el(
      'tr',
      {},
      el('th', { scope: 'row' }, layer.name),
      el('td', {}, String(layer.size)),
      hasGrafted ? el('td', {}, String(layer.grafted ?? 0)) : null,
      ...methods.flatMap((method) => sides.map((side) => el('td', {}, layer[side]?.[method] === undefined ? '—' : String(layer[side]![method])))),
    ),
  );
  return section(
    'layers',
    'Unstable neurons per ReLU layer',
    'A neuron is unstable when its pre-activation bounds straddle zero (l < 0 < u); tighter methods find fewer.',
    layerChart(list, theme, names),
    el('table', { className: 'layers' }, el('thead', {}, head), el('tbody', {}, ...rows)),
  );
}

function epsCurve(report: RobustnessReport, theme: Theme): HTMLElement | null {
  const curve = report.certifiedVsEps;
  if (!curve || curve.series.every((series) => series.points.length === 0)) return null;
  return section('eps-curve', 'Certified accuracy against ε', undefined, epsChart(curve.series, curve.method, theme));
}

function ratioSweep(report: RobustnessReport, theme: Theme): HTMLElement | null {
  const sweep = report.ratioSweep;
  if (!sweep || sweep.points.length === 0) return null;
  const unstable = sweepUnstableChart(sweep, theme);
  return section(
    'ratio-sweep',
    'Grafting ratio sweep',
    'Each point is a model with that fraction of ReLU neurons replaced and fine-tuned: grafted (a·x+b) or pruned (a = b = 0, the baseline).',
    el('div', { className: unstable ? 'chart-row' : '' }, sweepAccuracyChart(sweep, theme), unstable),
  );
}

function counterexamples(report: RobustnessReport, theme: Theme): HTMLElement | null {
  const list = report.counterexamples ?? [];
  if (list.length === 0) return null;
  const cards = list.map((example, i) => {
    const layout = imageLayout(example.shape);
    const range = example.range ?? [0, 1];
    const caption: string[] = [];
    if (example.index !== undefined) caption.push(`sample ${example.index}`);
    if (example.label !== undefined) caption.push(`label ${example.label}`);
    if (example.originalPrediction !== undefined && example.adversarialPrediction !== undefined) {
      caption.push(`prediction ${example.originalPrediction} → ${example.adversarialPrediction}`);
    }
    if (example.foundBy) caption.push(`found by ${example.foundBy}`);
    if (!layout) {
      return el('figure', { className: 'counterexample', 'data-counterexample': String(i) }, valuesChart(example.original, example.adversarial, theme), el('figcaption', {}, caption.join(' · ')));
    }
    const { canvas: delta, linf } = perturbationCanvas(example, layout);
    caption.push(`‖δ‖∞ = ${Number(linf.toPrecision(3))}`);
    const tile = (canvas: HTMLCanvasElement, title: string) => el('div', { className: 'tile' }, canvas, el('span', {}, title));
    return el(
      'figure',
      { className: 'counterexample', 'data-counterexample': String(i) },
      el(
        'div',
        { className: 'tiles' },
        tile(imageCanvas(example.original, layout, range, 'original input', 'original'), 'original'),
        tile(imageCanvas(example.adversarial, layout, range, 'adversarial input', 'adversarial'), 'adversarial'),
        tile(delta, 'perturbation'),
      ),
      el('figcaption', {}, caption.join(' · ')),
    );
  });
  return section('counterexamples', 'Counterexamples', 'Inputs inside the ε-ball whose prediction changes: original, adversarial, and the perturbation (red +, blue −).', el('div', { className: 'gallery' }, ...cards));
}

function timings(report: RobustnessReport): HTMLElement | null {
  const list = report.timings ?? [];
  if (list.length === 0) return null;
  const total = list.reduce((sum, timing) => sum + timing.seconds, 0);
  return section(
    'timings',
    'Timings',
    undefined,
    el(
      'table',
      { className: 'timings' },
      el('tbody', {}, ...list.map((t) => el('tr', {}, el('th', { scope: 'row' }, t.step), el('td', {}, seconds(t.seconds)))), el('tr', { className: 'total' }, el('th', { scope: 'row' }, 'total'), el('td', {}, seconds(total)))),
    ),
  );
}

function notes(report: RobustnessReport): HTMLElement | null {
  const list = report.notes ?? [];
  if (list.length === 0) return null;
  return section('notes', 'Notes', undefined, el('ul', {}, ...list.map((note) => el('li', {}, note))));
}
