/** A cursor that does not come from a listing's `nextCursor`. */
export class InvalidCursorError extends Error {
  override name = "InvalidCursorError";
}

/** Where a page ended, as an opaque string: the values of its last row's ordering columns. */
export const encodeCursor = (values: readonly (string | number | null)[]): string => Buffer.from(JSON.stringify(values)).toString("base64url");

/** The values `encodeCursor` was given, checked against the kinds expected ("string", "number|null", "date"). */
export function decodeCursor(cursor: string, kinds: readonly ("string" | "number|null" | "date")[]): (string | number | null | Date)[] {
  try {
    const values = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown;
    if (Array.isArray(values) && values.length === kinds.length) {
      const decoded = values.map((value: unknown, index) => {
        const kind = kinds[index];
        if (kind === "string" && typeof value === "string") return value;
        if (kind === "number|null" && (value === null || (typeof value === "number" && Number.isInteger(value)))) return value;
        if (kind === "date" && typeof value === "string" && !Number.isNaN(new Date(value).getTime())) return new Date(value);
        throw new Error("no");
      });
      return decoded;
    }
  } catch {
    // not one of ours: said below
  }
  throw new InvalidCursorError(`cursor "${cursor}" is not one a listing gave: pass a page's nextCursor unchanged`);
}
