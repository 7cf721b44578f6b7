import { z } from "zod";

/**
 * The prefix of a layer's tensors in the checkpoint, as PyTorch's `state_dict` names them:
 * dot-separated parts of letters, digits and underscores (`blocks.0.attn`).
 */
export const layerName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/, "must be a state_dict prefix such as fc1 or blocks.0.attn (letters, digits, _ and dots)");
