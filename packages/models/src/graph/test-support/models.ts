/** Version 2 specs of the models the issue names, small enough for tests. */

/** LeNet-style: two convolutions with pools, three linear layers. */
export function lenetSpec(side = 12, batchNorm?: "batch" | "running"): object {
  return {
    name: "lenet",
    input: { shape: [1, side, side] },
    layers: [
      { type: "conv2d", name: "conv1", out: 2, kernel: 3, padding: 1 },
      ...(batchNorm ? [{ type: "batchnorm2d", name: "bn1", statistics: batchNorm }] : []),
      { type: "relu" },
      { type: "maxpool2d", kernel: 2 },
      { type: "conv2d", name: "conv2", out: 3, kernel: 3 },
      { type: "tanh" },
      { type: "avgpool2d", kernel: 2 },
      { type: "flatten" },
      { type: "linear", name: "fc1", out: 5 },
      { type: "relu" },
      { type: "linear", name: "fc2", out: 3 },
    ],
    loss: { type: "cross-entropy" },
    l2: 0.1,
  };
}

/** A causal transformer of `blocks` pre-norm blocks over token ids, with label smoothing. */
export function transformerSpec(blocks = 2, d = 8, positions = 5, vocab = 7): object {
  return {
    name: "tiny-gpt",
    input: { shape: [positions], dtype: "index", vocab },
    layers: [
      { type: "embedding", name: "tok", vocab, dim: d },
      { type: "positional", name: "pos", length: positions, dim: d },
      ...Array.from({ length: blocks }, (_, block) => [
        { type: "residual", layers: [{ type: "layernorm", name: `blocks.${block}.ln1` }, { type: "attention", name: `blocks.${block}.attn`, heads: 2, causal: true }] },
        {
          type: "residual",
          layers: [
            { type: "layernorm", name: `blocks.${block}.ln2` },
            { type: "linear", name: `blocks.${block}.mlp.fc`, out: 2 * d },
            { type: "gelu" },
            { type: "linear", name: `blocks.${block}.mlp.proj`, out: d },
            { type: "dropout", p: 0.1 },
          ],
        },
      ]).flat(),
      { type: "layernorm", name: "ln_f" },
      { type: "linear", name: "head", out: vocab, bias: false },
    ],
    loss: { type: "cross-entropy", target: "index", labelSmoothing: 0.1 },
  };
}
