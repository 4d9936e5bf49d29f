export { DistributedError, asDistributedError } from './errors.js';
export { ProcessGroup, availableBackends, type Backend, type ProcessGroupOptions, type ReduceOpName } from './process_group.js';
export { GradReducer, type GradReducerOptions } from './reducer.js';
export { SINGLE_PROCESS, WorldEnvError, worldFromEnv, type World } from './world.js';
