// A model file as it was when a run loaded it (bytes, stat, content hash), so a run can tell whether the file changed under it.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { InputError } from '../commands/args';
import { readModelFile } from '../onnx/load';

export interface ModelSnapshot {
  file: string;
  /** The bytes the run decodes (workers get these too, never a later version of the file). */
  bytes: Uint8Array;
  /** size:mtime:ino:ctime at load — the cheap test; a difference is then confirmed against the hash. */
  stamp: string;
  sha256: string;
}

/** The cheap identity of a file's version; undefined when it cannot be stat'ed (deleted, moved away). */
export function fileStamp(file: string): string | undefined {
  try {
    const s = statSync(file);
    return `${s.size}:${s.mtimeMs}:${s.ino}:${s.ctimeMs}`;
  } catch {
    return undefined;
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reads the model once; the stat is taken first so that a write racing the read shows up as a change later. */
export function snapshotModel(file: string): ModelSnapshot {
  const stamp = fileStamp(file) ?? '';
  const bytes = readModelFile(file);
  return { file, bytes, stamp, sha256: sha256(bytes) };
}

/**
 * Whether the file no longer holds the snapshot's bytes: deleted, or different content. A touch that keeps the
 * content (same hash) is not a change.
 */
export function changedSince(snapshot: ModelSnapshot): boolean {
  const now = fileStamp(snapshot.file);
  if (now === undefined) return true;
  if (now === snapshot.stamp) return false;
  try {
    return sha256(readFileSync(snapshot.file)) !== snapshot.sha256;
  } catch {
    return true;
  }
}

/** What the run was doing, for the sentence: "certified", "verified", "bounded", "grafted". */
export type RunVerb = 'certified' | 'verified' | 'bounded' | 'grafted';

const commandOf: Record<RunVerb, string> = { certified: 'Certify Model', verified: 'Verify Property', bounded: 'Certify Model', grafted: 'Graft Model' };

/** The one sentence a discarded run answers with. */
export class ModelChangedError extends InputError {
  constructor(file: string, verb: RunVerb) {
    super(undefined, `${basename(file)} changed on disk while it was being ${verb}; the result was discarded`, `run ${commandOf[verb]} again`);
    this.name = 'ModelChangedError';
  }
}

/** Throws ModelChangedError when the file changed since the snapshot: a result of the old model is never shown as the new one's. */
export function assertUnchanged(snapshot: ModelSnapshot, verb: RunVerb): void {
  if (changedSince(snapshot)) throw new ModelChangedError(snapshot.file, verb);
}
