// /metrics in the Prometheus text exposition format (version 0.0.4).
import type { QueueStats } from './queue.js';

export interface MetricsSnapshot {
  stats: QueueStats;
  uptimeSeconds: number;
  /** Sum and count of finished jobs' run times (seconds), for an average. */
  jobSecondsSum: number;
  jobSecondsCount: number;
}

export function prometheusText(m: MetricsSnapshot): string {
  const lines: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: [string, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) lines.push(`${name}${labels} ${v}`);
  };
  const s = m.stats;
  metric('fmboost_uptime_seconds', 'gauge', 'Seconds since the server started.', [['', +m.uptimeSeconds.toFixed(3)]]);
  metric('fmboost_queue_length', 'gauge', 'Jobs waiting to run.', [['', s.queued]]);
  metric('fmboost_queue_limit', 'gauge', 'Most jobs allowed to wait (more are refused with 429).', [['', s.queueLimit]]);
  metric('fmboost_jobs_running', 'gauge', 'Jobs running now.', [['', s.running]]);
  metric('fmboost_jobs_running_max', 'gauge', 'Most jobs that ran at the same time since start.', [['', s.maxRunning]]);
  metric('fmboost_concurrency', 'gauge', 'Most jobs allowed to run at the same time.', [['', s.concurrency]]);
  metric('fmboost_jobs_kept', 'gauge', 'Finished jobs whose status/result can still be fetched.', [['', s.kept]]);
  metric('fmboost_jobs_total', 'counter', 'Jobs by outcome.', [
    ['{outcome="accepted"}', s.accepted], ['{outcome="rejected"}', s.rejected], ['{outcome="done"}', s.done],
    ['{outcome="failed"}', s.failed], ['{outcome="cancelled"}', s.cancelled],
  ]);
  lines.push('# HELP fmboost_job_seconds Run time of finished jobs.', '# TYPE fmboost_job_seconds summary');
  lines.push(`fmboost_job_seconds_sum ${+m.jobSecondsSum.toFixed(6)}`, `fmboost_job_seconds_count ${m.jobSecondsCount}`);
  return lines.join('\n') + '\n';
}

/** Parses Prometheus text into `name{labels}` → value (for tests and scripts). */
export function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}
