// Sample Robustness Reports for the report tests (unit, headless Chromium, real VS Code): a full one and partial ones.
import { type RobustnessReport, emptyReport } from '../../server/report/model';

/** A 28×28 "7" in [0, 1]: a bar on top and a diagonal stroke, blurred a little. */
export function digitSeven(): number[] {
  const image = new Array<number>(28 * 28).fill(0);
  const ink = (y: number, x: number, v: number) => {
    if (y >= 0 && y < 28 && x >= 0 && x < 28) image[y * 28 + x] = Math.max(image[y * 28 + x], v);
  };
  for (let x = 6; x <= 21; x++) for (let y = 6; y <= 7; y++) ink(y, x, 1);
  for (let y = 8; y <= 23; y++) {
    const x = Math.round(21 - (y - 8) * 0.55);
    ink(y, x, 1);
    ink(y, x + 1, 1);
    ink(y, x - 1, 0.5);
    ink(y, x + 2, 0.5);
  }
  return image;
}

/** A deterministic ±eps perturbation of `values`, clipped to [0, 1]. */
export function perturb(values: readonly number[], eps: number): number[] {
  return values.map((v, i) => Math.min(1, Math.max(0, v + (((i * 7919) % 13) < 6 ? eps : -eps))));
}

/** A 3×32×32 colour gradient (CHW). */
export function colourImage(): number[] {
  const values: number[] = [];
  for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) values.push(c === 0 ? x / 31 : c === 1 ? y / 31 : 1 - (x + y) / 62);
  return values;
}

/** Every section filled, numbers shaped like GRAFTING.md §6 on MNIST. */
export function fullReport(): RobustnessReport {
  const seven = digitSeven();
  const colour = colourImage();
  return {
    ...emptyReport('mnist-fc3x100.onnx'),
    graftedModel: 'mnist-fc3x100.grafted.onnx',
    createdAt: '2025-11-25T10:00:00.000Z',
    eps: 0.1,
    data: 'mnist',
    ratio: 0.5,
    accuracy: {
      before: { clean: 0.978, pgd: 0.842, certified: 0.213, count: 1000 },
      after: { clean: 0.961, pgd: 0.827, certified: 0.604, count: 1000 },
    },
    layers: [
      { name: 'relu1', size: 100, grafted: 50, before: { ibp: 94, crown: 71, 'alpha-crown': 62 }, after: { ibp: 41, crown: 18, 'alpha-crown': 12 } },
      { name: 'relu2', size: 100, grafted: 50, before: { ibp: 99, crown: 58, 'alpha-crown': 47 }, after: { ibp: 44, crown: 14, 'alpha-crown': 9 } },
      { name: 'relu3', size: 100, grafted: 50, before: { ibp: 100, crown: 39, 'alpha-crown': 30 }, after: { ibp: 47, crown: 9, 'alpha-crown': 5 } },
    ],
    certifiedVsEps: {
      method: 'alpha-crown',
      series: [
        { label: 'original', model: 'before', points: [0, 0.02, 0.05, 0.08, 0.1, 0.15].map((eps) => ({ eps, certified: 0.978 * Math.exp(-eps * 16) })) },
        { label: 'grafted', model: 'after', points: [0, 0.02, 0.05, 0.08, 0.1, 0.15].map((eps) => ({ eps, certified: 0.961 * Math.exp(-eps * 4.6) })) },
      ],
    },
    ratioSweep: {
      method: 'alpha-crown',
      points: [0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9].flatMap((ratio) => [
        { ratio, mode: 'graft' as const, clean: 0.978 - 0.03 * ratio ** 2, pgd: 0.842 - 0.02 * ratio, certified: 0.213 + 0.55 * Math.sin(ratio * 2.2) * (1 - ratio * 0.3), unstable: Math.round(139 * (1 - ratio)) },
        { ratio, mode: 'prune' as const, clean: 0.978 - 0.45 * ratio ** 1.5, pgd: 0.842 - 0.5 * ratio ** 1.5, certified: 0.213 + 0.2 * ratio - 0.25 * ratio ** 2, unstable: Math.round(139 * (1 - ratio) ** 0.7) },
      ]),
    },
    timings: [
      { step: 'bounds (ibp, crown, α-CROWN)', seconds: 2.4 },
      { step: 'graft + fine-tune', seconds: 48.2 },
      { step: 'certify (original)', seconds: 131.7 },
      { step: 'certify (grafted)', seconds: 64.1 },
    ],
    counterexamples: [
      { index: 0, label: 7, shape: [1, 1, 28, 28], original: seven, adversarial: perturb(seven, 0.1), originalPrediction: 7, adversarialPrediction: 9, foundBy: 'PGD' },
      { index: 12, label: 3, shape: [3, 32, 32], original: colour, adversarial: perturb(colour, 0.03), originalPrediction: 3, adversarialPrediction: 5, foundBy: 'PGD' },
      { label: 1, shape: [1, 5], original: [0.2, 0.4, 0.5, 0.1, 0.9], adversarial: [0.25, 0.35, 0.55, 0.05, 0.95], originalPrediction: 1, adversarialPrediction: 0, foundBy: 'branch and bound' },
    ],
    notes: ['Certified with α-CROWN, no branch and bound; a sample neither certified nor attacked counts as not certified.'],
  };
}

/** A certify-only report: accuracies and unstable counts of one model with one method. */
export function certifyOnlyReport(): RobustnessReport {
  return {
    ...emptyReport('fc_small.onnx'),
    eps: 0.02,
    data: 'mnist',
    accuracy: { before: { clean: 0.95, certified: 0.71, count: 100 } },
    layers: [
      { name: 'relu1', size: 50, before: { crown: 12 } },
      { name: 'relu2', size: 50, before: { crown: 7 } },
    ],
    timings: [{ step: 'certify (crown, original)', seconds: 3.2 }],
  };
}

/** A bounds-only report: unstable counts per method, nothing else. */
export function boundsOnlyReport(): RobustnessReport {
  return {
    ...emptyReport('fc_small.onnx'),
    eps: 2 / 255,
    layers: [
      { name: 'relu1', size: 50, before: { ibp: 30, crown: 20, 'alpha-crown': 17 } },
      { name: 'relu2', size: 50, before: { ibp: 41, crown: 22, 'alpha-crown': 18 } },
    ],
  };
}
