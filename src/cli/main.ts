#!/usr/bin/env node
// fmboost command line. Each subcommand lives in src/cli/commands/<name>.ts and registers itself here.
import { Command } from 'commander';
import { COMMANDS } from './commands/index.js';
import { fail, usageLine } from './errors.js';
import { kebabFlags } from './options.js';

const program = new Command();
program
  .name('fmboost')
  .description('Boosting latent diffusion with coupling flow matching: upscale, train, evaluate')
  .version('0.1.0')
  // one error format (errors.ts): a usage error is one line with a hint, not the whole help
  .configureOutput({ outputError: (str, write) => write(`${usageLine(str)}\n`) });
for (const register of COMMANDS) register(program);

program.parseAsync(kebabFlags(process.argv)).catch(fail);
