/**
 * Config validation at the edge: zod schemas, with errors that name the bad field and the fix. No file
 * access here (config-file.ts reads files), so the simulators can validate their configs in a browser.
 */
import type { z } from 'zod';
import { ConfigError } from './errors.js';

/** Parses `value` with `schema`; on failure throws a one-line ConfigError naming the field. */
export function validate<S extends z.ZodTypeAny>(schema: S, value: unknown, what = 'config'): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue.path.length ? issue.path.join('.') : '(root)';
  throw new ConfigError(`${what}: field '${field}': ${issue.message}`);
}
