// Errors carry a stable code, whether retrying can help, and what the user can do about them.
// The CLI maps them to exit codes; the API maps them to HTTP statuses.

// The codes as a list too, so a code read from outside (an API answer) is checked, not cast.
export const errorCodes = [
  'CONFIG_INVALID',
  'CONFIG_NOT_FOUND',
  'USAGE',
  'NOT_FOUND',
  'CONFLICT',
  'UNAUTHORIZED',
  'ARTIFACT_MISSING',
  'PORT_IN_USE',
  'INSTANCE_NOT_READY',
  'INSTANCE_CRASHED',
  'GATE_REFUSED',
  'CHECK_FAILED',
  'CONTROLLER_UNREACHABLE',
  'DEPENDENCY_UNREADABLE',
  'ROUTER_UNREACHABLE',
  /** an event that does not match the event catalogue: a bug in what emits it */
  'EVENT_INVALID',
  'HOST_UNREACHABLE',
  'HOST_KEY_REJECTED',
  'HOST_AUTH_REFUSED',
  'HOST_COMMAND_FAILED',
  'DISK_FULL',
  'AUDIT_CHAIN_BROKEN',
  /** authenticated, but lacking a permission (data.missing) */
  'FORBIDDEN',
  'RATE_LIMITED',
  /** the event log's files are corrupted, truncated, or were replaced under the open store */
  'LOG_DAMAGED',
  /** the event store cannot be opened or reached, or is not in a state Greenlight can use */
  'STORE_UNAVAILABLE',
  /** this controller is a standby: writes go to the leader (data.leader is its address) */
  'NOT_LEADER',
  /** a write carried a fencing token that is no longer the lease's: another controller leads */
  'FENCED',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && (errorCodes as readonly string[]).includes(code);
}

export const exitCodes = {
  ok: 0,
  /** a deployment was blocked, rolled back or failed */
  deploymentNotPromoted: 1,
  /** bad usage or configuration */
  usage: 2,
  /** the controller could not be reached */
  unreachable: 3,
} as const;

export interface ErrorDetails {
  retryable?: boolean;
  hint?: string;
  cause?: unknown;
  data?: Record<string, unknown>;
}

export class GreenlightError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly hint: string | undefined;
  readonly data: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'GreenlightError';
    this.code = code;
    this.retryable = details.retryable ?? false;
    this.hint = details.hint;
    this.data = details.data;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, retryable: this.retryable, hint: this.hint, ...(this.data ? { data: this.data } : {}) };
  }
}

export function httpStatusFor(code: ErrorCode): number {
  switch (code) {
    case 'USAGE':
    case 'CONFIG_INVALID':
    case 'ARTIFACT_MISSING':
      return 400;
    case 'UNAUTHORIZED':
      return 401;
    case 'FORBIDDEN':
      return 403;
    case 'RATE_LIMITED':
      return 429;
    case 'NOT_FOUND':
    case 'CONFIG_NOT_FOUND':
      return 404;
    case 'CONFLICT':
    case 'GATE_REFUSED':
    case 'AUDIT_CHAIN_BROKEN':
      return 409;
    case 'CONTROLLER_UNREACHABLE':
    case 'ROUTER_UNREACHABLE':
    case 'DEPENDENCY_UNREADABLE':
    case 'HOST_UNREACHABLE':
    case 'LOG_DAMAGED':
    case 'STORE_UNAVAILABLE':
    case 'NOT_LEADER':
    case 'FENCED':
      return 503;
    default:
      return 500;
  }
}

export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'CONTROLLER_UNREACHABLE':
    case 'STORE_UNAVAILABLE':
    case 'NOT_LEADER':
    case 'FENCED':
      return exitCodes.unreachable;
    case 'GATE_REFUSED':
    case 'CHECK_FAILED':
    case 'INSTANCE_NOT_READY':
    case 'INSTANCE_CRASHED':
      return exitCodes.deploymentNotPromoted;
    case 'INTERNAL':
    case 'AUDIT_CHAIN_BROKEN':
      return 1;
    default:
      return exitCodes.usage;
  }
}

export function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
