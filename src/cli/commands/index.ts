import type { Command } from '../command.js';
import { REGISTRY } from './registry.js';

/**
 * Every command, loaded, in the order help lists them. Only the global help
 * needs them all; running a command loads just its own module (registry.ts).
 */
export const COMMANDS: readonly Command[] = await Promise.all(REGISTRY.map((c) => c.load()));
