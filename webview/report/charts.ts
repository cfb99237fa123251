// The report's charts, drawn with Chart.js on canvases (no eval, no injected styles: safe under a strict CSP).
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  type ChartDataset,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';
import {
  type BoundMethod,
  type EpsSeries,
  type LayerUnstable,
  type RatioSweep,
  boundMethodLabels,
  methodsPresent,
} from '../../server/report/model';
import { el, formatEps } from './dom';
import { type Theme, withAlpha } from './theme';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, Legend, Tooltip);

/** Every chart drawn, so a re-render (new report, theme change) can destroy them first. */
const live: Chart[] = [];

export function destroyCharts(): void {
  for (const chart of live.splice(0)) chart.destroy();
}

/** A sized box with a canvas; Chart.js fills the box (responsive, no aspect ratio). */
function chartBox(id: string, label: string): { box: HTMLElement; canvas: HTMLCanvasElement } {
  const canvas = el('canvas', { role: 'img', 'aria-label': label, 'data-chart': id });
  return { box: el('div', { className: 'chart-box' }, canvas), canvas };
}

function draw(canvas: HTMLCanvasElement, config: ChartConfiguration): void {
  live.push(new Chart(canvas, config));
}

/** Options every chart shares: theme colours, no animation (reports are read, and screenshots must be stable). */
export function applyThemeDefaults(theme: Theme): void {
  Chart.defaults.color = theme.foreground;
  Chart.defaults.borderColor = theme.grid;
  Chart.defaults.font.family = theme.fontFamily;
  Chart.defaults.font.size = 12;
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.responsive = true;
}

const percentTicks = { callback: (value: string | number) => `${value} %` };

/**
 * Legend entries drawn as short lines in the dataset's colour and dash, for charts whose lines
 * differ by dash. (With point styles Chart.js takes the legend's style from the first point, which
 * has no dash, so the dash is copied from the dataset.)
 */
const lineLegend = {
  position: 'bottom' as const,
  labels: {
    usePointStyle: true,
    pointStyle: 'line' as const,
    pointStyleWidth: 36,
    generateLabels: (chart: Chart) =>
      Chart.defaults.plugins.legend.labels.generateLabels(chart).map((item) => ({
        ...item,
        lineDash: (chart.data.datasets[item.datasetIndex ?? 0] as ChartDataset<'line'>).borderDash as number[] | undefined,
      })),
  },
};

/** Grouped bars per ReLU layer: one bar per method and model (original solid, grafted light). */
export function layerChart(layers: readonly LayerUnstable[], theme: Theme, names: { before: string; after: string }): HTMLElement {
  const { box, canvas } = chartBox('layers', 'Unstable neurons per ReLU layer and bound method');
  const datasets: ChartDataset<'bar'>[] = [];
  const hasAfter = layers.some((layer) => layer.after !== undefined);
  for (const method of methodsPresent(layers)) {
    for (const side of hasAfter ? (['before', 'after'] as const) : (['before'] as const)) {
      const colour = theme.method[method];
      datasets.push({
        label: hasAfter ? `${boundMethodLabels[method]} — ${names[side]}` : boundMethodLabels[method],
        data: layers.map((layer) => layer[side]?.[method] ?? Number.NaN),
        backgroundColor: side === 'before' ? colour : withAlpha(colour, 0.35),
        borderColor: colour,
        borderWidth: side === 'before' ? 0 : 1.5,
        maxBarThickness: 56,
      });
    }
  }
  draw(canvas, {
    type: 'bar',
    data: { labels: layers.map((layer) => `${layer.name} (${layer.size})`), datasets },
    options: {
      plugins: { legend: { position: 'bottom' } },
      scales: {
        x: { grid: { display: false } },
        y: { beginAtZero: true, title: { display: true, text: 'unstable neurons' }, ticks: { precision: 0 } },
      },
    },
  });
  return box;
}

/** Certified accuracy against ε, one line per model. */
export function epsChart(series: readonly EpsSeries[], method: BoundMethod | undefined, theme: Theme): HTMLElement {
  const { box, canvas } = chartBox('eps-curve', 'Certified accuracy against epsilon');
  const fallback = [theme.grafted, theme.original, theme.method['alpha-crown'], theme.prune];
  const datasets: ChartDataset<'line'>[] = series.map((line, i) => {
    const colour = line.model === 'after' ? theme.grafted : line.model === 'before' ? theme.original : fallback[i % fallback.length];
    return {
      label: line.label,
      data: [...line.points].sort((a, b) => a.eps - b.eps).map((p) => ({ x: p.eps, y: p.certified * 100 })),
      borderColor: colour,
      backgroundColor: colour,
      pointRadius: 3,
      borderWidth: 2,
    };
  });
  draw(canvas, {
    type: 'line',
    data: { datasets },
    options: {
      plugins: { legend: { position: 'bottom' } },
      scales: {
        x: {
          type: 'linear',
          title: { display: true, text: method ? `ε (L∞), ${boundMethodLabels[method]}` : 'ε (L∞)' },
          ticks: { callback: (value) => formatEps(Number(value)) },
        },
        y: { min: 0, max: 100, title: { display: true, text: 'certified accuracy' }, ticks: percentTicks },
      },
    },
  });
  return box;
}

/** The grafting ratio sweep: accuracies (clean solid, PGD dotted, certified dashed) for grafting and pruning. */
export function sweepAccuracyChart(sweep: RatioSweep, theme: Theme): HTMLElement {
  const { box, canvas } = chartBox('ratio-sweep', 'Clean, PGD and certified accuracy against the grafting ratio');
  const datasets: ChartDataset<'line'>[] = [];
  const figures: { key: 'clean' | 'pgd' | 'certified'; label: string; dash: number[] }[] = [
    { key: 'clean', label: 'clean', dash: [] },
    { key: 'pgd', label: 'PGD', dash: [2, 3] },
    { key: 'certified', label: 'certified', dash: [7, 4] },
  ];
  for (const mode of ['graft', 'prune'] as const) {
    const points = sweep.points.filter((p) => p.mode === mode).sort((a, b) => a.ratio - b.ratio);
    if (points.length === 0) continue;
    const colour = mode === 'graft' ? theme.graft : theme.prune;
    for (const figure of figures) {
      const data = points.filter((p) => p[figure.key] !== undefined).map((p) => ({ x: p.ratio * 100, y: p[figure.key]! * 100 }));
      if (data.length === 0) continue;
      datasets.push({
        label: `${mode === 'graft' ? 'graft' : 'prune'}: ${figure.label}`,
        data,
        borderColor: colour,
        backgroundColor: colour,
        borderDash: figure.dash,
        borderWidth: 2,
        pointRadius: 3,
        pointStyle: figure.key === 'certified' ? 'rectRot' : figure.key === 'pgd' ? 'triangle' : 'circle',
      });
    }
  }
  draw(canvas, {
    type: 'line',
    data: { datasets },
    options: {
      plugins: { legend: lineLegend },
      scales: {
        x: { type: 'linear', title: { display: true, text: 'ratio of ReLU neurons replaced' }, ticks: percentTicks },
        y: { min: 0, max: 100, title: { display: true, text: 'accuracy' }, ticks: percentTicks },
      },
    },
  });
  return box;
}

/** Unstable neurons (summed over layers) against the ratio, grafting and pruning. */
export function sweepUnstableChart(sweep: RatioSweep, theme: Theme): HTMLElement | null {
  const datasets: ChartDataset<'line'>[] = [];
  for (const mode of ['graft', 'prune'] as const) {
    const data = sweep.points
      .filter((p) => p.mode === mode && p.unstable !== undefined)
      .sort((a, b) => a.ratio - b.ratio)
      .map((p) => ({ x: p.ratio * 100, y: p.unstable! }));
    if (data.length === 0) continue;
    const colour = mode === 'graft' ? theme.graft : theme.prune;
    datasets.push({ label: mode, data, borderColor: colour, backgroundColor: colour, borderWidth: 2, pointRadius: 3 });
  }
  if (datasets.length === 0) return null;
  const { box, canvas } = chartBox('ratio-unstable', 'Unstable neurons against the grafting ratio');
  const method = sweep.method ? `, ${boundMethodLabels[sweep.method]}` : '';
  draw(canvas, {
    type: 'line',
    data: { datasets },
    options: {
      plugins: { legend: { position: 'bottom' } },
      scales: {
        x: { type: 'linear', title: { display: true, text: 'ratio of ReLU neurons replaced' }, ticks: percentTicks },
        y: { beginAtZero: true, title: { display: true, text: `unstable neurons${method}` }, ticks: { precision: 0 } },
      },
    },
  });
  return box;
}

/** A non-image counterexample: original and adversarial values by input index. */
export function valuesChart(original: readonly number[], adversarial: readonly number[], theme: Theme): HTMLElement {
  const { box, canvas } = chartBox('counterexample-values', 'Original and adversarial input values');
  draw(canvas, {
    type: 'line',
    data: {
      labels: original.map((_, i) => String(i)),
      datasets: [
        { label: 'original', data: [...original], borderColor: theme.original, backgroundColor: theme.original, pointRadius: 2, borderWidth: 1.5 },
        { label: 'adversarial', data: [...adversarial], borderColor: theme.prune, backgroundColor: theme.prune, pointRadius: 2, borderWidth: 1.5 },
      ],
    },
    options: { plugins: { legend: { position: 'bottom' } }, scales: { x: { title: { display: true, text: 'input index' } } } },
  });
  return box;
}
