import { BadRequestException, type PipeTransform } from "@nestjs/common";
import type { z } from "zod";

/** Validates a request body (or, with `what` "query", a query string) with a zod schema; the 400 names every wrong field. */
export class ZodBodyPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(
    private readonly schema: S,
    private readonly what: "body" | "query" = "body",
  ) {}

  transform(value: unknown): z.infer<S> {
    const parsed = this.schema.safeParse(value);
    if (parsed.success) return parsed.data;
    const problems = parsed.error.issues.map((issue) => `${issue.path.length ? issue.path.join(".") : this.what}: ${issue.message}`);
    throw new BadRequestException(`invalid request ${this.what}: ${problems.join("; ")}`);
  }
}
