// Writes dist/gemm.wasm: the float64 GEMM micro- and macro-kernels in WebAssembly SIMD.
// The WAT is generated here because the micro-kernel is fully unrolled (MR×NR accumulators
// held in v128 locals); wabt turns it into the binary. Nothing is downloaded.
import { mkdir, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import wabtFactory from "wabt";
import { MR, NR, NR32, gemmWat } from "./gemm-wat.mjs";

const wabt = await wabtFactory();
const out = new URL("../dist/", import.meta.url);
await mkdir(out, { recursive: true });
const variants = [
  { name: "gemm.wasm", fused: false, float32: false, nr: NR },
  { name: "gemm-fma.wasm", fused: true, float32: false, nr: NR },
  { name: "gemm-f32.wasm", fused: false, float32: true, nr: NR32 },
];
for (const { name, fused, float32, nr } of variants) {
  const text = gemmWat({ fused, float32 });
  const module = wabt.parseWat("gemm.wat", text, { simd: true, relaxed_simd: fused });
  module.validate();
  const { buffer } = module.toBinary({});
  module.destroy();
  await writeFile(new URL(name, out), buffer);
  console.log(`wrote ${fileURLToPath(new URL(name, out)).split("/").slice(-2).join("/")} (${buffer.length} bytes, ${MR}×${nr} tiles)`);
}
