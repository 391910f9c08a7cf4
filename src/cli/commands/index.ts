/** Every command, in the order `--help` lists them. A new command is one module here. */
import type { Command } from '../command.js';
import { erase } from './erase.js';
import { exportCommand } from './export.js';
import { history } from './history.js';
import { lock, unlock } from './lock.js';
import { regenerate } from './regenerate.js';
import { restore } from './restore.js';
import { stats } from './stats.js';
import { sweep } from './sweep.js';

export const COMMANDS: readonly Command[] = [stats, sweep, regenerate, erase, exportCommand, history, restore, lock, unlock];
