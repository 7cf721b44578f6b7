import { describe, expect, it } from "vitest";
import { resolveGpuJsMode, type GpuJsMode } from "./gpujs-mode.js";

const working = (...modes: GpuJsMode[]) => (mode: GpuJsMode) => modes.includes(mode);

describe("resolveGpuJsMode", () => {
  it("picks headlessgl in auto mode only where a display is set and it works", () => {
    expect(resolveGpuJsMode("auto", { display: ":99" }, working("headlessgl", "webasm", "cpu"))).toBe("headlessgl");
    expect(resolveGpuJsMode("auto", { display: undefined }, working("headlessgl", "webasm", "cpu"))).toBe("webasm");
    expect(resolveGpuJsMode("auto", { display: ":99" }, working("webasm", "cpu"))).toBe("webasm");
  });

  it("falls back to cpu in auto mode when webasm does not work either", () => {
    expect(resolveGpuJsMode("auto", { display: ":99" }, working("cpu"))).toBe("cpu");
  });

  it("keeps an explicit mode without probing", () => {
    expect(resolveGpuJsMode("headlessgl", { display: undefined }, working())).toBe("headlessgl");
  });
});
