// Typed getters over the `graftcert.*` settings (package.json "contributes.configuration").
import * as vscode from 'vscode';

export const configSection = 'graftcert';

export type BoundMethodSetting = 'ibp' | 'crown' | 'alpha-crown';
export type ComputeBackendSetting = 'auto' | 'gpu' | 'native' | 'webgpu' | 'wasm' | 'cpu';

/** `graftcert.limits.<key>` → the backend's variable (server/limits.ts reads them). */
const limitVariables: Readonly<Record<string, string>> = {
  modelMb: 'GRAFTCERT_MAX_MODEL_MB',
  tensorElements: 'GRAFTCERT_MAX_TENSOR_ELEMENTS',
  domains: 'GRAFTCERT_MAX_DOMAINS',
  memoryMb: 'GRAFTCERT_MAX_MEMORY_MB',
};

const methods: readonly BoundMethodSetting[] = ['ibp', 'crown', 'alpha-crown'];
const backends: readonly ComputeBackendSetting[] = ['auto', 'gpu', 'native', 'webgpu', 'wasm', 'cpu'];

export class Config {
  private get cfg(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(configSection);
  }

  private positive(key: string, fallback: number): number {
    const v = this.cfg.get<number>(key, fallback);
    return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : fallback;
  }

  /** Backend script to run instead of the bundled dist/server.js; '' means the bundled one. */
  get serverPath(): string {
    return this.cfg.get<string>('server.path', '').trim();
  }

  /** Extra environment variables for the backend process (e.g. a tfjs backend choice). */
  get serverExtraEnv(): Record<string, string> {
    const env = this.cfg.get<Record<string, unknown>>('server.extraEnv', {}) ?? {};
    return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  }

  /** The tfjs compute backend the backend process should use (passed as GRAFTCERT_BACKEND). */
  get computeBackend(): ComputeBackendSetting {
    const v = this.cfg.get<string>('compute.backend', 'auto');
    return (backends as readonly string[]).includes(v) ? (v as ComputeBackendSetting) : 'auto';
  }

  /** Default L∞ radius offered by Certify / Graft. */
  get epsilon(): number {
    return this.positive('certify.epsilon', 0.02);
  }

  /** Default data set ('' = decide from the model: `mnist` for 784 inputs, otherwise the input range). */
  get dataSet(): string {
    return this.cfg.get<string>('certify.data', '').trim();
  }

  /** Samples a certify run covers. */
  get sampleCount(): number {
    return Math.round(this.positive('certify.count', 100));
  }

  get method(): BoundMethodSetting {
    const v = this.cfg.get<string>('certify.method', 'crown');
    return (methods as readonly string[]).includes(v) ? (v as BoundMethodSetting) : 'crown';
  }

  /** Worker threads for certification; undefined lets the backend choose. */
  get workers(): number | undefined {
    const v = this.cfg.get<number>('certify.workers', 0);
    return typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : undefined;
  }

  /** Seconds after which a certify run is cancelled (its partial result kept); 0 = no limit. */
  get certifyTimeoutSeconds(): number {
    const v = this.cfg.get<number>('certify.timeoutSeconds', 0);
    return typeof v === 'number' && v > 0 ? v : 0;
  }

  /** Per-property time limit handed to graftcert/verify. */
  get verifyTimeoutSeconds(): number {
    return this.positive('verify.timeoutSeconds', 60);
  }

  /** Share of a layer's neurons (0–1) above which an unstable layer gets a warning. */
  get unstableShareWarning(): number {
    const v = this.cfg.get<number>('diagnostics.unstableShareWarning', 0.5);
    return typeof v === 'number' && v >= 0 && v <= 1 ? v : 0.5;
  }

  /** Resource limits (`graftcert.limits.*`) as the backend's GRAFTCERT_MAX_* variables; unset ones keep its defaults. */
  get limitEnv(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [key, variable] of Object.entries(limitVariables)) {
      const v = this.cfg.get<number>(`limits.${key}`);
      if (typeof v === 'number' && Number.isFinite(v) && v > 0) env[variable] = String(v);
    }
    return env;
  }

  /** The environment the backend process gets on top of the extension host's. */
  backendEnv(): Record<string, string> {
    return { GRAFTCERT_BACKEND: this.computeBackend, ...this.limitEnv, ...this.serverExtraEnv };
  }

  /** True when a change touches a setting that only takes effect after a backend restart. */
  static needsRestart(event: vscode.ConfigurationChangeEvent): boolean {
    return ['server.path', 'server.extraEnv', 'compute.backend', 'limits'].some((key) => event.affectsConfiguration(`${configSection}.${key}`));
  }
}
