import { loadCheckFiles } from "@gradcheck/cli";
import { bindGraph } from "@gradcheck/models";
const input = await loadCheckFiles("/tmp/v2bench/gpt-2x64.safetensors", "/tmp/v2bench/gpt-2x64.json");
const layers = bindGraph(input.graph, new Float64Array(input.theta), input.buffers, new Float64Array(input.graph.parameterCount));
const flat = [];
const walk = (ls) => { for (const l of ls) { flat.push(l); } };
walk(layers);
let x = input.batch.inputs;
const time = (layer, x, depth) => {
  for (let k = 0; k < 5; k++) layer.kind.forward(layer, x, input.batch.m);
  const t = performance.now();
  let out;
  for (let k = 0; k < 50; k++) out = layer.kind.forward(layer, x, input.batch.m);
  console.log(" ".repeat(depth) + layer.path, layer.spec.type, ((performance.now() - t) / 50).toFixed(3), "ms");
  if (layer.children.length) { let y = x; for (const c of layer.children) y = time(c, y, depth + 2); }
  return out.output;
};
for (const layer of layers) x = time(layer, x, 0);
