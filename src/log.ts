import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

export type { Logger };

/**
 * The process logger: pino, JSON on stdout, one line per event. Child loggers
 * carry `component` and, inside a call, `callId`; pino serializes those
 * bindings once per child, not once per line.
 */
export function createLogger(level: LevelWithSilent, destination?: DestinationStream): Logger {
  return pino({ level, base: { service: 'warmline' } }, destination);
}
