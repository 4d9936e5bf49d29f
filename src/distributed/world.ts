// Who this process is in a data-parallel run, from the variables torchrun sets (and `fmboost train
// --nproc` sets the same way): RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT.

export interface World {
  rank: number;
  worldSize: number;
  localRank: number;
  masterAddr: string;
  masterPort: number;
}

export const SINGLE_PROCESS: World = { rank: 0, worldSize: 1, localRank: 0, masterAddr: '127.0.0.1', masterPort: 29500 };

export class WorldEnvError extends Error {
  override name = 'WorldEnvError';
}

function intVar(env: NodeJS.ProcessEnv, name: string, lo: number, hi: number, dflt: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < lo || v > hi) throw new WorldEnvError(`${name}=${raw}: expected an integer in [${lo}, ${hi}]`);
  return v;
}

/** The world of this process; a single process when WORLD_SIZE is unset or 1. */
export function worldFromEnv(env: NodeJS.ProcessEnv = process.env): World {
  const worldSize = intVar(env, 'WORLD_SIZE', 1, 65536, 1);
  if (worldSize === 1) return SINGLE_PROCESS;
  const rank = intVar(env, 'RANK', 0, worldSize - 1, -1);
  if (rank < 0) throw new WorldEnvError(`WORLD_SIZE=${worldSize} but RANK is not set`);
  return {
    rank,
    worldSize,
    localRank: intVar(env, 'LOCAL_RANK', 0, worldSize - 1, rank),
    masterAddr: env.MASTER_ADDR || '127.0.0.1',
    masterPort: intVar(env, 'MASTER_PORT', 1, 65535, 29500),
  };
}
