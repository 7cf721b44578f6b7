// The GEMM kernels as WAT text. Layout (chosen by src/gemm.ts, which packs the operands),
// with s the element's size (8 bytes, or 4 in float32):
//   packed A panel: MR rows interleaved, value (r, p) at a + s·(p·MR + r)
//   packed B panel: NR columns interleaved, value (p, c) at b + s·(p·NR + c)
//   C: row-major, rows ldc bytes apart; the tile is added to what C holds.
// An MR×NR tile keeps MR·NR/2 f64x2 accumulators in locals (registers). 2×8 was the fastest
// of the shapes measured on x86-64 (4×4, 3×6, 4×6, 6×4, 2×6, 3×4): eight accumulators, four B
// vectors and one broadcast A value leave V8 its scratch register, and each B vector loaded
// feeds two fused multiply-adds.
export const MR = 2;
export const NR = 8;
/** float32: the same 2 rows and 4 vectors, of 4 lanes each */
export const NR32 = 16;

const range = (n) => Array.from({ length: n }, (_, i) => i);

/**
 * `fused`: f64x2.relaxed_madd (an FMA where the CPU has one) instead of a multiply and an add.
 * `float32`: f32x4 lanes, every multiply and add rounded to float32 (never fused): the
 * arithmetic of a float32 implementation, for the rounding study.
 */
export function gemmWat({ fused, float32 = false }) {
  const size = float32 ? 4 : 8;
  const lanes = 16 / size;
  const nr = float32 ? NR32 : NR;
  const kind = float32 ? "f32x4" : "f64x2";
  const vectors = nr / lanes;
  const acc = (r, v) => `$acc${r}_${v}`;
  const locals = [
    ...range(vectors).map((v) => `(local $b${v} v128)`),
    "(local $a0 v128)",
    ...range(MR).flatMap((r) => range(vectors).map((v) => `(local ${acc(r, v)} v128)`)),
    "(local $row i32)",
  ].join(" ");
  const step = [
    ...range(vectors).map((v) => `(local.set $b${v} (v128.load offset=${16 * v} (local.get $b)))`),
    ...range(MR).flatMap((r) => [
      `(local.set $a0 (v128.load${8 * size}_splat offset=${size * r} (local.get $a)))`,
      ...range(vectors).map((v) =>
        fused
          ? `(local.set ${acc(r, v)} (f64x2.relaxed_madd (local.get $a0) (local.get $b${v}) (local.get ${acc(r, v)})))`
          : `(local.set ${acc(r, v)} (${kind}.add (local.get ${acc(r, v)}) (${kind}.mul (local.get $a0) (local.get $b${v}))))`,
      ),
    ]),
    `(local.set $a (i32.add (local.get $a) (i32.const ${size * MR})))`,
    `(local.set $b (i32.add (local.get $b) (i32.const ${size * nr})))`,
  ].join("\n      ");
  const store = range(MR)
    .flatMap((r) => [
      ...range(vectors).map(
        (v) => `(v128.store offset=${16 * v} (local.get $row) (${kind}.add (v128.load offset=${16 * v} (local.get $row)) (local.get ${acc(r, v)})))`,
      ),
      `(local.set $row (i32.add (local.get $row) (local.get $ldc)))`,
    ])
    .join("\n    ");
  return `(module
  (memory (export "memory") 1)
  ;; C[MR×NR tile at c] += Apanel · Bpanel over kc ≥ 1 steps
  (func $tile (param $kc i32) (param $a i32) (param $b i32) (param $c i32) (param $ldc i32)
    ${locals}
    (loop $k
      ${step}
      (br_if $k (local.tee $kc (i32.sub (local.get $kc) (i32.const 1)))))
    (local.set $row (local.get $c))
    ${store})
  ;; every tile of an (mt·MR)×(nt·NR) block of C from mt packed A panels and nt packed B panels
  (func (export "macro") (param $mt i32) (param $nt i32) (param $kc i32) (param $ap i32) (param $bp i32) (param $c i32) (param $ldc i32)
    (local $i i32) (local $ai i32) (local $ci i32) (local $aStride i32) (local $bStride i32) (local $cStride i32)
    (local.set $aStride (i32.mul (local.get $kc) (i32.const ${size * MR})))
    (local.set $bStride (i32.mul (local.get $kc) (i32.const ${size * nr})))
    (local.set $cStride (i32.mul (local.get $ldc) (i32.const ${MR})))
    (loop $columns
      (local.set $ai (local.get $ap))
      (local.set $ci (local.get $c))
      (local.set $i (local.get $mt))
      (loop $rows
        (call $tile (local.get $kc) (local.get $ai) (local.get $bp) (local.get $ci) (local.get $ldc))
        (local.set $ai (i32.add (local.get $ai) (local.get $aStride)))
        (local.set $ci (i32.add (local.get $ci) (local.get $cStride)))
        (br_if $rows (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))
      (local.set $bp (i32.add (local.get $bp) (local.get $bStride)))
      (local.set $c (i32.add (local.get $c) (i32.const ${size * nr})))
      (br_if $columns (local.tee $nt (i32.sub (local.get $nt) (i32.const 1)))))))
`;
}
