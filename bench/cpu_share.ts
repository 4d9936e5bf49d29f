// How much of the machine other processes took while a row ran: the bench shares its cores with
// whatever else runs here, and a number measured under load should say so.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

const TICKS_PER_SEC = 100; // USER_HZ: Linux reports /proc times in 1/100 s on every common build

function machineBusyTicks(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal …: busy = all but idle and iowait
  return cpu.reduce((a, b) => a + b, 0) - cpu[3] - (cpu[4] ?? 0);
}

function processTicks(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // utime + stime (fields 14, 15) + cutime + cstime (16, 17): children it has waited for (a probe's child process) are its work too
    return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  } catch {
    return 0;
  }
}

/** Starts a window; stop() gives the share of all cores (0–1) used by processes other than `pids`. */
export function othersCpuShare(pids: number[]): { stop(): number } {
  const t0 = process.hrtime.bigint();
  const busy0 = machineBusyTicks();
  const own0 = pids.reduce((a, p) => a + processTicks(p), 0);
  return {
    stop() {
      const sec = Number(process.hrtime.bigint() - t0) / 1e9;
      const busy = machineBusyTicks() - busy0;
      const own = pids.reduce((a, p) => a + processTicks(p), 0) - own0;
      return Math.max(0, (busy - own) / TICKS_PER_SEC / (sec * availableParallelism()));
    },
  };
}
