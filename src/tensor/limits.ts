// Limits of the runtime settings, without libtorch (the CLI's option parsers check them before anything loads).
import { availableParallelism } from 'node:os';

/** The most intra-op threads accepted: 4 per core. More only contend (and 10⁵ made 24,000 OS threads). */
export function maxThreads(): number {
  return 4 * availableParallelism();
}
