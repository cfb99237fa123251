// Tells a data file's format from its first bytes (gzip looked through), not from its name.
import { closeSync, openSync, readSync } from 'node:fs';
import { constants, gunzipSync } from 'node:zlib';
import { dataError } from './errors';
import { isGzip, looksLikeIdx } from './idx';
import { looksLikeNpy } from './npy';

export type DataFormat = 'idx' | 'npy' | 'json';

export interface Detected {
  readonly format: DataFormat;
  readonly gzipped: boolean;
  /** IDX only: rank from the header (1 for a labels file, 3 for MNIST images). */
  readonly rank: number;
}

const HEAD_BYTES = 4096;

function readHead(file: string): Uint8Array {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw dataError(file, `cannot be opened (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'check the path');
  }
  try {
    const head = new Uint8Array(HEAD_BYTES);
    return head.subarray(0, readSync(fd, head, 0, HEAD_BYTES, 0));
  } finally {
    closeSync(fd);
  }
}

export function detectFormat(file: string): Detected {
  let head = readHead(file);
  const gzipped = isGzip(head);
  if (gzipped) {
    try {
      // Inflate just the start: a sync flush returns what the first bytes decode to.
      head = gunzipSync(head, { finishFlush: constants.Z_SYNC_FLUSH });
    } catch (e) {
      throw dataError(file, `is a corrupt gzip file (${(e as Error).message})`, 'download or compress the file again');
    }
  }
  if (looksLikeIdx(head)) return { format: 'idx', gzipped, rank: head[3] };
  if (looksLikeNpy(head)) {
    if (gzipped) throw dataError(file, 'is a gzipped .npy file', 'decompress it (gunzip) and pass the .npy file');
    return { format: 'npy', gzipped, rank: 0 };
  }
  const text = Buffer.from(head).toString('utf8').replace(/^\uFEFF/, '').trimStart();
  if (text.startsWith('{')) return { format: 'json', gzipped, rank: 0 };
  if (head.length === 0) throw dataError(file, 'is empty', 'pass an IDX, .npy or JSON data file');
  throw dataError(
    file,
    'is neither an IDX file, a .npy file nor a JSON object (judged by its first bytes)',
    'pass mnist, mnist:train, an IDX images file, a .npy inputs file or a JSON data file',
  );
}
