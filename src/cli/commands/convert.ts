// `fmboost convert INPUT --out OUT.safetensors`: any supported VAE / UNet checkpoint (plain LDM state dict,
// whole LDM/SD checkpoint, diffusers AutoencoderKL, the reference's Lightning checkpoint, our training
// checkpoints) → our safetensors with the config and source format in __metadata__.
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { convertWeights, type ConfigSpec } from '../../models/index.js';

/** --config: a preset name, a JSON/YAML file, or inline JSON/YAML. */
export function parseConfigOption(v: string): ConfigSpec {
  const text = existsSync(v) ? readFileSync(v, 'utf8') : v;
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (e) {
    throw new Error(`--config: not a preset name, a file or JSON/YAML (${(e as Error).message.split('\n')[0]})`);
  }
  if (typeof parsed === 'string') return parsed; // a preset name
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`--config must be a preset name or a mapping of config keys, got ${JSON.stringify(parsed)}`);
  return parsed as Record<string, unknown>;
}

function oneOf<T extends string>(name: string, allowed: readonly T[]) {
  return (v: string): T => {
    if (!(allowed as readonly string[]).includes(v)) throw new Error(`--${name} must be one of ${allowed.join(', ')}, got '${v}'`);
    return v as T;
  };
}

export function register(program: Command): void {
  program
    .command('convert')
    .description('convert VAE / UNet weights (LDM .ckpt, SD checkpoint, diffusers safetensors, FMBoost Lightning .ckpt) to fmboost safetensors')
    .argument('<input>', 'weights file (.ckpt/.pt/.bin torch zip, or .safetensors)')
    .requiredOption('--out <file>', 'output .safetensors')
    .option('--kind <kind>', 'vae | unet | auto (auto: what the file holds; a Lightning checkpoint holds both)', oneOf('kind', ['vae', 'unet', 'auto'] as const), 'auto')
    .option('--weights <which>', 'for training checkpoints: ema (default when present) | online', oneOf('weights', ['ema', 'online'] as const))
    .option('--config <spec>', 'preset name, JSON/YAML file, or inline JSON/YAML laid over the config found in (or inferred from) the file', parseConfigOption)
    .option('--json', 'print the report as JSON')
    .action((input: string, opts: { out: string; kind: 'vae' | 'unet' | 'auto'; weights?: 'ema' | 'online'; config?: ConfigSpec; json?: boolean }) => {
      const r = convertWeights(input, opts.out, { kind: opts.kind, weights: opts.weights, config: opts.config });
      if (opts.json) {
        console.log(JSON.stringify(r, null, 1));
        return;
      }
      console.log(`${r.input}: ${r.format} (${r.container}) — ${r.kind}${r.weights ? `, ${r.weights} weights` : ''}; ` +
        `${r.takenKeys} of ${r.fileKeys} tensors in the file taken`);
      console.log(`config (${r.configSource}): ${JSON.stringify(r.config)}`);
      console.log(`wrote ${r.output}: ${r.keys} tensors, ${r.params.toLocaleString('en-US')} parameters (float32)`);
    });
}
