import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { centralDifference, numericalGradient, realizedSteps } from "./finite-difference.js";

describe("realizedSteps", () => {
  it("is exactly h where x + h and x − h are exact", () => {
    expect(realizedSteps(0, 1e-5)).toEqual({ plus: 1e-5, minus: 1e-5 });
    expect(realizedSteps(1, 2 ** -20)).toEqual({ plus: 2 ** -20, minus: 2 ** -20 });
  });

  it("is the distance actually moved when x + h rounds", () => {
    // ulp(1e8) = 2^-26 ≈ 1.49e-8: a step of 1e-9 vanishes, 1e-7 becomes 7 ulps.
    const tiny = realizedSteps(1e8, 1e-9);
    expect(tiny.plus).not.toBe(1e-9);
    expect(tiny).toEqual({ plus: 0, minus: 0 });
    const small = realizedSteps(1e8, 1e-7);
    expect(small.plus).not.toBe(1e-7);
    expect(small.plus).toBe(7 * 2 ** -26);
    expect(small.minus).toBe(7 * 2 ** -26);
    // Just below a power of two the two sides have different ulps.
    const edge = realizedSteps(1, 1e-16);
    expect(edge.plus).toBe(0);
    expect(edge.minus).toBe(2 ** -53);
  });

  it("gives representable distances that land exactly on the rounded x ± h (property)", () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e12, max: 1e12, noNaN: true }),
        fc.double({ min: 1e-12, max: 1e-1, noNaN: true }),
        (x, h) => {
          fc.pre(Math.abs(x) >= 2 * h);
          const { plus, minus } = realizedSteps(x, h);
          expect(x + plus).toBe(x + h);
          expect(x - minus).toBe(x - h);
          // The distances themselves are exact: moving by them and back is lossless.
          expect(x + plus - x).toBe(plus);
          expect(x - (x - minus)).toBe(minus);
          expect(plus).toBeGreaterThanOrEqual(0);
          expect(minus).toBeGreaterThanOrEqual(0);
          // Rounding moves by at most half an ulp of x ± h.
          const ulp = Math.abs(x) * 2 ** -52 * 2;
          expect(Math.abs(plus - h)).toBeLessThanOrEqual(ulp);
          expect(Math.abs(minus - h)).toBeLessThanOrEqual(ulp);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("centralDifference", () => {
  it("divides by the sum of the realised steps", () => {
    expect(centralDifference(3, 1, { plus: 0.5, minus: 1.5 })).toBe(1);
    expect(centralDifference(1, 3, { plus: 1, minus: 1 })).toBe(-1);
  });
});

/** A smooth random function of a few variables with its exact gradient. */
type Term =
  | { kind: "monomial"; c: number; powers: number[] }
  | { kind: "sin"; c: number; j: number; a: number; b: number }
  | { kind: "exp"; c: number; j: number; a: number }
  | { kind: "product"; c: number; j: number; k: number };

interface SmoothFunction {
  readonly n: number;
  readonly terms: Term[];
}

function evaluate(f: SmoothFunction, x: Float64Array): number {
  let sum = 0;
  for (const term of f.terms) {
    switch (term.kind) {
      case "monomial":
        sum += term.c * term.powers.reduce((product, p, j) => product * x[j] ** p, 1);
        break;
      case "sin":
        sum += term.c * Math.sin(term.a * x[term.j] + term.b);
        break;
      case "exp":
        sum += term.c * Math.exp(term.a * x[term.j]);
        break;
      case "product":
        sum += term.c * Math.sin(x[term.j]) * Math.exp(x[term.k]);
        break;
    }
  }
  return sum;
}

function gradient(f: SmoothFunction, x: Float64Array): Float64Array {
  const g = new Float64Array(f.n);
  for (const term of f.terms) {
    switch (term.kind) {
      case "monomial":
        for (let i = 0; i < f.n; i++) {
          if (term.powers[i] === 0) continue;
          let product = term.c * term.powers[i] * x[i] ** (term.powers[i] - 1);
          for (let j = 0; j < f.n; j++) if (j !== i) product *= x[j] ** term.powers[j];
          g[i] += product;
        }
        break;
      case "sin":
        g[term.j] += term.c * term.a * Math.cos(term.a * x[term.j] + term.b);
        break;
      case "exp":
        g[term.j] += term.c * term.a * Math.exp(term.a * x[term.j]);
        break;
      case "product":
        // j and k may coincide: d/dx sin(x)e^x = (cos x + sin x)e^x
        g[term.j] += term.c * Math.cos(x[term.j]) * Math.exp(x[term.k]);
        g[term.k] += term.c * Math.sin(x[term.j]) * Math.exp(x[term.k]);
        break;
    }
  }
  return g;
}

const coefficient = fc.double({ min: -2, max: 2, noNaN: true });

const smoothFunction = fc.integer({ min: 1, max: 4 }).chain((n) => {
  const variable = fc.integer({ min: 0, max: n - 1 });
  const term: fc.Arbitrary<Term> = fc.oneof(
    fc.record({
      kind: fc.constant("monomial" as const),
      c: coefficient,
      powers: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: n, maxLength: n }),
    }),
    fc.record({
      kind: fc.constant("sin" as const),
      c: coefficient,
      j: variable,
      a: fc.double({ min: -3, max: 3, noNaN: true }),
      b: fc.double({ min: -3, max: 3, noNaN: true }),
    }),
    fc.record({ kind: fc.constant("exp" as const), c: coefficient, j: variable, a: fc.double({ min: -1, max: 1, noNaN: true }) }),
    fc.record({ kind: fc.constant("product" as const), c: coefficient, j: variable, k: variable }),
  );
  return fc.record({
    f: fc.record({ n: fc.constant(n), terms: fc.array(term, { minLength: 1, maxLength: 5 }) }),
    x: fc.array(fc.double({ min: -1.5, max: 1.5, noNaN: true }), { minLength: n, maxLength: n }),
  });
});

describe("numericalGradient", () => {
  it("matches the analytic gradient of random smooth functions (property)", () => {
    const h = 1e-5;
    fc.assert(
      fc.property(smoothFunction, ({ f, x }) => {
        const point = Float64Array.from(x);
        const numeric = numericalGradient((y) => evaluate(f, y), point, h);
        const analytic = gradient(f, point);
        // Truncation error h²·f'''/6 and rounding ε·|f|/h are both ~1e-10 here.
        for (let i = 0; i < f.n; i++) {
          expect(Math.abs(numeric[i] - analytic[i])).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(analytic[i])));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("is exact for a linear function even where x + h rounds, because it divides by the realised steps", () => {
    // f(x) = x at x = 1e8 with h = 1e-7: dividing by 2h would give 1.043...
    const numeric = numericalGradient((x) => x[0] - 1e8 + 2 * x[1], Float64Array.of(1e8, 3), 1e-7);
    expect(numeric[0]).toBe(1);
    expect(numeric[1]).toBeCloseTo(2, 7);
    const naive = (1e8 + 1e-7 - (1e8 - 1e-7)) / 2e-7;
    expect(Math.abs(naive - 1)).toBeGreaterThan(0.04);
  });

  it("evaluates each coordinate at x ± h with the others unchanged, and leaves x alone", () => {
    const x = Float64Array.of(1, -2, 0.5);
    const seen: number[][] = [];
    numericalGradient(
      (probe) => {
        seen.push(Array.from(probe));
        return 0;
      },
      x,
      0.25,
    );
    expect(seen).toEqual([
      [1.25, -2, 0.5],
      [0.75, -2, 0.5],
      [1, -1.75, 0.5],
      [1, -2.25, 0.5],
      [1, -2, 0.75],
      [1, -2, 0.25],
    ]);
    expect(Array.from(x)).toEqual([1, -2, 0.5]);
  });
});
