// Counterexample images on canvases: original, adversarial and the perturbation between them.
import type { Counterexample, ImageLayout } from '../../server/report/model';
import { el } from './dom';

type Layout = NonNullable<ImageLayout>;

/** Value of pixel (y, x), channel c, in C order for either channel layout. */
function at(values: readonly number[], layout: Layout, y: number, x: number, c: number): number {
  const { height, width, channels, channelsLast } = layout;
  return channelsLast ? values[(y * width + x) * channels + c] : values[(c * height + y) * width + x];
}

/** Draws `values` mapped from `range` to 0..255 (grayscale or RGB). */
export function imageCanvas(values: readonly number[], layout: Layout, range: readonly [number, number], label: string, kind: string): HTMLCanvasElement {
  const canvas = el('canvas', { className: 'pixels', role: 'img', 'aria-label': label, 'data-image': kind });
  canvas.width = layout.width;
  canvas.height = layout.height;
  const context = canvas.getContext('2d');
  if (!context) return canvas;
  const image = context.createImageData(layout.width, layout.height);
  const [lo, hi] = range;
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  const byte = (v: number) => Math.max(0, Math.min(255, Math.round((v - lo) * scale)));
  for (let y = 0; y < layout.height; y++) {
    for (let x = 0; x < layout.width; x++) {
      const o = (y * layout.width + x) * 4;
      if (layout.channels === 1) {
        const v = byte(at(values, layout, y, x, 0));
        image.data[o] = image.data[o + 1] = image.data[o + 2] = v;
      } else {
        for (let c = 0; c < 3; c++) image.data[o + c] = byte(at(values, layout, y, x, c));
      }
      image.data[o + 3] = 255;
    }
  }
  context.putImageData(image, 0, 0);
  return canvas;
}

/**
 * The perturbation adversarial − original, averaged over channels, on a diverging scale
 * (blue negative, white zero, red positive) normalised to its own largest magnitude.
 */
export function perturbationCanvas(example: Counterexample, layout: Layout): { canvas: HTMLCanvasElement; linf: number } {
  const canvas = el('canvas', { className: 'pixels', role: 'img', 'aria-label': 'perturbation', 'data-image': 'perturbation' });
  canvas.width = layout.width;
  canvas.height = layout.height;
  let linf = 0;
  for (let i = 0; i < example.original.length; i++) linf = Math.max(linf, Math.abs(example.adversarial[i] - example.original[i]));
  const context = canvas.getContext('2d');
  if (!context) return { canvas, linf };
  const image = context.createImageData(layout.width, layout.height);
  for (let y = 0; y < layout.height; y++) {
    for (let x = 0; x < layout.width; x++) {
      let delta = 0;
      for (let c = 0; c < layout.channels; c++) delta += at(example.adversarial, layout, y, x, c) - at(example.original, layout, y, x, c);
      const t = linf > 0 ? delta / layout.channels / linf : 0;
      const o = (y * layout.width + x) * 4;
      // White at 0, saturating to red (+) or blue (−).
      const fade = Math.round(255 * (1 - Math.abs(t)));
      image.data[o] = t >= 0 ? 255 : fade;
      image.data[o + 1] = fade;
      image.data[o + 2] = t <= 0 ? 255 : fade;
      image.data[o + 3] = 255;
    }
  }
  context.putImageData(image, 0, 0);
  return { canvas, linf };
}
