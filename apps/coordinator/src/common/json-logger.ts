import type { LoggerService } from "@nestjs/common";
import { pino, type Logger } from "pino";

/**
 * Nest's logger as structured JSON lines (pino): `{"level":40,"time":…,"context":"Queue",
 * "msg":"…"}`, one per event, for a log collector to index. Nest's own start-up chatter is
 * left out below warn unless GRADCHECK_DEBUG is set.
 */
export class JsonLogger implements LoggerService {
  readonly pino: Logger;

  constructor(options: { readonly debug: boolean; readonly name?: string }) {
    this.pino = pino({ name: options.name ?? "gradcheck-coordinator", level: options.debug ? "debug" : "info", base: { pid: process.pid } });
  }

  log(message: unknown, context?: string): void {
    // Nest logs each route and module it starts at this level: noise, except when debugging
    if (context && /^(RoutesResolver|RouterExplorer|InstanceLoader|NestFactory|NestApplication)$/.test(context)) this.pino.debug({ context }, String(message));
    else this.pino.info({ context }, String(message));
  }

  error(message: unknown, stack?: string, context?: string): void {
    this.pino.error({ context, stack }, String(message));
  }

  warn(message: unknown, context?: string): void {
    this.pino.warn({ context }, String(message));
  }

  debug(message: unknown, context?: string): void {
    this.pino.debug({ context }, String(message));
  }

  verbose(message: unknown, context?: string): void {
    this.pino.trace({ context }, String(message));
  }
}
