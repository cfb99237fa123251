// Resolves a path that came from a file (instances.csv, a request) and refuses it when it leaves its allowed folder.
import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';

export type Contained = { ok: true; path: string } | { ok: false; reason: string };

/** Whether `path` is `root` or below it (both absolute, already resolved). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`));
}

/** realpath of `path`, or of its nearest existing ancestor with the rest appended (a file about to be written). */
function realOrAncestor(path: string): string {
  let head = path;
  const tail: string[] = [];
  for (;;) {
    try {
      return resolve(realpathSync(head), ...tail.reverse());
    } catch {
      const parent = dirname(head);
      if (parent === head) return path;
      tail.push(head.slice(parent.length).replace(/^[\\/]+/, ''));
      head = parent;
    }
  }
}

/**
 * `given` (relative to `base`, or absolute) resolved, if it stays inside `root` both as written (`..`, absolute paths)
 * and after following symbolic links; otherwise one sentence saying why it was refused. `what` names the path for the
 * sentence, e.g. `instances.csv row 3: model path "../x.onnx"`.
 */
export function resolveInside(root: string, base: string, given: string, what: string, rootLabel = 'the workspace folder'): Contained {
  const absoluteRoot = resolve(root);
  const path = resolve(base, given);
  const refuse = (how: string): Contained => ({
    ok: false,
    reason: `${what} ${how} outside ${rootLabel} ${absoluteRoot} — graftcert only opens files from there; copy the file into it`,
  });
  if (given.includes('\0')) return { ok: false, reason: `${what} contains a NUL character — fix the path` };
  if (!isInside(absoluteRoot, path)) return refuse(isAbsolute(given) ? 'is an absolute path' : 'leads');
  const realRoot = realOrAncestor(absoluteRoot);
  if (!isInside(realRoot, realOrAncestor(path))) return refuse('leads through a symbolic link to a file');
  return { ok: true, path };
}
