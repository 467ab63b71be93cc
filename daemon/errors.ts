/**
 * @module errors
 * The error types shared by every layer. Each layer throws its own kind, so callers
 * can tell a kernel refusal (SystemError) from bad bytes (DecodeError), a bad
 * profile (ProfileError, in profile/) or a bad command line (UsageError).
 */

/** The shape of an OS error as the native addon builds it, the same as Node's own SystemError. */
export interface SystemError extends Error {
  errno: number;
  code: string;
  syscall: string;
}

/** True when `e` is an OS error, optionally with one of the given codes ('EEXIST', 'ESRCH', …). */
export function isSystemError(e: unknown, ...codes: string[]): e is SystemError {
  if (!(e instanceof Error)) return false;
  const { errno, code, syscall } = e as Partial<SystemError>;
  if (typeof errno !== 'number' || typeof code !== 'string' || typeof syscall !== 'string') return false;
  return codes.length === 0 || codes.includes(code);
}

/** Bytes that do not form a valid message. `offset` is where, in the buffer being decoded. */
export class DecodeError extends Error {
  override name = 'DecodeError';
  readonly offset: number;
  constructor(offset: number, message: string) {
    super(`at byte ${offset}: ${message}`);
    this.offset = offset;
  }
}

/** A command line the CLI cannot act on: printed with the usage, exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Builds a SystemError for an errno that arrived in a message rather than from a syscall (a netlink ack). */
export function systemError(errno: number, code: string, syscall: string, detail?: string): SystemError {
  const error = new Error(`${syscall} ${code}${detail ? ` (${detail})` : ''}`) as SystemError;
  error.errno = errno;
  error.code = code;
  error.syscall = syscall;
  return error;
}
