// Turns a DATA spec (`mnist`, `mnist:train`, an IDX / .npy / JSON path) into a loaded DataSet.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { finiteRange, sizeOfShape, toLabels, type DataSet, type LoadOptions } from './dataset';
import { detectFormat } from './detect';
import { dataError } from './errors';
import { readIdxImages, readIdxLabels } from './idx';
import { readJsonSamples } from './json';
import { mnistFiles, type MnistSplit } from './mnist';
import { readNpy } from './npy';

const SPECS = 'pass mnist, mnist:train, an IDX images file (…-idx3-ubyte[.gz]) or a folder with one, a .npy inputs file with its labels file, or a JSON file';

/**
 * The .npy pairing convention, inputs ↔ labels, both in the same folder:
 *   X.npy ↔ y.npy,  x.npy ↔ y.npy,  inputs.npy ↔ labels.npy,  foo.npy ↔ foo_labels.npy or foo.labels.npy.
 * Either member may be passed; a folder may hold inputs.npy + labels.npy or X.npy + y.npy;
 * `INPUTS.npy,LABELS.npy` names both files explicitly.
 */
const NPY_CONVENTION = 'name the pair X.npy + y.npy, inputs.npy + labels.npy or foo.npy + foo_labels.npy, or pass "inputs.npy,labels.npy"';

/**
 * Loads the data set a DATA spec names. `count` / `offset` pick a window of samples; for
 * uncompressed IDX files (MNIST included) only that window is read from disk.
 * Throws DataError (one sentence: file, problem, way out) for anything it cannot load.
 */
export function loadDataSet(spec: string, options: LoadOptions = {}): DataSet {
  const trimmed = spec.trim();
  const mnist = /^mnist(?::(.*))?$/i.exec(trimmed);
  if (mnist && !existsSync(trimmed)) {
    const split = (mnist[1] ?? 'test').toLowerCase();
    if (split !== 'test' && split !== 'train') {
      throw dataError(trimmed, `names an unknown MNIST split "${mnist[1]}"`, 'pass mnist (the test split) or mnist:train');
    }
    const files = mnistFiles(split as MnistSplit);
    return { ...loadIdx(files.images, files.labels, options), name: `mnist (${split})` };
  }
  if (trimmed === '') throw dataError('DATA', 'is empty', SPECS);

  const parts = trimmed.split(',');
  if (parts.length === 2 && !existsSync(trimmed)) {
    const [inputs, labels] = parts.map((p) => p.trim());
    for (const file of [inputs, labels]) requireFile(file);
    return loadPair(inputs, labels, options);
  }

  if (!existsSync(trimmed)) throw dataError(trimmed, 'does not exist and is not a known data set name', SPECS);
  if (statSync(trimmed).isDirectory()) return loadDirectory(trimmed, options);

  const detected = detectFormat(trimmed);
  switch (detected.format) {
    case 'json':
      return loadJson(trimmed, options);
    case 'idx':
      return detected.rank === 1
        ? loadIdx(idxPartner(trimmed, 'images'), trimmed, options)
        : loadIdx(trimmed, idxPartner(trimmed, 'labels'), options);
    case 'npy': {
      const pair = npyPair(trimmed);
      return loadNpy(pair.inputs, pair.labels, options);
    }
  }
}

function requireFile(file: string): void {
  if (!existsSync(file)) throw dataError(file, 'does not exist', 'check the path');
  if (statSync(file).isDirectory()) throw dataError(file, 'is a folder where a file belongs', 'name the file itself');
}

/** Loads an explicit `inputs,labels` pair of the same format. */
function loadPair(inputs: string, labels: string, options: LoadOptions): DataSet {
  const a = detectFormat(inputs);
  const b = detectFormat(labels);
  if (a.format !== b.format || a.format === 'json') {
    throw dataError(`${inputs},${labels}`, `pairs a ${a.format} file with a ${b.format} file`, 'pass two IDX files or two .npy files (a JSON file holds its labels itself)');
  }
  return a.format === 'idx' ? loadIdx(inputs, labels, options) : loadNpy(inputs, labels, options);
}

// ---- IDX ----------------------------------------------------------------------------------

/** The standard partner name: t10k-images-idx3-ubyte[.gz] ↔ t10k-labels-idx1-ubyte[.gz] (also `images.idx3`). */
function idxPartner(file: string, want: 'images' | 'labels'): string {
  const dir = dirname(file);
  const name = basename(file);
  const stem = name.replace(/\.gz$/i, '');
  const partnerStem =
    want === 'labels'
      ? stem.replace(/images/i, (m) => (m === 'IMAGES' ? 'LABELS' : 'labels')).replace(/idx3/i, 'idx1')
      : stem.replace(/labels/i, (m) => (m === 'LABELS' ? 'IMAGES' : 'images')).replace(/idx1/i, 'idx3');
  if (partnerStem !== stem) {
    for (const candidate of [partnerStem, partnerStem + '.gz']) {
      if (existsSync(join(dir, candidate))) return join(dir, candidate);
    }
  }
  const expected = partnerStem !== stem ? partnerStem : want === 'labels' ? '…-labels-idx1-ubyte' : '…-images-idx3-ubyte';
  throw dataError(
    file,
    `has no ${want} file next to it (looked for ${expected}[.gz])`,
    `put the ${want} file beside it with the standard name, or pass both as "images,labels"`,
  );
}

function loadIdx(imagesFile: string, labelsFile: string, options: LoadOptions): DataSet {
  const images = readIdxImages(imagesFile, options);
  // Labels are small (one value per sample): read them whole to compare counts before windowing.
  const labels = readIdxLabels(labelsFile);
  if (labels.dims[0] !== images.total) {
    throw dataError(labelsFile, `has ${labels.dims[0]} labels but ${imagesFile} has ${images.total} images`, 'pass the labels file that belongs to these images');
  }
  const window = labels.values.subarray(images.offset, images.offset + images.count);
  return {
    name: basename(imagesFile),
    source: imagesFile,
    inputs: images.inputs,
    labels: toLabels(labelsFile, window, images.offset),
    count: images.count,
    total: images.total,
    offset: images.offset,
    inputShape: images.inputShape,
    range: images.range,
  };
}

// ---- NPY ----------------------------------------------------------------------------------

const NPY_PAIRS: ReadonlyArray<[string, string]> = [
  ['X.npy', 'y.npy'],
  ['x.npy', 'y.npy'],
  ['inputs.npy', 'labels.npy'],
];

function npyPair(file: string): { inputs: string; labels: string } {
  const dir = dirname(file);
  const name = basename(file);
  const candidates: Array<{ inputs: string; labels: string }> = [];
  for (const [inputs, labels] of NPY_PAIRS) {
    if (name === inputs) candidates.push({ inputs: name, labels });
    if (name === labels) candidates.push({ inputs, labels: name });
  }
  const labelsSuffix = /^(.*)[._]labels\.npy$/i.exec(name);
  if (labelsSuffix) candidates.push({ inputs: labelsSuffix[1] + '.npy', labels: name });
  const stem = name.replace(/\.npy$/i, '');
  candidates.push({ inputs: name, labels: stem + '_labels.npy' }, { inputs: name, labels: stem + '.labels.npy' });
  for (const c of candidates) {
    const inputs = join(dir, c.inputs);
    const labels = join(dir, c.labels);
    if (inputs !== labels && existsSync(inputs) && existsSync(labels)) return { inputs, labels };
  }
  throw dataError(file, 'has no partner .npy file next to it', NPY_CONVENTION);
}

function loadNpy(inputsFile: string, labelsFile: string, options: LoadOptions): DataSet {
  const inputs = readNpy(inputsFile, options);
  if (inputs.shape.length < 2) {
    throw dataError(inputsFile, `has shape (${inputs.shape.join(', ')}), not one row per sample such as (N, 784)`, `store the inputs with a sample axis first, and ${NPY_CONVENTION}`);
  }
  const labels = readNpy(labelsFile);
  if (labels.shape.length > 2 || (labels.shape.length === 2 && labels.shape[1] !== 1)) {
    throw dataError(labelsFile, `has shape (${labels.shape.join(', ')}), labels need one integer per sample`, 'store the class indices (e.g. argmax of one-hot rows) as an (N,) array');
  }
  if (labels.shape[0] !== inputs.shape[0]) {
    throw dataError(labelsFile, `has ${labels.shape[0]} labels but ${inputsFile} has ${inputs.shape[0]} samples`, 'pass the labels file that belongs to these inputs');
  }
  const inputShape = inputs.shape.slice(1);
  const values = Float32Array.from(inputs.values);
  let range: [number, number];
  if (inputs.dtype.kind === 'u' && inputs.dtype.bytes === 1) {
    // uint8 arrays are raw pixels, as in IDX files: scale them the same way.
    for (let i = 0; i < values.length; i++) values[i] /= 255;
    range = [0, 1];
  } else {
    range = finiteRange(inputsFile, values, sizeOfShape(inputShape), inputs.offset);
  }
  return {
    name: basename(inputsFile),
    source: inputsFile,
    inputs: values,
    labels: toLabels(labelsFile, labels.values.subarray(inputs.offset, inputs.offset + inputs.count), inputs.offset),
    count: inputs.count,
    total: inputs.shape[0],
    offset: inputs.offset,
    inputShape,
    range,
  };
}

// ---- JSON ---------------------------------------------------------------------------------

function loadJson(file: string, options: LoadOptions): DataSet {
  const samples = readJsonSamples(file, options);
  return {
    name: basename(file),
    source: file,
    inputs: samples.inputs,
    labels: toLabels(file, samples.labels, samples.offset),
    count: samples.count,
    total: samples.total,
    offset: samples.offset,
    inputShape: samples.inputShape,
    range: finiteRange(file, samples.inputs, sizeOfShape(samples.inputShape), samples.offset),
  };
}

// ---- folders ------------------------------------------------------------------------------

/** A folder holds one IDX images + labels pair, or a conventional .npy pair. */
function loadDirectory(dir: string, options: LoadOptions): DataSet {
  const names = readdirSync(dir).sort();
  const images = names.filter((n) => /idx3-ubyte(\.gz)?$/i.test(n));
  const labels = names.filter((n) => /idx1-ubyte(\.gz)?$/i.test(n));
  if (images.length > 1) {
    throw dataError(dir, `holds ${images.length} IDX images files (${images.join(', ')})`, 'pass the images file you mean');
  }
  if (images.length === 1) {
    const imagesFile = join(dir, images[0]);
    if (labels.length === 1) return loadIdx(imagesFile, join(dir, labels[0]), options);
    return loadIdx(imagesFile, idxPartner(imagesFile, 'labels'), options);
  }
  for (const [inputs, labelsName] of NPY_PAIRS) {
    if (names.includes(inputs) && names.includes(labelsName)) return loadNpy(join(dir, inputs), join(dir, labelsName), options);
  }
  throw dataError(dir, 'holds no IDX images file (…-idx3-ubyte[.gz]) and no inputs.npy + labels.npy or X.npy + y.npy pair', 'put one such pair in the folder or pass a file');
}
