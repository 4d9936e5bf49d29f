// Limits of the runtime settings, without libtorch (the CLI's option parsers check them before anything loads).
import { availableParallelism } from 'node:os';

/** FMBOOST_FORCE_THREADS=1 lifts the thread cap from one per core to four (e.g. to measure oversubscription). */
const forced = () => process.env.FMBOOST_FORCE_THREADS === '1';

/**
 * The most intra-op threads accepted: the machine's cores, or 4 per core when forced. More threads than cores
 * only contend (OpenMP spin-waits), and an unbounded count made 24,000 OS threads from --threads 100000.
 */
export function maxThreads(): number {
  return (forced() ? 4 : 1) * availableParallelism();
}

/** How the cap reads in messages. */
export function maxThreadsText(): string {
  return forced() ? `4 per core, FMBOOST_FORCE_THREADS=1` : `one per core; FMBOOST_FORCE_THREADS=1 allows 4 per core`;
}
