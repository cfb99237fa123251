// The compute backends a user can ask for (CLI --backend, the graftcert.compute.backend setting via GRAFTCERT_BACKEND); no tfjs here.

export type BackendPreference = 'auto' | 'gpu' | 'native' | 'webgpu' | 'wasm' | 'cpu';

export const BACKEND_PREFERENCES: readonly BackendPreference[] = ['auto', 'gpu', 'native', 'webgpu', 'wasm', 'cpu'];

/** Reads a preference from GRAFTCERT_BACKEND (the editor setting, the CLI, tests); 'auto' when unset or unknown. */
export function backendPreferenceFromEnv(env: NodeJS.ProcessEnv = process.env): BackendPreference {
  const value = env.GRAFTCERT_BACKEND?.trim().toLowerCase();
  return value !== undefined && (BACKEND_PREFERENCES as readonly string[]).includes(value) ? (value as BackendPreference) : 'auto';
}
