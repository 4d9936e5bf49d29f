// `fmboost train --nproc N [--nnodes M --node-rank K --master-addr A --master-port P]`: starts N local
// workers of this same command line, torchrun-style (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT in their environment; a worker sees WORLD_SIZE and trains instead of launching).
// Rank 0's output passes through; the other ranks' stderr comes out line by line behind "[rank r] ".
// The first worker to fail stops the others (SIGTERM, then SIGKILL after a grace period) and its exit
// code becomes the launcher's; SIGINT/SIGTERM/SIGUSR1 sent to the launcher go to every worker.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import os from 'node:os';
import { EXIT } from './errors.js';

export interface LaunchOptions {
  nproc: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  /** Default: a free port on this machine (one node), else 29500. */
  masterPort?: number;
  /** The command line each worker runs (default: this process's own). */
  argv?: string[];
  /** Intra-op threads per worker (default: FMBOOST_THREADS, else the cores divided among the workers). */
  threads?: number;
  /** How long stopped workers get before SIGKILL (default 10 s). */
  graceMs?: number;
  err?: { write(s: string): unknown };
}

/** A port nothing listens on now (the rendezvous binds it a moment later). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Checks the launcher's numbers; the message names the flag. */
export function checkLaunch(o: Pick<LaunchOptions, 'nproc' | 'nnodes' | 'nodeRank' | 'masterAddr'>): void {
  const posInt = (v: number, flag: string, max: number) => {
    if (!(Number.isInteger(v) && v >= 1 && v <= max)) throw new Error(`${flag} must be an integer from 1 to ${max}, got ${v}`);
  };
  posInt(o.nproc, '--nproc', 1024);
  posInt(o.nnodes, '--nnodes', 1024);
  if (!(Number.isInteger(o.nodeRank) && o.nodeRank >= 0 && o.nodeRank < o.nnodes)) throw new Error(`--node-rank must be an integer from 0 to ${o.nnodes - 1} (--nnodes ${o.nnodes}), got ${o.nodeRank}`);
  if (o.nnodes > 1 && !o.masterAddr) throw new Error('--nnodes > 1 needs --master-addr (the address of node 0, reachable from every node)');
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

/** Runs the workers of this node to the end; resolves with the exit code the launcher should use. */
export async function launchWorkers(o: LaunchOptions): Promise<number> {
  checkLaunch(o);
  const err = o.err ?? process.stderr;
  const world = o.nproc * o.nnodes;
  const port = o.masterPort ?? (o.nnodes === 1 ? await freePort() : 29500);
  const threads = o.threads ?? (Number(process.env.FMBOOST_THREADS) || Math.max(1, Math.floor(os.availableParallelism() / o.nproc)));
  const argv = o.argv ?? [...process.execArgv, ...process.argv.slice(1)];
  const grace = o.graceMs ?? 10_000;
  const settle = Math.min(grace, 3000);
  err.write(`fmboost train: starting ${o.nproc} worker(s) on node ${o.nodeRank} of ${o.nnodes} (world size ${world}, rendezvous ${o.masterAddr}:${port}, ${threads} thread(s) each)\n`);

  const children: { rank: number; proc: ChildProcess; done: boolean }[] = [];
  let first: { rank: number; code: number | null; signal: NodeJS.Signals | null } | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  let stopping = false;
  let signalled = false; // a forwarded SIGINT/SIGTERM: workers ending with 130/143 are not failures

  const stopOthers = (why: string) => {
    if (stopping) return;
    stopping = true;
    const live = children.filter((c) => !c.done);
    if (!live.length) return;
    err.write(`fmboost train: ${why}; stopping the other ${live.length} worker(s)\n`);
    // Peers blocked in a collective fail on their own within moments (the connection closed) and say
    // which op broke; give them `settle` ms for that, then SIGTERM, then SIGKILL after the grace period.
    killTimer = setTimeout(() => {
      for (const c of children) if (!c.done) c.proc.kill('SIGTERM');
      killTimer = setTimeout(() => { for (const c of children) if (!c.done) c.proc.kill('SIGKILL'); }, grace);
      killTimer.unref();
    }, settle);
    killTimer.unref();
  };

  const forward = (sig: NodeJS.Signals) => () => {
    if (sig !== 'SIGUSR1') signalled = true;
    for (const c of children) if (!c.done) c.proc.kill(sig);
  };
  const handlers: [NodeJS.Signals, () => void][] = (['SIGINT', 'SIGTERM', 'SIGUSR1'] as NodeJS.Signals[]).map((s) => [s, forward(s)]);
  for (const [s, h] of handlers) process.on(s, h);
  const orphanGuard = () => { for (const c of children) if (!c.done) c.proc.kill('SIGKILL'); };
  process.once('exit', orphanGuard);

  try {
    const exits = Array.from({ length: o.nproc }, (_, local) => {
      const rank = o.nodeRank * o.nproc + local;
      const env = {
        ...process.env,
        RANK: String(rank), LOCAL_RANK: String(local), WORLD_SIZE: String(world), LOCAL_WORLD_SIZE: String(o.nproc),
        MASTER_ADDR: o.masterAddr, MASTER_PORT: String(port), FMBOOST_THREADS: String(threads), OMP_NUM_THREADS: String(threads),
      };
      // own process group: a terminal's Ctrl-C reaches the launcher alone, which forwards it once
      const proc = spawn(process.execPath, argv, { env, detached: true, stdio: ['ignore', 'inherit', rank === 0 ? 'inherit' : 'pipe'] });
      const c = { rank, proc, done: false };
      children.push(c);
      if (proc.stderr) {
        let buf = '';
        proc.stderr.setEncoding('utf8');
        proc.stderr.on('data', (s: string) => {
          buf += s;
          const lines = buf.split(/\r?\n/);
          buf = lines.pop() ?? '';
          for (const l of lines) if (l) err.write(`[rank ${rank}] ${l}\n`);
        });
        proc.stderr.on('end', () => { if (buf) err.write(`[rank ${rank}] ${buf}\n`); });
      }
      return new Promise<void>((resolve) => {
        proc.once('error', (e) => {
          c.done = true;
          first ??= { rank, code: EXIT.failure, signal: null };
          stopOthers(`rank ${rank} could not start: ${e.message}`);
          resolve();
        });
        proc.once('exit', (code, signal) => {
          c.done = true;
          if ((code !== 0 || signal) && !stopping && !signalled) {
            first = { rank, code, signal };
            stopOthers(`rank ${rank} (pid ${proc.pid}) ${describeExit(code, signal)}`);
          } else if (stopping) err.write(`fmboost train: rank ${rank} ${describeExit(code, signal)}\n`);
          resolve();
        });
      });
    });
    await Promise.all(exits);
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
    process.off('exit', orphanGuard);
    if (killTimer) clearTimeout(killTimer);
  }
  if (!first) {
    // every worker ended on its own: a run stopped by a forwarded signal ends with that signal's code
    const codes = children.map((c) => c.proc.exitCode ?? 0);
    return codes.find((x) => x !== 0) ?? 0;
  }
  err.write(`fmboost train: the run failed: rank ${first.rank} ${describeExit(first.code, first.signal)}${first.signal ? ' (stopped from outside: it printed no error)' : ' (its error is above)'}\n`);
  return first.code && first.code > 0 ? first.code : EXIT.failure;
}
