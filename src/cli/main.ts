#!/usr/bin/env node
// fmboost command line. Each subcommand lives in src/cli/commands/<name>.ts and registers itself here.
import { Command } from 'commander';
import { COMMANDS } from './commands/index.js';
import { reportError } from './errors.js';

const program = new Command();
program
  .name('fmboost')
  .description('Boosting latent diffusion with coupling flow matching: upscale, train, evaluate')
  .version('0.1.0')
  .showHelpAfterError();
for (const register of COMMANDS) register(program);

program.parseAsync(process.argv).catch((e) => {
  reportError(e);
  process.exitCode = process.exitCode || 1;
});
