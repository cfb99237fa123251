// Window geometry shared by Conv, ConvTranspose and the pools: kernel, strides, dilations, padding, output size.
import type { IRNode } from '../graph';
import { attrInts, attrString, OpError } from './types';
import { fmtShape } from './util';

export interface WindowGeometry {
  kernel: number[];
  strides: number[];
  dilations: number[];
  padsBegin: number[];
  padsEnd: number[];
  /** Output spatial size. */
  out: number[];
}

function intsOfLength(node: IRNode, name: string, length: number, fallback: number): number[] {
  const v = attrInts(node, name);
  if (v === undefined) return new Array<number>(length).fill(fallback);
  if (v.length !== length) {
    throw new OpError(`${node.opType} attribute '${name}' has ${v.length} values, expected ${length} (node '${node.name}')`);
  }
  return [...v];
}

/**
 * Output size of a sliding window over `inSpatial` from the node's auto_pad/pads/strides/dilations.
 * `ceilMode` is the pools' ceil_mode: the last window may hang over the end but must start inside input or left padding.
 */
export function windowGeometry(node: IRNode, inSpatial: readonly number[], kernel: readonly number[], ceilMode: boolean): WindowGeometry {
  const nsp = inSpatial.length;
  const strides = intsOfLength(node, 'strides', nsp, 1);
  const dilations = intsOfLength(node, 'dilations', nsp, 1);
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const padsBegin = new Array<number>(nsp).fill(0);
  const padsEnd = new Array<number>(nsp).fill(0);
  const out = new Array<number>(nsp).fill(0);
  if (strides.some((s) => s < 1) || dilations.some((d) => d < 1)) {
    throw new OpError(`${node.opType} strides and dilations must be positive (node '${node.name}')`);
  }
  if (autoPad === 'NOTSET') {
    const pads = intsOfLength(node, 'pads', 2 * nsp, 0);
    for (let i = 0; i < nsp; i++) {
      padsBegin[i] = pads[i];
      padsEnd[i] = pads[i + nsp];
    }
  } else if (autoPad !== 'VALID' && autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') {
    throw new OpError(`${node.opType} auto_pad '${autoPad}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID (node '${node.name}')`);
  }
  for (let i = 0; i < nsp; i++) {
    const extent = dilations[i] * (kernel[i] - 1) + 1;
    const s = strides[i];
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      out[i] = Math.ceil(inSpatial[i] / s);
      const total = Math.max(0, (out[i] - 1) * s + extent - inSpatial[i]);
      const small = Math.floor(total / 2);
      padsBegin[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      padsEnd[i] = total - padsBegin[i];
      continue;
    }
    const span = inSpatial[i] + padsBegin[i] + padsEnd[i] - extent;
    if (span < 0) {
      throw new OpError(
        `${node.opType} window ${fmtShape(kernel)} (dilated) is larger than the padded input ${fmtShape(inSpatial)} (node '${node.name}')`,
      );
    }
    if (ceilMode) {
      out[i] = Math.ceil(span / s) + 1;
      if ((out[i] - 1) * s >= inSpatial[i] + padsBegin[i]) out[i]--;
    } else {
      out[i] = Math.floor(span / s) + 1;
    }
  }
  return { kernel: [...kernel], strides, dilations, padsBegin, padsEnd, out };
}
