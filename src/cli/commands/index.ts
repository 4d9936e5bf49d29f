// The subcommands, in help order. Add a command: write commands/<name>.ts exporting register(program), list it here.
import type { Command } from 'commander';
import { register as info } from './info.js';
import { register as parity } from './parity.js';
import { register as train } from './train.js';
import { register as precompute } from './precompute.js';
import { register as convert } from './convert.js';
import { register as serve } from './serve.js';
import { register as upsample } from './upsample.js';
import { register as generate } from './generate.js';
import { register as evalCmd } from './eval.js';
import { register as exportCmd } from './export.js';
import { register as models } from './models.js';

export const COMMANDS: ((program: Command) => void)[] = [info, models, parity, upsample, generate, train, precompute, convert, serve, evalCmd, exportCmd];
