// Workspace trust: in Restricted Mode, long runs (certify, verify, graft's training) start only after the user says so.
import * as vscode from 'vscode';

export type LongRun = 'certify' | 'verify' | 'graft';

const command: Record<LongRun, string> = { certify: 'Certify Model', verify: 'Verify Property', graft: 'Graft Model' };
const what: Record<LongRun, string> = {
  certify: 'It is a long computation',
  verify: 'It is a long computation',
  graft: 'It trains (fine-tunes) the model for minutes and writes a new model file',
};

/** The button that consents; anything else (Cancel, Escape) refuses. */
export const runAnyway = 'Run anyway';

/**
 * Asks once per session: after "Run anyway" the rest of this window's session runs without asking again (trusting the
 * workspace does the same for good). Reading (inspect, the model text view, hovers) never asks.
 */
export class LongRunConsent {
  private consented = false;

  /** Whether `run` on `name` may start; in Restricted Mode this shows a modal dialog the first time. */
  async allow(run: LongRun, name: string): Promise<boolean> {
    if (vscode.workspace.isTrusted || this.consented) return true;
    const choice = await vscode.window.showWarningMessage(
      `graftcert: this workspace is in Restricted Mode — run ${command[run]} on ${name} anyway? ${what[run]} on files from a workspace you have not trusted.`,
      {
        modal: true,
        detail: 'graftcert never executes code from model files; it only reads them. Your answer holds for the rest of this session; trust the workspace (Manage Workspace Trust) to stop being asked.',
      },
      runAnyway,
    );
    if (choice !== runAnyway) return false;
    this.consented = true;
    return true;
  }
}
