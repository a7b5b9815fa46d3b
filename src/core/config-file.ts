/** Config files (YAML or JSON) read into plain objects for validation (config.ts); used by the CLI. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './errors.js';

/** Reads a YAML or JSON config file into a plain object (not yet validated). */
export function readConfigFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw new ConfigError(`config file ${path} does not exist: pass an existing .json or .yaml file`);
  if (statSync(path).isDirectory()) throw new ConfigError(`config file ${path} is a folder: pass a .json or .yaml file (e.g. a run's config.json)`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`config file ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): pass a readable .json or .yaml file`);
  }
  let v: unknown;
  try {
    v = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ConfigError(`config file ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(`config file ${path} must hold an object of options`);
  return v as Record<string, unknown>;
}
