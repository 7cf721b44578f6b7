import { gemm, gemmFloat32, type GemmArguments } from "@gradcheck/kernels";

/**
 * The arithmetic the graph's layers compute in: float64 always, except while the rounding
 * study emulates a lower-precision backprop (inArithmetic), when every matrix product and
 * every layer's output and gradient round to it. Switched for a synchronous call only, so
 * nothing else ever runs in the emulated arithmetic.
 */
interface Arithmetic {
  readonly product: (args: GemmArguments) => void;
  /** applied to what each layer hands on; undefined in float64 */
  readonly round?: (value: number) => number;
}

const FLOAT64: Arithmetic = { product: gemm };
let current = FLOAT64;

/** C = op(A)·op(B) (+ C) in the current arithmetic. */
export function product(args: GemmArguments): void {
  current.product(args);
}

/** A layer's output or gradient, rounded in place to the current arithmetic. */
export function settle(values: Float64Array): Float64Array {
  const { round } = current;
  if (round) for (let i = 0; i < values.length; i++) values[i] = round(values[i]);
  return values;
}

/**
 * Runs `run` with every product in float32 arithmetic (`float32Products`, else float64
 * products rounded once) and every layer's result passed through `round`.
 */
export function inArithmetic<T>(round: (value: number) => number, float32Products: boolean, run: () => T): T {
  const previous = current;
  current = {
    round,
    product: float32Products
      ? gemmFloat32
      : (args) => {
          gemm(args);
          const ldc = args.ldc ?? args.n;
          for (let i = 0; i < args.m; i++) for (let j = i * ldc; j < i * ldc + args.n; j++) args.c[j] = round(args.c[j]);
        },
  };
  try {
    return run();
  } finally {
    current = previous;
  }
}
