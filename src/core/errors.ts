/**
 * Typed errors, one class per failure kind. Every message says what was wrong and what to do.
 * The CLI prints `error: <message>` on one line and exits with `exitCode` (2 for bad input).
 */
export class AccelabError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** A config value or CLI flag is invalid. */
export class ConfigError extends AccelabError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** A data set is missing, or a data file is malformed (bad magic, truncated, checksum mismatch ...). */
export class DataError extends AccelabError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** A required resource (a file, a run folder, a service such as Redis) is not available. */
export class NotFoundError extends AccelabError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** The numeric engine could not be set up, or a kernel failed. */
export class EngineError extends AccelabError {}

/** A job run on a worker failed or its worker crashed. */
export class JobError extends AccelabError {
  readonly jobId: string;
  constructor(jobId: string, message: string) {
    super(`job ${jobId}: ${message}`);
    this.jobId = jobId;
  }
}

export function isAccelabError(e: unknown): e is AccelabError {
  return e instanceof AccelabError;
}
