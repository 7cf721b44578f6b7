import { z } from "zod";
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
  backward: (_, _x, _forwarded, dy) => dy,
};
