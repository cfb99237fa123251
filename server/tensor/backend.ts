// Chooses the tfjs compute backend at start-up: native GPU → native CPU → WebGPU → wasm → cpu, never crashing.
import * as tf from '@tensorflow/tfjs';
// Imported statically so the bundler includes it (it only registers the backend; the binary loads on first use).
import * as wasmBackend from '@tensorflow/tfjs-backend-wasm';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { useTransposeFreeMatMulGradient } from './tfjs';
import { BACKEND_PREFERENCES, type BackendPreference } from './preference';
import { activeWebGpuAdapter, openWebGpuAdapter, registerWebGpuBackend, type WebGpuAdapterDescription, type WebGpuOptions } from './webgpu';

export { BACKEND_PREFERENCES, backendPreferenceFromEnv, type BackendPreference } from './preference';

export interface BackendChoice {
  /** The tfjs backend name now active: 'tensorflow' (tfjs-node / -gpu), 'webgpu', 'wasm' or 'cpu'. */
  readonly name: string;
  /** Set when the preferred backend (or, for 'auto', a faster one) could not be used; one sentence per backend tried. */
  readonly fallbackReason?: string;
  /** For 'webgpu': the adapter it runs on (software adapters are correct but slower than wasm). */
  readonly adapter?: WebGpuAdapterDescription;
}

type Candidate = Exclude<BackendPreference, 'auto'>;

/** The order 'auto' tries; a forced preference tries itself first, then the rest of this order below it. */
const AUTO_ORDER: readonly Candidate[] = ['gpu', 'native', 'webgpu', 'wasm', 'cpu'];

export interface InitBackendOptions {
  /** Where the choice and fallbacks are reported; default console.error (stdout may carry --json). */
  readonly log?: (message: string) => void;
  /**
   * Module loader for the optional packages (and, when given, for the wasm backend, which is otherwise the
   * bundled import); tests replace it to simulate a missing or broken package.
   */
  readonly load?: (moduleName: string) => unknown;
  /** Adapter kind and time limit for webgpu; default GRAFTCERT_WEBGPU_ADAPTER (else hardware only), 10 s. */
  readonly webgpu?: WebGpuOptions;
}

// A computed module name keeps bundlers from trying to inline optional packages that are not installed.
const runtimeRequire: (moduleName: string) => unknown =
  typeof require === 'function' ? require : createRequire(join(process.cwd(), 'noop.js'));

function describe(err: unknown): string {
  const text = err instanceof Error ? err.message : typeof err === 'object' && err !== null && 'message' in err
    ? String((err as { message: unknown }).message) : String(err);
  return text.split('\n')[0];
}

/**
 * Directory holding the wasm binaries: next to the bundled script (esbuild copies them there), else the
 * package's own dist/. Returns undefined when neither has them, so the backend's own lookup gets a chance.
 */
export function wasmBinaryDirectory(): string | undefined {
  const binary = 'tfjs-backend-wasm-simd.wasm';
  const candidates: string[] = [];
  if (typeof __dirname === 'string') candidates.push(__dirname);
  try {
    candidates.push(join(dirname((runtimeRequire as NodeRequire).resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist'));
  } catch {
    // Not resolvable (bundled without node_modules): the bundle directory is the only candidate.
  }
  return candidates.find((dir) => existsSync(join(dir, binary)));
}

let wasmPathsSet = false;

async function activate(name: string): Promise<void> {
  // setBackend resolves false (instead of throwing) when the backend's factory fails.
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tfjs could not initialise the '${name}' backend`);
  await tf.ready();
}

async function tryNative(pkg: string, load: (m: string) => unknown): Promise<void> {
  try {
    load(pkg); // registers the 'tensorflow' backend with the shared tfjs-core
  } catch (err) {
    throw new Error(`${pkg} is not installed or failed to load (${describe(err)})`);
  }
  if (tf.findBackendFactory('tensorflow') === null) throw new Error(`${pkg} loaded but registered no 'tensorflow' backend`);
  await activate('tensorflow');
}

async function tryWebGpu(load: (m: string) => unknown, options: InitBackendOptions): Promise<void> {
  if (tf.findBackendFactory('webgpu') === null || activeWebGpuAdapter() === undefined) {
    const opened = await openWebGpuAdapter(load, options.webgpu);
    await registerWebGpuBackend(load, opened, options.webgpu?.timeoutMs);
  }
  await activate('webgpu');
}

async function tryWasm(load: ((m: string) => unknown) | undefined): Promise<void> {
  let wasm: { setWasmPaths(prefix: string): void };
  try {
    wasm = load === undefined ? wasmBackend : (load('@tensorflow/tfjs-backend-wasm') as typeof wasm);
  } catch (err) {
    throw new Error(`@tensorflow/tfjs-backend-wasm failed to load (${describe(err)})`);
  }
  if (!wasmPathsSet && tf.findBackend('wasm') === null) {
    const dir = wasmBinaryDirectory();
    if (dir !== undefined) wasm.setWasmPaths(dir.endsWith('/') ? dir : dir + '/');
    wasmPathsSet = true;
  }
  await activate('wasm');
}

async function tryCandidate(candidate: Candidate, options: InitBackendOptions): Promise<void> {
  const custom = options.load;
  const load = custom ?? runtimeRequire;
  switch (candidate) {
    case 'gpu': return tryNative('@tensorflow/tfjs-node-gpu', load);
    case 'native': return tryNative('@tensorflow/tfjs-node', load);
    case 'webgpu': return tryWebGpu(load, options);
    case 'wasm': return tryWasm(custom);
    case 'cpu': {
      await activate('cpu');
      // The cpu backend prints a multi-line "install tfjs-node" banner on first use; the choice is logged here instead.
      const cpu = tf.backend() as { firstUse?: boolean };
      if (cpu.firstUse !== undefined) cpu.firstUse = false;
      return;
    }
  }
}

/**
 * Makes the best available backend current. 'auto' walks the whole order; a forced preference is tried
 * first and, if it fails, the order continues below it (a reason is returned and logged, nothing throws
 * unless even the cpu backend fails).
 */
export async function initBackend(preference: BackendPreference = 'auto', options: InitBackendOptions = {}): Promise<BackendChoice> {
  const log = options.log ?? ((m: string) => console.error(m));
  if (!BACKEND_PREFERENCES.includes(preference)) {
    log(`graftcert: unknown backend '${String(preference)}', using 'auto'`);
    preference = 'auto';
  }
  const order: Candidate[] = preference === 'auto'
    ? [...AUTO_ORDER]
    : [preference, ...AUTO_ORDER.slice(AUTO_ORDER.indexOf(preference) + 1)];
  const failures: string[] = [];
  for (const candidate of order) {
    try {
      await tryCandidate(candidate, options);
    } catch (err) {
      failures.push(`${candidate}: ${describe(err)}`);
      continue;
    }
    const name = tf.getBackend();
    useTransposeFreeMatMulGradient(name === 'wasm');
    // For 'auto' the missing optional accelerators are expected, so they are a reason but not a warning.
    const fallbackReason = failures.length > 0 ? failures.join('; ') : undefined;
    if (fallbackReason !== undefined && preference !== 'auto') log(`graftcert: backend '${preference}' unavailable, fell back to '${name}' (${fallbackReason})`);
    log(`graftcert: compute backend '${name}'` + (preference === 'auto' && fallbackReason ? ` (skipped ${failures.map((f) => f.split(':')[0]).join(', ')})` : ''));
    const adapter = name === 'webgpu' ? activeWebGpuAdapter() : undefined;
    if (adapter !== undefined) log(`graftcert: webgpu adapter: ${adapter.description} (Dawn ${adapter.dawnBackend}, ${adapter.featureLevel}${adapter.software ? ', software' : ''})`);
    return { name, ...(fallbackReason === undefined ? {} : { fallbackReason }), ...(adapter === undefined ? {} : { adapter }) };
  }
  throw new Error(`No tfjs backend could be initialised: ${failures.join('; ')}`);
}
