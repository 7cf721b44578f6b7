import { z } from "zod";

/**
 * The prefix of a layer's tensors in the checkpoint, as PyTorch's `state_dict` names them:
 * dot-separated parts of letters, digits and underscores (`blocks.0.attn`, or `0` for the
 * first module of an nn.Sequential).
 */
export const layerName = z
  .string()
  .regex(/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/, "must be a state_dict prefix such as fc1, blocks.0.attn or 0 (letters, digits, _ and dots)");
