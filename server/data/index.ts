// The data-set layer's public surface: load a DATA spec, check it against a model input.
export { loadDataSet } from './resolve';
export { checkFits, type DataSet, type LoadOptions } from './dataset';
export { DataError } from './errors';
