import { applyDecorators } from "@nestjs/common";
import { ApiResponse } from "@nestjs/swagger";
import { apiErrorSchema } from "@gradcheck/contracts";
import { z } from "zod";

// OpenAPI from the contracts' zod schemas: the document says what the API answers, errors
// included, from the same schemas that validate it.

/** A zod schema as the JSON schema OpenAPI shows. */
export const schemaOf = (schema: z.ZodType, io: "input" | "output" = "output"): object => z.toJSONSchema(schema, { io, unrepresentable: "any" }) as object;

const ERROR_SCHEMA = schemaOf(apiErrorSchema);

/** What each error status means in this API (the body always says which field or thing). */
const ERRORS = {
  400: "the request does not fit the API: the message names the field or parameter",
  401: "no API key, or an unknown or revoked one",
  403: "the API key's role is too low for this",
  404: "no such model, checkpoint or check",
  409: "a conflict with what is stored: the message says which",
  413: "the body is larger than the limit",
  415: "the body has the wrong content type",
  422: "the body is well-formed but cannot be used (a checkpoint that does not fit the model, NaN in it)",
  500: "an internal error",
  503: "PostgreSQL or Redis is unreachable; nothing was changed",
} as const;
export type ErrorStatus = keyof typeof ERRORS;

/** Documents these error answers, each with the error body {statusCode, error, message}. */
export function ApiErrors(...statuses: ErrorStatus[]) {
  return applyDecorators(...statuses.map((status) => ApiResponse({ status, description: ERRORS[status], schema: ERROR_SCHEMA })));
}

/** Documents the success answer with the contracts' schema of its body. */
export function ApiAnswer(schema: z.ZodType, status = 200, description = "the answer") {
  return ApiResponse({ status, description, schema: schemaOf(schema) });
}
