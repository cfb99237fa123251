// Resource limits in one place: model size, tensor size, branch-and-bound domains, bound memory; checked before allocating.
//
// The source of truth is the environment (GRAFTCERT_MAX_MODEL_MB, GRAFTCERT_MAX_TENSOR_ELEMENTS,
// GRAFTCERT_MAX_DOMAINS, GRAFTCERT_MAX_MEMORY_MB): the editor sets them from the `graftcert.limits.*` settings
// when it starts the backend, and `setLimits` (the CLI's --max-* flags) writes them too, so worker threads
// started later (certification pool, bound worker) see the same limits.
import { basename } from 'node:path';

export interface Limits {
  /** Largest model file read, bytes (external weight files count separately, each against the tensor limit). */
  readonly modelBytes: number;
  /** Largest tensor (initialiser, constant, folded value or activation), elements. */
  readonly tensorElements: number;
  /** Largest number of open branch-and-bound domains before verification answers `unknown`. */
  readonly babDomains: number;
  /** Largest estimated working memory of a bound computation, bytes. */
  readonly memoryBytes: number;
}

const MB = 1024 * 1024;

export const DEFAULT_LIMITS: Limits = {
  modelBytes: 1024 * MB,
  tensorElements: 2 ** 28,
  babDomains: 100_000,
  memoryBytes: 4096 * MB,
};

/** One limit: its environment variable, CLI flag, VS Code setting, and how the variable's number maps to the limit. */
interface LimitKnob {
  readonly env: string;
  readonly flag: string;
  readonly setting: string;
  /** Multiplier from the configured number (MB or a count) to the limit's unit (bytes or a count). */
  readonly scale: number;
}

export const LIMIT_KNOBS: Readonly<Record<keyof Limits, LimitKnob>> = {
  modelBytes: { env: 'GRAFTCERT_MAX_MODEL_MB', flag: '--max-model-mb', setting: 'graftcert.limits.modelMb', scale: MB },
  tensorElements: { env: 'GRAFTCERT_MAX_TENSOR_ELEMENTS', flag: '--max-tensor-elements', setting: 'graftcert.limits.tensorElements', scale: 1 },
  babDomains: { env: 'GRAFTCERT_MAX_DOMAINS', flag: '--max-domains', setting: 'graftcert.limits.domains', scale: 1 },
  memoryBytes: { env: 'GRAFTCERT_MAX_MEMORY_MB', flag: '--max-memory-mb', setting: 'graftcert.limits.memoryMb', scale: MB },
};

let cache: { key: string; limits: Limits } | null = null;

/** The limits in force: each GRAFTCERT_MAX_* variable that holds a positive number, else the default. */
export function currentLimits(env: NodeJS.ProcessEnv = process.env): Limits {
  const key = (Object.keys(LIMIT_KNOBS) as (keyof Limits)[]).map((k) => env[LIMIT_KNOBS[k].env] ?? '').join('|');
  if (env === process.env && cache !== null && cache.key === key) return cache.limits;
  const limits = { ...DEFAULT_LIMITS };
  for (const k of Object.keys(LIMIT_KNOBS) as (keyof Limits)[]) {
    const raw = env[LIMIT_KNOBS[k].env];
    const v = raw === undefined || raw.trim() === '' ? NaN : Number(raw);
    if (Number.isFinite(v) && v > 0) limits[k] = Math.floor(v * LIMIT_KNOBS[k].scale);
  }
  if (env === process.env) cache = { key, limits };
  return limits;
}

/** Limits in the units users configure (MB, counts), e.g. from CLI flags or settings; undefined entries stay as they are. */
export interface LimitSettings {
  modelMb?: number;
  tensorElements?: number;
  domains?: number;
  memoryMb?: number;
}

/** Sets limits for this process and the worker threads it starts later (through the GRAFTCERT_MAX_* variables). */
export function setLimits(settings: LimitSettings, env: NodeJS.ProcessEnv = process.env): void {
  const put = (k: keyof Limits, v: number | undefined) => {
    if (v !== undefined && Number.isFinite(v) && v > 0) env[LIMIT_KNOBS[k].env] = String(v);
  };
  put('modelBytes', settings.modelMb);
  put('tensorElements', settings.tensorElements);
  put('babDomains', settings.domains);
  put('memoryBytes', settings.memoryMb);
}

/** The environment variables for a backend process, from settings (what the extension passes). */
export function limitEnv(settings: LimitSettings): Record<string, string> {
  const env: Record<string, string> = {};
  setLimits(settings, env as NodeJS.ProcessEnv);
  return env;
}

/** "3.2 GB", "640 MB", "12 kB": a size a person reads at a glance. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${trim(bytes / 1024 ** 3)} GB`;
  if (bytes >= MB) return `${trim(bytes / MB)} MB`;
  if (bytes >= 1024) return `${trim(bytes / 1024)} kB`;
  return `${bytes} bytes`;
}

/** "268,435,456" style counts. */
export function formatCount(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : String(n);
}

function trim(v: number): string {
  return v >= 10 ? v.toFixed(0) : v.toFixed(1).replace(/\.0$/, '');
}

/** "raise it with --max-model-mb or the graftcert.limits.modelMb setting". */
export function raiseHint(limit: keyof Limits): string {
  const k = LIMIT_KNOBS[limit];
  return `raise it with ${k.flag} or the ${k.setting} setting (${k.env} for the backend)`;
}

/**
 * A computation would exceed a configured limit. `problem` says what and by how much, `remedy` how to raise the
 * limit; `subject` is the file concerned when known. Bad input, not a bug: the CLI exits 2, the server answers a
 * bad-input error.
 */
export class LimitError extends Error {
  constructor(
    readonly limit: keyof Limits,
    readonly problem: string,
    readonly remedy: string = raiseHint(limit),
    readonly subject?: string,
  ) {
    super(`${subject ? `${basename(subject)}: ` : ''}${problem} — ${remedy}.`);
    this.name = 'LimitError';
  }

  /** The same error about `file`. */
  about(file: string): LimitError {
    return new LimitError(this.limit, this.problem, this.remedy, file);
  }
}

/** Throws LimitError when a tensor of `elements` elements (what `what` names) is over the tensor limit. */
export function checkTensorElements(elements: number, what: string, limits: Limits = currentLimits()): void {
  if (!(elements <= limits.tensorElements)) {
    throw new LimitError(
      'tensorElements',
      `${what} has ${formatCount(elements)} elements, over the ${formatCount(limits.tensorElements)}-element tensor limit`,
    );
  }
}

/** Throws LimitError when an estimated working set of `bytes` (for `what`) is over the memory limit. */
export function checkMemory(bytes: number, what: string, remedy?: string, limits: Limits = currentLimits()): void {
  if (!(bytes <= limits.memoryBytes)) {
    throw new LimitError(
      'memoryBytes',
      `${what} needs about ${formatBytes(bytes)} of memory, over the ${formatBytes(limits.memoryBytes)} limit`,
      remedy === undefined ? raiseHint('memoryBytes') : `${remedy}, or ${raiseHint('memoryBytes')}`,
    );
  }
}

/**
 * Branch and bound: the reason to stop (an `unknown` verdict, never `unsat`) when `openDomains` reached the domain
 * limit, else null. Called at the head of each search loop, before more domains are split and queued.
 */
export function babDomainLimitReason(openDomains: number, limits: Limits = currentLimits()): string | null {
  if (openDomains < limits.babDomains) return null;
  return `branch and bound stopped at ${formatCount(openDomains)} open domains, the domain limit, without a verdict — ${raiseHint('babDomains')}, or give it a longer --timeout`;
}
