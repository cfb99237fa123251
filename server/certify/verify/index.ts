// Public API of complete verification: verify a VNN-LIB property against a model.
export { verifyProperty } from './verify';
export type { PoolReport, VerifyOptions, VerifyOutcome, VerifyStatus, VerifyMethod } from './verify';
export { checkCounterexample, type Counterexample } from './falsify';
