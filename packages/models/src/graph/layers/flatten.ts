import { z } from "zod";
import { slicesOf } from "../changes.js";
import { sizeOf, type LayerKind } from "../layer.js";

export const flattenSpec = z.strictObject({ type: z.literal("flatten") });
export type FlattenSpec = z.infer<typeof flattenSpec>;

/** nn.Flatten: [m, C, H, W] → [m, C·H·W] in C order, so the values do not move. */
export const flatten: LayerKind<FlattenSpec> = {
  type: "flatten",
  schema: flattenSpec,
  outputShape: (_, input) => [sizeOf(input)],
  parameters: () => [],
  forward: (_, x) => ({ output: x }),
  // slice c of [C, H, W] is features c·H·W … (c+1)·H·W − 1, in the same order
  propagate({ input }, _base, change) {
    const { size } = slicesOf(input);
    const slices = new Int32Array(change.slices.length * size);
    change.slices.forEach((slice, s) => {
      for (let i = 0; i < size; i++) slices[s * size + i] = slice * size + i;
    });
    return { change: { examples: change.examples, slices, values: change.values }, kink: false };
  },
  backward: (_, _x, _forwarded, dy) => dy,
};
