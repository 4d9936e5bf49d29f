// Training configs: schema DSL, the fmboost config spec, loading (native + reference layout), overrides.
export * from '../../util/schema.js';
export * from './spec.js';
export { adaptReferenceConfig, isReferenceLayout, REFERENCE_TARGETS, type AdaptResult } from './reference.js';
export { loadConfig, resolveConfig, applyOverrides, parseOverride, parseYaml, crossChecks, dumpConfig, saveResolvedConfig, type LoadedConfig } from './load.js';
