import type { Command } from '../command.js';
import { close } from './close.js';
import { config } from './config.js';
import { demo } from './demo.js';
import { init } from './init.js';
import { open } from './open.js';
import { partial } from './partial.js';
import { reconcile } from './reconcile.js';
import { report } from './report.js';
import { status } from './status.js';
import { update } from './update.js';
import { verify } from './verify.js';

export const COMMANDS: readonly Command[] = [status, open, close, partial, update, verify, reconcile, report, config, init, demo];
