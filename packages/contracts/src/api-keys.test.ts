import { describe, expect, it } from "vitest";
import { roleAllows } from "./api-keys.js";

describe("roleAllows", () => {
  it("lets each role do what the roles below it may, and no more", () => {
    expect(roleAllows("admin", "submitter")).toBe(true);
    expect(roleAllows("submitter", "submitter")).toBe(true);
    expect(roleAllows("viewer", "submitter")).toBe(false);
    expect(roleAllows("submitter", "admin")).toBe(false);
    expect(roleAllows("viewer", "viewer")).toBe(true);
  });
});
