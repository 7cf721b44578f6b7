import { relativeDifference, roundingTolerance, streamedRoundingTolerance, UNIT_ROUNDOFF } from "@gradcheck/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backprop, flattenGradients } from "./backprop.js";
import { networkFromTheta } from "./network.js";
import { parameterLayout } from "./parameters.js";
import { boundedBackprop, emulatedGradient, streamRoundingStudy, studyRounding } from "./rounding-study.js";
import { modelCase } from "./test-support/models.js";

describe("the rounding study", () => {
  it("an emulated backprop in float64, in either sum order, is the reference backprop up to rounding (property)", () => {
    fc.assert(
      fc.property(modelCase({ maxHidden: 2, maxUnits: 5 }), (model) => {
        const network = networkFromTheta(model.spec, model.theta);
        const reference = flattenGradients(model.spec, backprop(network, model.batch));
        for (const order of ["natural", "reversed"] as const) {
          expect(relativeDifference(emulatedGradient(network, model.batch, (x) => x, order), reference)).toBeLessThan(1e-13);
        }
        expect(relativeDifference(boundedBackprop(network, model.batch, UNIT_ROUNDOFF.F64).gradient, reference)).toBeLessThan(1e-13);
      }),
      { numRuns: 100, seed: 5 },
    );
  });

  it("in float32, every value is a float32 number, and its error stays within the bound u·s_i (property)", () => {
    fc.assert(
      fc.property(modelCase({ maxHidden: 2, maxUnits: 5 }), (model) => {
        const network = networkFromTheta(model.spec, model.theta);
        const reference = flattenGradients(model.spec, backprop(network, model.batch));
        const emulated = emulatedGradient(network, model.batch, Math.fround);
        const { scales, switches } = boundedBackprop(network, model.batch, UNIT_ROUNDOFF.F32);
        emulated.forEach((value, i) => {
          expect(Math.fround(value)).toBe(value);
          // the bound leaves out the length factor of sums (a few terms here) and float64's own rounding
          // (or, where float32 switched a ReLU near its kink, by what that switch may change)
          expect(Math.abs(value - reference[i])).toBeLessThanOrEqual(8 * UNIT_ROUNDOFF.F32 * scales[i] + 2 * switches[i] + 1e-300);
          // s_i bounds the magnitudes the coordinate is summed from, so never the value itself less
          expect(scales[i]).toBeGreaterThanOrEqual(Math.abs(reference[i]) * (1 - 1e-12));
        });
      }),
      { numRuns: 100, seed: 6 },
    );
  });

  it("runs more emulations on small models, and reports the largest deviation of them", () => {
    fc.assert(
      fc.property(modelCase({ maxHidden: 1, maxUnits: 3 }), (model) => {
        const network = networkFromTheta(model.spec, model.theta);
        const study = studyRounding(network, model.batch, "F32");
        expect(study.runs).toBe(8);
        expect(studyRounding(network, model.batch, "F64").runs).toBe(0);
        const first = emulatedGradient(network, model.batch, Math.fround);
        study.deviation.forEach((deviation, i) => expect(deviation).toBeGreaterThanOrEqual(Math.abs(first[i] - study.reference[i])));
      }),
      { numRuns: 30, seed: 7 },
    );
  });

  it("streamed a tensor at a time, the last layer first in reused arrays, gives the tolerance of the whole study bit for bit (property)", () => {
    fc.assert(
      fc.property(modelCase({ maxHidden: 3, maxUnits: 40 }), fc.constantFrom("F32", "F64", "BF16") , (model, precision) => {
        const network = networkFromTheta(model.spec, model.theta);
        const layout = parameterLayout(model.spec);
        const whole = roundingTolerance(layout, studyRounding(network, model.batch, precision), 1e-9);
        const stream = streamRoundingStudy(network, model.batch, precision);
        const order: number[] = [];
        const tensors = (function* () {
          for (const part of stream.tensors) {
            order.push(part.tensor);
            yield part;
          }
        })();
        const streamed = streamedRoundingTolerance(layout, precision, tensors, 1e-9);
        const layers = model.spec.layers.length;
        expect(order).toEqual(Array.from({ length: layers }, (_, k) => [2 * (layers - 1 - k), 2 * (layers - 1 - k) + 1]).flat());
        expect(Buffer.from(streamed.coordinate.buffer)).toEqual(Buffer.from(whole.coordinate.buffer));
        expect(streamed.tensors).toEqual(whole.tensors);
        expect([streamed.floor, streamed.overallRoundingLevel]).toEqual([whole.floor, whole.overallRoundingLevel]);
        expect(streamed.overall).toBeCloseTo(whole.overall, 15);
      }),
      { numRuns: 40, seed: 8 },
    );
  });
});
