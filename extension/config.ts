// Typed getters over the `graftcert.*` settings (package.json "contributes.configuration").
import * as vscode from 'vscode';

export const configSection = 'graftcert';

export class Config {
  private get cfg(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(configSection);
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

  /** True when a change touches a setting that only takes effect after a backend restart. */
  static needsRestart(event: vscode.ConfigurationChangeEvent): boolean {
    return ['server.path', 'server.extraEnv'].some((key) => event.affectsConfiguration(`${configSection}.${key}`));
  }
}
