// Public API of the VNN-LIB module: parse properties, write/read VNN-COMP result files, generate specs.
export { parseVnnlib } from './parser';
export { readVnnlibFile, loadVnnlibFile, readVnnlibText } from './file';
export { VnnlibError } from './errors';
export type { VnnlibWarning, SourcePosition } from './errors';
export type { VnnlibProperty, VnnlibSpec, InputBox, OutputDisjunct, ParseOptions } from './types';
export { writeResultFile, readResultFile, formatResultFile, parseResultFile } from './results';
export type { VerificationStatus, VerificationResult, Counterexample, ReadResult } from './results';
export { robustnessProperty } from './robustness';
export type { RobustnessOptions } from './robustness';
export { summarizeProperty } from './summary';
export type { PropertySummary } from './summary';
export { formatReal } from './numbers';
