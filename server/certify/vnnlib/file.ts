// Reads a property file from disk; gzip (`.vnnlib.gz`) is detected by its magic bytes, not the name.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { gunzipSync, gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { parseVnnlib } from './parser';
import { ParseOptions, VnnlibProperty } from './types';

const gunzipAsync = promisify(gunzip);

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** The text of a `.vnnlib` or `.vnnlib.gz` file. */
export function readVnnlibText(path: string): string {
  const bytes = readFileSync(path);
  return (isGzip(bytes) ? gunzipSync(bytes) : bytes).toString('utf8');
}

export function readVnnlibFile(path: string, options: Omit<ParseOptions, 'file'> = {}): VnnlibProperty {
  return parseVnnlib(readVnnlibText(path), { ...options, file: path });
}

/** Same as `readVnnlibFile`, without blocking the event loop on the read and the gunzip. */
export async function loadVnnlibFile(path: string, options: Omit<ParseOptions, 'file'> = {}): Promise<VnnlibProperty> {
  const bytes = await readFile(path);
  const text = (isGzip(bytes) ? await gunzipAsync(bytes) : bytes).toString('utf8');
  return parseVnnlib(text, { ...options, file: path });
}
