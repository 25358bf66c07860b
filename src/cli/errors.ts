import { readFileSync } from 'node:fs';

/**
 * Exit statuses of the `ipvs-sim` command (documented in docs/cli.md) and the
 * error type a subcommand throws to end with one of them and a plain message
 * (no stack trace unless --debug).
 */
export const Exit = {
  OK: 0,
  /** A runtime failure that is not the user's input (a bug): printed with its stack. */
  INTERNAL: 70,
  /** Bad command-line usage (unknown option, missing argument). */
  USAGE: 2,
  /** The director's set-up has an error (line and column named). */
  SETUP: 3,
  /** An input capture is malformed or unreadable (byte offset named); outputs up to it are written. */
  CAPTURE: 4,
  /** An output file cannot be written (permission, disk full). */
  OUTPUT: 5,
  /** Interrupted by SIGINT (128 + 2) / SIGTERM (128 + 15): outputs flushed and valid. */
  SIGINT: 130,
  SIGTERM: 143,
} as const;

/** An error that ends the command with `status` and prints `message` (and the stack only with --debug). */
export class CliError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** The text of a set-up file; one that cannot be read ends the command with Exit.SETUP naming the file and the cause. */
export function readSetupText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(
      Exit.SETUP,
      `cannot read the set-up ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`,
    );
  }
}
