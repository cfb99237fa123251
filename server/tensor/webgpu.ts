// WebGPU for tfjs in Node: Dawn (the npm `webgpu` package) as navigator.gpu, an adapter found with a time limit, and
// @tensorflow/tfjs-backend-webgpu registered on that adapter. Hardware adapters by default; a software one on request.
import * as tf from '@tensorflow/tfjs';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Which adapters count: 'hardware' (a real GPU; the default), 'software' (Mesa's llvmpipe/lavapipe, for tests on
 * machines without a GPU: correct, not fast), or 'any' (hardware first, then software).
 */
export type WebGpuAdapterKind = 'hardware' | 'software' | 'any';

export const WEBGPU_ADAPTER_KINDS: readonly WebGpuAdapterKind[] = ['hardware', 'software', 'any'];

export interface WebGpuOptions {
  /** Default: GRAFTCERT_WEBGPU_ADAPTER, else 'hardware'. */
  readonly adapter?: WebGpuAdapterKind;
  /** Limit on one requestAdapter/requestDevice call; Dawn can hang on a broken driver. Default 10 s. */
  readonly timeoutMs?: number;
  /** Whether the machine has a GPU device at all (default: a device-node check on Linux); tests replace it. */
  readonly gpuDevicePresent?: () => boolean;
}

/** What the webgpu backend runs on, for logs and the bench. */
export interface WebGpuAdapterDescription {
  /** Dawn's backend: 'vulkan', 'opengl', 'metal', 'd3d12', ... ('default' when Dawn chose). */
  readonly dawnBackend: string;
  readonly featureLevel: 'core' | 'compatibility';
  readonly software: boolean;
  /** Vendor / architecture / description as the adapter reports them, e.g. "OpenGL version 4.5 (Core Profile) Mesa 22.3.6". */
  readonly description: string;
}

// The few WebGPU types used here; the full @webgpu/types are not part of the project's type roots.
interface GpuAdapterInfo { vendor?: string; architecture?: string; device?: string; description?: string; type?: string }
interface GpuAdapter {
  readonly info?: GpuAdapterInfo;
  readonly features: { has(name: string): boolean };
  readonly limits: Record<string, number>;
  requestDevice(descriptor?: Record<string, unknown>): Promise<GpuDevice>;
}
interface GpuDevice { readonly queue: unknown; readonly features: { has(name: string): boolean }; destroy?(): void }
interface Gpu { requestAdapter(options?: Record<string, unknown>): Promise<GpuAdapter | null> }
interface DawnModule { create(flags: string[]): Gpu; globals: Record<string, unknown> }
interface WebGpuBackendModule { WebGPUBackend: new (device: GpuDevice, adapterInfo: unknown) => tf.KernelBackend }

/** Reads GRAFTCERT_WEBGPU_ADAPTER; 'hardware' when unset or unknown. */
export function webGpuAdapterKindFromEnv(env: NodeJS.ProcessEnv = process.env): WebGpuAdapterKind {
  const value = env.GRAFTCERT_WEBGPU_ADAPTER?.trim().toLowerCase();
  return value !== undefined && (WEBGPU_ADAPTER_KINDS as readonly string[]).includes(value) ? (value as WebGpuAdapterKind) : 'hardware';
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0];
}

/** Rejects after `ms` with `what` timed out (a referenced timer: a hung request holds no handle of its own). */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(0)} s`}`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

function describeAdapter(info: GpuAdapterInfo | undefined): string {
  const parts = [info?.vendor, info?.architecture, info?.device, info?.description].filter((p): p is string => typeof p === 'string' && p.trim() !== '');
  return parts.length > 0 ? [...new Set(parts)].join(' ') : 'unnamed adapter';
}

/** CPU rasterisers: Mesa llvmpipe (OpenGL) and lavapipe (Vulkan), SwiftShader, or an adapter that says it is a CPU. */
export function isSoftwareAdapter(info: GpuAdapterInfo | undefined): boolean {
  if (info?.type !== undefined && /cpu/i.test(info.type)) return true;
  return /llvmpipe|lavapipe|swiftshader|softpipe/i.test(describeAdapter(info));
}

/**
 * Loads Dawn. `webgpu` is an ES module; Node ≥ 20.19 requires it directly, older ones get its native addon
 * (the same `create`/`globals`, without the package's buffer-unmapping patch, which tfjs does not rely on).
 */
function loadDawn(load: (moduleName: string) => unknown): DawnModule {
  try {
    return load('webgpu') as DawnModule;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'ERR_REQUIRE_ESM' && code !== 'ERR_REQUIRE_ASYNC_MODULE') throw err;
    const packageJson = (require as NodeRequire).resolve('webgpu/package.json');
    const arch = process.platform === 'darwin' ? 'universal' : process.arch;
    return load(join(dirname(packageJson), 'dist', `${process.platform}-${arch}`, 'dawn.node')) as DawnModule;
  }
}

interface Attempt {
  readonly flags: string[];
  readonly dawnBackend: string;
  readonly featureLevel: 'core' | 'compatibility';
  readonly software: boolean;
}

/**
 * The software attempts: Vulkan lavapipe first (Dawn accepts Mesa ≥ 25, e.g. bookworm-backports; it rejects
 * bookworm's Mesa 22), then desktop OpenGL, then GLES, through EGL without a display (Mesa 22's llvmpipe,
 * which Dawn only offers at WebGPU's 'compatibility' feature level). scripts/setup-webgpu.sh installs the EGL/GL libraries.
 */
const SOFTWARE_ATTEMPTS: readonly Attempt[] = [
  { flags: ['backend=vulkan'], dawnBackend: 'vulkan', featureLevel: 'core', software: true },
  { flags: ['backend=opengl'], dawnBackend: 'opengl', featureLevel: 'compatibility', software: true },
  { flags: ['backend=opengles'], dawnBackend: 'opengles', featureLevel: 'compatibility', software: true },
];

const HARDWARE_ATTEMPT: Attempt = { flags: [], dawnBackend: 'default', featureLevel: 'core', software: false };

/** Dawn prints a two-line warning on every Vulkan attempt without the loader; Linux without it has no Vulkan. */
function vulkanLoaderPresent(): boolean {
  if (process.platform !== 'linux') return true;
  return ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib']
    .some((dir) => existsSync(join(dir, 'libvulkan.so.1')));
}

/**
 * Whether a GPU device node exists (Linux: a DRM render node or the NVIDIA control device). Without one a hardware
 * attempt cannot succeed, and Dawn would only print its Vulkan warning on every start-up; elsewhere, true.
 */
function gpuDeviceNodePresent(): boolean {
  if (process.platform !== 'linux') return true;
  if (existsSync('/dev/nvidiactl') || existsSync('/dev/nvidia0')) return true;
  try {
    return readdirSync('/dev/dri').some((name) => name.startsWith('renderD'));
  } catch {
    return false;
  }
}

export interface OpenedAdapter {
  readonly dawn: DawnModule;
  readonly gpu: Gpu;
  readonly adapter: GpuAdapter;
  readonly description: WebGpuAdapterDescription;
}

/**
 * Finds an adapter of the wanted kind. Throws one sentence saying what was tried and what was found, so the
 * caller can fall back with it as the reason.
 */
export async function openWebGpuAdapter(load: (moduleName: string) => unknown, options: WebGpuOptions = {}): Promise<OpenedAdapter> {
  const kind = options.adapter ?? webGpuAdapterKindFromEnv();
  const timeoutMs = options.timeoutMs ?? 10_000;
  let dawn: DawnModule;
  try {
    dawn = loadDawn(load);
  } catch (err) {
    throw new Error(`the 'webgpu' package is not installed or failed to load (${firstLine(err)})`);
  }
  // Mesa's EGL otherwise looks for an X11/Wayland display; surfaceless needs none (and only matters for OpenGL).
  if (kind !== 'hardware' && process.env.EGL_PLATFORM === undefined) process.env.EGL_PLATFORM = 'surfaceless';
  const vulkan = vulkanLoaderPresent();
  const softwareAttempts = vulkan ? SOFTWARE_ATTEMPTS : SOFTWARE_ATTEMPTS.filter((a) => a.dawnBackend !== 'vulkan');
  const device = (options.gpuDevicePresent ?? gpuDeviceNodePresent)();
  const hardware = device ? [HARDWARE_ATTEMPT] : [];
  const attempts = kind === 'hardware' ? hardware : kind === 'software' ? softwareAttempts : [...hardware, ...softwareAttempts];
  const found: string[] = vulkan || kind === 'hardware' ? [] : ['vulkan: no Vulkan loader (libvulkan.so.1)'];
  if (!device && kind !== 'software') found.unshift('default: no GPU device (/dev/dri/renderD*, /dev/nvidia*)');
  for (const attempt of attempts) {
    let adapter: GpuAdapter | null;
    let gpu: Gpu;
    try {
      gpu = dawn.create(attempt.flags);
      adapter = await withTimeout(gpu.requestAdapter({ powerPreference: 'high-performance', featureLevel: attempt.featureLevel }), timeoutMs, 'requestAdapter');
    } catch (err) {
      found.push(`${attempt.dawnBackend}: ${firstLine(err)}`);
      continue;
    }
    if (adapter === null || adapter === undefined) {
      found.push(`${attempt.dawnBackend}: no adapter`);
      continue;
    }
    const software = isSoftwareAdapter(adapter.info);
    const description = describeAdapter(adapter.info);
    if (software && kind === 'hardware') {
      found.push(`${attempt.dawnBackend}: only a software adapter (${description}; GRAFTCERT_WEBGPU_ADAPTER=software uses it)`);
      continue;
    }
    // A real GPU found by a 'software' attempt (Vulkan on a GPU machine) is kept: it is as correct, and faster.
    return { dawn, gpu, adapter, description: { dawnBackend: attempt.dawnBackend, featureLevel: attempt.featureLevel, software, description } };
  }
  const wanted = kind === 'hardware' ? 'GPU adapter' : kind === 'software' ? 'software adapter' : 'adapter';
  throw new Error(`WebGPU found no ${wanted} (${found.join('; ')})`);
}

let active: { description: WebGpuAdapterDescription; device: GpuDevice } | undefined;

/** The adapter the registered webgpu backend runs on, once registerWebGpuBackend succeeded. */
export function activeWebGpuAdapter(): WebGpuAdapterDescription | undefined {
  return active?.description;
}

/**
 * Registers tfjs's 'webgpu' backend on an opened adapter (its own factory would request a default adapter again,
 * without a time limit and at the 'core' feature level only). Idempotent: a second call keeps the first device.
 */
export async function registerWebGpuBackend(load: (moduleName: string) => unknown, opened: OpenedAdapter, timeoutMs = 10_000): Promise<void> {
  if (active !== undefined && tf.findBackendFactory('webgpu') !== null) return;
  // tfjs-backend-webgpu checks navigator.gpu and uses the GPUBufferUsage/GPUMapMode/... globals.
  Object.assign(globalThis, opened.dawn.globals);
  const g = globalThis as unknown as { navigator?: object };
  Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu: opened.gpu }, configurable: true, writable: true });
  let pkg: WebGpuBackendModule;
  try {
    pkg = load('@tensorflow/tfjs-backend-webgpu') as WebGpuBackendModule;
  } catch (err) {
    throw new Error(`@tensorflow/tfjs-backend-webgpu is not installed (${firstLine(err)})`);
  }
  if (typeof pkg.WebGPUBackend !== 'function') throw new Error('@tensorflow/tfjs-backend-webgpu exports no WebGPUBackend');
  const { adapter } = opened;
  // The limits tfjs-backend-webgpu's own factory asks for: the adapter's maxima.
  const wantedLimits = ['maxComputeWorkgroupStorageSize', 'maxComputeWorkgroupsPerDimension', 'maxStorageBufferBindingSize',
    'maxBufferSize', 'maxComputeWorkgroupSizeX', 'maxComputeInvocationsPerWorkgroup'];
  const requiredLimits: Record<string, number> = {};
  for (const name of wantedLimits) if (typeof adapter.limits[name] === 'number') requiredLimits[name] = adapter.limits[name];
  const requiredFeatures = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
  const device = await withTimeout(adapter.requestDevice({ requiredFeatures, requiredLimits }), timeoutMs, 'requestDevice');
  patchReadSync(pkg);
  if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new pkg.WebGPUBackend(device, adapter.info), 1);
  active = { description: opened.description, device };
}

/**
 * tfjs-backend-webgpu reads synchronously through an OffscreenCanvas, which Node lacks, and fails with
 * "OffscreenCanvas is not defined". Say instead what works: the asynchronous read.
 */
function patchReadSync(pkg: WebGpuBackendModule): void {
  const proto = pkg.WebGPUBackend.prototype as { readSync(dataId: object): unknown; graftcertPatched?: boolean };
  if (proto.graftcertPatched === true || typeof OffscreenCanvas !== 'undefined') return;
  const original = proto.readSync;
  proto.readSync = function readSync(this: unknown, dataId: object): unknown {
    try {
      return original.call(this, dataId);
    } catch (err) {
      if (err instanceof ReferenceError && /OffscreenCanvas/.test(err.message)) throw new WebGpuSyncReadError();
      throw err;
    }
  };
  proto.graftcertPatched = true;
}

declare const OffscreenCanvas: unknown;

/** A synchronous read (dataSync, arraySync, bufferSync) of a tensor computed on the webgpu backend in Node. */
export class WebGpuSyncReadError extends Error {
  constructor() {
    super('the webgpu backend cannot read tensors synchronously in Node (tfjs-backend-webgpu reads through OffscreenCanvas): ' +
      'use `await tensor.data()` instead of dataSync/arraySync, or another backend');
    this.name = 'WebGpuSyncReadError';
  }
}
