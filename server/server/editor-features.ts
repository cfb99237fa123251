// The standard LSP features (hover, inlay hints, diagnostics, CodeLens) for model text views and VNN-LIB files, and the runs they show.
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CodeLensRefreshRequest,
  type Connection,
  DidChangeConfigurationNotification,
  type InitializeParams,
  TextDocuments,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { inspectModelFile } from '../inspect';
import type { DataSet } from '../data/index';
import { analyseModelBytes } from '../onnx/load';
import type { BoundsParams, BoundsReport, CertifyReport, GraftParams, GraftReport, ModelTextParams, ModelTextResult } from '../protocol/requests';
import type { RunOutcome } from './certify-requests';
import { type ModelEntry, type ModelFeatureSettings, modelCodeLenses, modelDiagnostics, modelEntry, modelHover, modelInlayHints } from './model-features';
import { boundsRun, certifyRun } from './model-runs';
import { modelPath } from './model-target';
import { fileStamp, type ModelSnapshot, snapshotModel } from './model-snapshot';
import { type PairedShapes, type ParseOutcome, pairedModels, parseProperty, vnnlibCodeLenses, vnnlibDiagnostics, vnnlibHover } from './vnnlib-features';

export const modelScheme = 'graftcert-model';
const defaultSettings: ModelFeatureSettings = { unstableShareWarning: 0.5 };

/**
 * `graftcert-model:/…/net.onnx.onnxtxt?<file URI>` → the model's file path; undefined for other documents (the
 * `.inspect` table view of the same scheme has no node lines).
 */
export function modelFileOfView(uri: string): string | undefined {
  if (!uri.startsWith(`${modelScheme}:`)) return undefined;
  const q = uri.indexOf('?');
  if (q < 0 || !uri.slice(0, q).endsWith('.onnxtxt')) return undefined;
  const query = decodeURIComponent(uri.slice(q + 1).replace(/#.*$/, ''));
  if (!query.startsWith('file:')) return undefined;
  try {
    return fileURLToPath(query);
  } catch {
    return undefined;
  }
}

function isVnnlib(doc: TextDocument): boolean {
  return doc.languageId === 'vnnlib' || /\.vnnlib$/i.test(doc.uri);
}

export class EditorFeatures {
  private readonly documents = new TextDocuments(TextDocument);
  /** By model file path. */
  private readonly models = new Map<string, { entry: ModelEntry; stamp: string; sha256: string }>();
  private readonly parsed = new Map<string, { version: number; outcome: ParseOutcome; shapes?: PairedShapes }>();
  private settings: ModelFeatureSettings = { ...defaultSettings };
  private workspaceRoots: string[] = [];
  private canPullConfiguration = false;
  private canRefreshHints = false;
  private canRefreshLenses = false;

  constructor(private readonly connection: Connection) {}

  initialize(params: InitializeParams): void {
    this.workspaceRoots = (params.workspaceFolders ?? []).flatMap((f) => (f.uri.startsWith('file:') ? [fileURLToPath(f.uri)] : []));
    const caps = params.capabilities;
    this.canPullConfiguration = caps.workspace?.configuration === true;
    this.canRefreshHints = caps.workspace?.inlayHint?.refreshSupport === true;
    this.canRefreshLenses = caps.workspace?.codeLens?.refreshSupport === true;
  }

  register(): void {
    const c = this.connection;
    this.documents.onDidOpen((e) => this.publish(e.document));
    this.documents.onDidChangeContent((e) => this.publish(e.document));
    this.documents.onDidClose((e) => {
      this.parsed.delete(e.document.uri);
      void c.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
    });
    c.onHover((p) => this.guard('hover', () => {
      const doc = this.documents.get(p.textDocument.uri);
      if (!doc) return null;
      const entry = this.entryOfView(doc.uri);
      if (entry) return modelHover(entry, p.position);
      if (isVnnlib(doc)) {
        const parsed = this.parse(doc);
        return vnnlibHover(doc.getText(), p.position, parsed.outcome, parsed.shapes);
      }
      return null;
    }, null));
    c.languages.inlayHint.on((p) => this.guard('inlay hints', () => {
      const entry = this.entryOfView(p.textDocument.uri);
      return entry ? modelInlayHints(entry, p.range) : [];
    }, []));
    c.onCodeLens((p) => this.guard('code lens', () => {
      const doc = this.documents.get(p.textDocument.uri);
      if (!doc) return [];
      const entry = this.entryOfView(doc.uri);
      if (entry) return modelCodeLenses(entry);
      if (isVnnlib(doc) && doc.uri.startsWith('file:')) {
        const { models, refused } = pairedModels(fileURLToPath(doc.uri), this.workspaceRoots);
        return vnnlibCodeLenses(doc.uri, models.map((m) => ({ path: m, uri: pathToFileURL(m).toString() })), refused);
      }
      return [];
    }, []));
    c.onDidChangeConfiguration(() => void this.pullSettings());
    this.documents.listen(c);
  }

  /** Call from the connection's `initialized` handler (one handler per connection). */
  initialized(): void {
    if (!this.canPullConfiguration) return;
    void this.connection.client.register(DidChangeConfigurationNotification.type, { section: 'graftcert' }).catch(() => undefined);
    void this.pullSettings();
  }

  /** graftcert/modelText: prints the model (re-reading it from disk) and keeps the printout for the view's features. */
  modelText(params: ModelTextParams): ModelTextResult {
    const file = modelPath(params);
    const entry = this.load(file, true);
    return { text: entry.printed.text, nodes: entry.printed.nodes.map((n) => ({ name: n.name, opType: n.opType, line: n.line })) };
  }

  /** The workspace folders the client opened (paths from files must stay inside them). */
  get roots(): readonly string[] {
    return this.workspaceRoots;
  }

  /** Shows a bounds run on the view of the model version it ran on (the run's own graph, never a reload). */
  recordBounds(params: BoundsParams, run: RunOutcome<BoundsReport>): void {
    this.record('bounds', run.snapshot, () => {
      const size = run.graph.inputs[0].shape.reduce((a, b) => a * b, 1);
      const center = params.center ?? new Array<number>(size).fill(0.5);
      return boundsRun(run.graph, run.report, center, params.clip ?? undefined);
    });
  }

  recordCertify(run: RunOutcome<CertifyReport> & { dataSet: DataSet }): void {
    this.record('certify', run.snapshot, () => certifyRun(run.graph, run.report, run.dataSet));
  }

  /** The grafted model's view shows the graft's own CROWN evaluation of it: grafted, unstable and certified counts. */
  recordGraft(params: GraftParams, report: GraftReport): void {
    const after = report.after;
    if (!after) return;
    let snapshot: ModelSnapshot;
    try {
      snapshot = snapshotModel(report.out);
    } catch {
      return;
    }
    this.record('graft', snapshot, () => ({
      kind: 'certify',
      method: 'crown',
      eps: report.eps,
      layers: after.layers.map((layer) => ({ ...layer, ibpUnstable: null })),
      ranges: new Map(),
      data: params.data,
      samples: after.count,
      cleanAccuracy: after.cleanAccuracy,
      certifiedAccuracy: after.certifiedAccuracy,
      cancelled: false,
      time_s: after.time_s,
    }));
  }

  /** Attaches a run to the model's entry, only when the entry is the version the run ran on (same content hash). */
  private record(kind: string, snapshot: ModelSnapshot, run: (entry: ModelEntry) => ModelEntry['run']): void {
    try {
      const file = snapshot.file;
      this.load(file, false);
      const known = this.models.get(file);
      if (!known || known.sha256 !== snapshot.sha256) {
        this.connection.console.warn(`graftcert: the ${kind} run of ${file} is not shown: the file changed on disk after the run read it.`);
        return;
      }
      known.entry.run = run(known.entry);
      this.refresh(file);
    } catch (error) {
      this.connection.console.warn(`graftcert: the ${kind} run could not be shown in the model view: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /**
   * The entry of a model file, (re)built when the file changed on disk (or always, with `reprint`). "Changed" is a
   * different size/mtime/inode/ctime; an entry rebuilt from different bytes drops its run (it was another model's).
   */
  private load(file: string, reprint: boolean): ModelEntry {
    const known = this.models.get(file);
    if (known && !reprint && fileStamp(file) === known.stamp) return known.entry;
    const snapshot = snapshotModel(file);
    const entry = modelEntry(file, pathToFileURL(file).toString(), analyseModelBytes(snapshot.bytes, file));
    // The same bytes (a reprint, a touch) keep their run.
    if (known && known.sha256 === snapshot.sha256) entry.run = known.entry.run;
    this.models.set(file, { entry, stamp: snapshot.stamp, sha256: snapshot.sha256 });
    return entry;
  }

  private entryOfView(uri: string): ModelEntry | undefined {
    const file = modelFileOfView(uri);
    if (file === undefined) return undefined;
    try {
      return this.load(file, false);
    } catch {
      return undefined;
    }
  }

  private parse(doc: TextDocument): { outcome: ParseOutcome; shapes?: PairedShapes } {
    const cached = this.parsed.get(doc.uri);
    if (cached && cached.version === doc.version) return cached;
    const file = doc.uri.startsWith('file:') ? fileURLToPath(doc.uri) : doc.uri;
    let shapes: PairedShapes | undefined;
    if (doc.uri.startsWith('file:')) {
      const [model] = pairedModels(file, this.workspaceRoots).models;
      if (model) shapes = this.shapesOf(model);
    }
    const result = { version: doc.version, outcome: parseProperty(doc.getText(), file, shapes), shapes };
    this.parsed.set(doc.uri, result);
    return result;
  }

  private shapesOf(model: string): PairedShapes | undefined {
    try {
      const report = inspectModelFile(model);
      const input = report.inputs[0];
      const output = report.outputs[0];
      if (!input || !output || input.shape.some((d) => d < 0) || output.shape.some((d) => d < 0)) return undefined;
      return { model, input: { name: input.name, shape: input.shape }, output: { name: output.name, shape: output.shape } };
    } catch {
      return undefined;
    }
  }

  private publish(doc: TextDocument): void {
    this.guard('diagnostics', () => {
      const entry = this.entryOfView(doc.uri);
      if (entry) {
        void this.connection.sendDiagnostics({ uri: doc.uri, diagnostics: modelDiagnostics(entry, this.settings) });
      } else if (isVnnlib(doc)) {
        const { outcome } = this.parse(doc);
        void this.connection.sendDiagnostics({ uri: doc.uri, version: doc.version, diagnostics: vnnlibDiagnostics(doc.getText(), outcome) });
      }
    }, undefined);
  }

  /** After a run: new hints, lenses and warnings for every open view of `file`. */
  private refresh(file: string): void {
    for (const doc of this.documents.all()) if (modelFileOfView(doc.uri) === file) this.publish(doc);
    if (this.canRefreshHints) void this.connection.languages.inlayHint.refresh().catch(() => undefined);
    if (this.canRefreshLenses) void this.connection.sendRequest(CodeLensRefreshRequest.type).catch(() => undefined);
  }

  private async pullSettings(): Promise<void> {
    if (!this.canPullConfiguration) return;
    try {
      const cfg = (await this.connection.workspace.getConfiguration('graftcert')) as { diagnostics?: { unstableShareWarning?: unknown } } | null;
      const share = cfg?.diagnostics?.unstableShareWarning;
      this.settings = { unstableShareWarning: typeof share === 'number' && share >= 0 && share <= 1 ? share : defaultSettings.unstableShareWarning };
    } catch {
      return;
    }
    for (const doc of this.documents.all()) this.publish(doc);
  }

  /** A feature's bug is logged and answered empty; it never takes the server down. */
  private guard<T>(what: string, work: () => T, fallback: T): T {
    try {
      return work();
    } catch (error) {
      this.connection.console.error(`graftcert: ${what} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      return fallback;
    }
  }
}
