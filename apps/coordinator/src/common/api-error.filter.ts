import { Catch, HttpException, HttpStatus, Logger, type ArgumentsHost, type ExceptionFilter } from "@nestjs/common";
import type { ApiError } from "@gradcheck/contracts";
import { InvalidCursorError } from "@gradcheck/db";
import { isCheckInputError } from "@gradcheck/engine";
import { ModelSpecError } from "@gradcheck/models";
import type { Response } from "express";

/** Statuses of the domain's own errors: bad input the caller can fix. */
function statusOf(error: unknown): number | undefined {
  if (error instanceof ModelSpecError || error instanceof InvalidCursorError) return HttpStatus.BAD_REQUEST;
  return isCheckInputError(error) ? HttpStatus.UNPROCESSABLE_ENTITY : undefined;
}

/** Every error becomes `{statusCode, error, message}`; internal errors are logged, never shown. */
@Catch()
export class ApiErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger("ApiError");

  catch(error: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const body = this.bodyOf(error);
    if (response.headersSent) {
      response.end();
      return;
    }
    response.status(body.statusCode).json(body);
  }

  private bodyOf(error: unknown): ApiError {
    if (error instanceof HttpException) {
      const status = error.getStatus();
      const answer = error.getResponse();
      const message =
        typeof answer === "string" ? answer : Array.isArray((answer as { message?: unknown }).message) ? ((answer as { message: string[] }).message).join("; ") : String((answer as { message?: unknown }).message ?? error.message);
      return { statusCode: status, error: reasonOf(status), message };
    }
    const status = statusOf(error);
    if (status !== undefined) return { statusCode: status, error: reasonOf(status), message: (error as Error).message };
    this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    return { statusCode: 500, error: reasonOf(500), message: "internal error; the coordinator's log has the details" };
  }
}

const REASONS: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Entity",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

function reasonOf(status: number): string {
  return REASONS[status] ?? "Error";
}
