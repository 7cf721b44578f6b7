// Native float64 GEMM for the kernel layer: C += op(A)·op(B), row-major, as
// packages/kernels/src/gemm.ts defines it. WebAssembly SIMD is 128 bits wide; on a CPU with
// AVX2 or AVX-512 this reaches the wider registers. One binary for every x86-64 CPU: the
// micro-kernels carry target attributes and are chosen at load time from the CPU's features,
// so an addon built on one machine never runs an instruction another lacks.
//
// Every element of C gets the same operations whatever the matrix sizes and its place in a
// tile: blocks of KC terms, each summed from 0 in order by fused multiply-adds, then added to
// C. Edge tiles run the full kernel into a zeroed tile and add their valid part the same way.
#include <math.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define GRADCHECK_X86 1
#endif

#define KC 256
#define NC 1536 /* a multiple of every NR */
#define MAX_MR 8
#define MAX_NR 24

typedef void (*micro_kernel)(int kc, const double *restrict a, const double *restrict b, double *restrict c, int ldc);

struct isa {
  const char *name;
  int mr, nr, mc;
  micro_kernel micro;
};

#ifdef GRADCHECK_X86
// The accumulators are named variables, not an array: GCC keeps an array of vectors in
// memory and stores it back on every step.
#define ROW2(r)                                                                                                                            \
  {                                                                                                                                        \
    const __m256d x = _mm256_broadcast_sd(a + r);                                                                                          \
    c##r##0 = _mm256_fmadd_pd(x, b0, c##r##0);                                                                                             \
    c##r##1 = _mm256_fmadd_pd(x, b1, c##r##1);                                                                                             \
  }
#define STORE2(r)                                                                                                                          \
  {                                                                                                                                        \
    double *row = c + r * ldc;                                                                                                             \
    _mm256_storeu_pd(row, _mm256_add_pd(_mm256_loadu_pd(row), c##r##0));                                                                  \
    _mm256_storeu_pd(row + 4, _mm256_add_pd(_mm256_loadu_pd(row + 4), c##r##1));                                                          \
  }

/* 6×8 tile: 12 ymm accumulators, two rows of B and one broadcast (15 of 16 registers). */
__attribute__((target("avx2,fma"))) static void micro_avx2(int kc, const double *restrict a, const double *restrict b, double *restrict c,
                                                            int ldc) {
  __m256d c00 = _mm256_setzero_pd(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256d c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int p = 0; p < kc; p++, a += 6, b += 8) {
    const __m256d b0 = _mm256_load_pd(b), b1 = _mm256_load_pd(b + 4);
    ROW2(0) ROW2(1) ROW2(2) ROW2(3) ROW2(4) ROW2(5)
  }
  STORE2(0) STORE2(1) STORE2(2) STORE2(3) STORE2(4) STORE2(5)
}

#define ROW3(r)                                                                                                                            \
  {                                                                                                                                        \
    const __m512d x = _mm512_set1_pd(a[r]);                                                                                                \
    c##r##0 = _mm512_fmadd_pd(x, b0, c##r##0);                                                                                             \
    c##r##1 = _mm512_fmadd_pd(x, b1, c##r##1);                                                                                             \
    c##r##2 = _mm512_fmadd_pd(x, b2, c##r##2);                                                                                             \
  }
#define STORE3(r)                                                                                                                          \
  {                                                                                                                                        \
    double *row = c + r * ldc;                                                                                                             \
    _mm512_storeu_pd(row, _mm512_add_pd(_mm512_loadu_pd(row), c##r##0));                                                                  \
    _mm512_storeu_pd(row + 8, _mm512_add_pd(_mm512_loadu_pd(row + 8), c##r##1));                                                          \
    _mm512_storeu_pd(row + 16, _mm512_add_pd(_mm512_loadu_pd(row + 16), c##r##2));                                                        \
  }

/* 8×24 tile: 24 zmm accumulators, three rows of B, broadcasts folded into the FMAs. */
__attribute__((target("avx512f"))) static void micro_avx512(int kc, const double *restrict a, const double *restrict b, double *restrict c,
                                                             int ldc) {
  __m512d c00 = _mm512_setzero_pd(), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00, c20 = c00, c21 = c00, c22 = c00;
  __m512d c30 = c00, c31 = c00, c32 = c00, c40 = c00, c41 = c00, c42 = c00, c50 = c00, c51 = c00, c52 = c00;
  __m512d c60 = c00, c61 = c00, c62 = c00, c70 = c00, c71 = c00, c72 = c00;
  for (int p = 0; p < kc; p++, a += 8, b += 24) {
    const __m512d b0 = _mm512_load_pd(b), b1 = _mm512_load_pd(b + 8), b2 = _mm512_load_pd(b + 16);
    ROW3(0) ROW3(1) ROW3(2) ROW3(3) ROW3(4) ROW3(5) ROW3(6) ROW3(7)
  }
  STORE3(0) STORE3(1) STORE3(2) STORE3(3) STORE3(4) STORE3(5) STORE3(6) STORE3(7)
}
#endif

#ifdef GRADCHECK_X86
static const struct isa AVX2 = {"avx2", 6, 8, 96, micro_avx2};
static const struct isa AVX512 = {"avx512", 8, 24, 96, micro_avx512};
#endif

/* The best kernel this CPU runs, or NULL where there is none better than WebAssembly's. */
static const struct isa *best_isa(void) {
#ifdef GRADCHECK_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return &AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &AVX2;
#endif
  return NULL;
}

/* Per thread: worker threads load the addon once each and run products at the same time. */
static _Thread_local const struct isa *selected;
static _Thread_local bool chosen;
static _Thread_local double *packed_a, *packed_b;
static _Thread_local size_t capacity_a, capacity_b;

static const struct isa *current_isa(void) {
  if (!chosen) {
    selected = best_isa();
    chosen = true;
  }
  return selected;
}

static double *reserve(double **buffer, size_t *capacity, size_t elements) {
  if (elements <= *capacity) return *buffer;
  free(*buffer);
  size_t bytes = (elements * sizeof(double) + 63) / 64 * 64;
  *buffer = aligned_alloc(64, bytes);
  *capacity = *buffer ? elements : 0;
  return *buffer;
}

struct operand {
  const double *data;
  int ld;
  bool transposed, absolute;
};

/* op(X)[row, column] */
static inline double element(const struct operand *x, int row, int column) {
  double value = x->transposed ? x->data[(size_t)column * x->ld + row] : x->data[(size_t)row * x->ld + column];
  return x->absolute ? fabs(value) : value;
}

/* Rows ic..ic+mc of op(A), terms pc..pc+kc, in panels of mr rows: (panel, p, r) at panel·kc·mr + p·mr + r. */
static void pack_a(double *out, const struct operand *a, int ic, int mc, int pc, int kc, int mr) {
  for (int panel = 0; panel < mc; panel += mr)
    for (int r = 0; r < mr; r++) {
      double *column = out + (size_t)panel * kc + r;
      if (panel + r >= mc) {
        for (int p = 0; p < kc; p++) column[(size_t)p * mr] = 0;
        continue;
      }
      for (int p = 0; p < kc; p++) column[(size_t)p * mr] = element(a, ic + panel + r, pc + p);
    }
}

/* Terms pc..pc+kc of op(B), columns jc..jc+nc, in panels of nr columns: (panel, p, j) at panel·kc·nr + p·nr + j. */
static void pack_b(double *out, const struct operand *b, int pc, int kc, int jc, int nc, int nr) {
  for (int panel = 0; panel < nc; panel += nr) {
    double *block = out + (size_t)panel * kc;
    const int width = nc - panel < nr ? nc - panel : nr;
    for (int p = 0; p < kc; p++) {
      double *row = block + (size_t)p * nr;
      for (int j = 0; j < width; j++) row[j] = element(b, pc + p, jc + panel + j);
      for (int j = width; j < nr; j++) row[j] = 0;
    }
  }
}

static const char *multiply(const struct isa *isa, int m, int n, int k, const struct operand *a, const struct operand *b, double *c, int ldc) {
  const int mr = isa->mr, nr = isa->nr, mc_max = isa->mc;
  const int nc_max = n < NC ? (n + nr - 1) / nr * nr : NC;
  const int kc_max = k < KC ? k : KC;
  double *pa = reserve(&packed_a, &capacity_a, (size_t)mc_max * kc_max);
  double *pb = reserve(&packed_b, &capacity_b, (size_t)nc_max * kc_max);
  if (!pa || !pb) return "out of memory for the packed blocks";
  double tile[MAX_MR * MAX_NR];
  for (int jc = 0; jc < n; jc += NC) {
    const int nc = n - jc < NC ? n - jc : NC;
    for (int pc = 0; pc < k; pc += KC) {
      const int kc = k - pc < KC ? k - pc : KC;
      pack_b(pb, b, pc, kc, jc, nc, nr);
      for (int ic = 0; ic < m; ic += mc_max) {
        const int mc = m - ic < mc_max ? m - ic : mc_max;
        pack_a(pa, a, ic, mc, pc, kc, mr);
        for (int jr = 0; jr < nc; jr += nr) {
          const double *bp = pb + (size_t)jr * kc;
          const int width = nc - jr < nr ? nc - jr : nr;
          for (int ir = 0; ir < mc; ir += mr) {
            const double *ap = pa + (size_t)ir * kc;
            const int height = mc - ir < mr ? mc - ir : mr;
            double *cp = c + (size_t)(ic + ir) * ldc + jc + jr;
            if (width == nr && height == mr) {
              isa->micro(kc, ap, bp, cp, ldc);
              continue;
            }
            memset(tile, 0, sizeof(double) * mr * nr);
            isa->micro(kc, ap, bp, tile, nr);
            for (int r = 0; r < height; r++)
              for (int j = 0; j < width; j++) cp[(size_t)r * ldc + j] += tile[r * nr + j];
          }
        }
      }
    }
  }
  return NULL;
}

/* ---- the Node-API binding ---- */

static bool float64_array(napi_env env, napi_value value, double **data, size_t *length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return false;
  napi_typedarray_type type;
  void *pointer;
  if (napi_get_typedarray_info(env, value, &type, length, &pointer, NULL, NULL) != napi_ok || type != napi_float64_array) return false;
  *data = pointer;
  return true;
}

/* The last index that op(X) (rows × columns) reads, as a flat index into X. */
static int64_t last_index(int rows, int columns, int ld, bool transposed) {
  return transposed ? (int64_t)(columns - 1) * ld + rows - 1 : (int64_t)(rows - 1) * ld + columns - 1;
}

static napi_value fail(napi_env env, const char *message) {
  napi_throw_range_error(env, NULL, message);
  return NULL;
}

/* gemm(m, n, k, a, lda, transposeA, absoluteA, b, ldb, transposeB, absoluteB, c, ldc): C += op(A)·op(B). */
static napi_value js_gemm(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 13) return fail(env, "gemm takes 13 arguments");
  int32_t size[3], lda, ldb, ldc;
  bool flags[4];
  for (int i = 0; i < 3; i++)
    if (napi_get_value_int32(env, argv[i], &size[i]) != napi_ok || size[i] < 0) return fail(env, "gemm: m, n and k must be integers ≥ 0");
  if (napi_get_value_int32(env, argv[4], &lda) != napi_ok || napi_get_value_int32(env, argv[8], &ldb) != napi_ok ||
      napi_get_value_int32(env, argv[12], &ldc) != napi_ok)
    return fail(env, "gemm: leading dimensions must be integers");
  const int flag_at[4] = {5, 6, 9, 10};
  for (int i = 0; i < 4; i++)
    if (napi_get_value_bool(env, argv[flag_at[i]], &flags[i]) != napi_ok) return fail(env, "gemm: flags must be booleans");
  double *a, *b, *c;
  size_t la, lb, lc;
  if (!float64_array(env, argv[3], &a, &la) || !float64_array(env, argv[7], &b, &lb) || !float64_array(env, argv[11], &c, &lc))
    return fail(env, "gemm: A, B and C must be Float64Arrays");
  const int m = size[0], n = size[1], k = size[2];
  if (m == 0 || n == 0 || k == 0) return NULL;
  // A wrong stride from a caller must be an exception, never a read or write out of bounds.
  if (lda < 1 || ldb < 1 || ldc < n || (flags[0] ? lda < m : lda < k) || (flags[2] ? ldb < k : ldb < n))
    return fail(env, "gemm: a leading dimension is smaller than its rows");
  if (last_index(m, k, lda, flags[0]) >= (int64_t)la || last_index(k, n, ldb, flags[2]) >= (int64_t)lb ||
      last_index(m, n, ldc, false) >= (int64_t)lc)
    return fail(env, "gemm: an operand is shorter than its sizes and leading dimension need");
  const struct isa *isa = current_isa();
  if (!isa) return fail(env, "gemm: this CPU has neither AVX2 nor AVX-512");
  const struct operand op_a = {a, lda, flags[0], flags[1]}, op_b = {b, ldb, flags[2], flags[3]};
  const char *error = multiply(isa, m, n, k, &op_a, &op_b, c, ldc);
  return error ? fail(env, error) : NULL;
}

/* The instruction set of this thread's products ("avx512", "avx2"), or null where this CPU
 * has neither (WebAssembly's kernels then serve). */
static napi_value js_isa(napi_env env, napi_callback_info info) {
  (void)info;
  const struct isa *isa = current_isa();
  napi_value result;
  if (isa) napi_create_string_utf8(env, isa->name, NAPI_AUTO_LENGTH, &result);
  else napi_get_null(env, &result);
  return result;
}

/* selectIsa(name): this thread's products on the named instruction set, if the CPU has it. */
static napi_value js_select_isa(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char name[16] = {0};
  size_t length = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  bool ok = false;
  if (argc == 1 && napi_get_value_string_utf8(env, argv[0], name, sizeof name, &length) == napi_ok) {
    const struct isa *best = best_isa();
#ifdef GRADCHECK_X86
    if (strcmp(name, "avx2") == 0 && best) selected = &AVX2, ok = true;
    else if (strcmp(name, "avx512") == 0 && best == &AVX512) selected = &AVX512, ok = true;
    else
#endif
        if (strcmp(name, "best") == 0) selected = best, ok = true;
    if (ok) chosen = true;
  }
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

NAPI_MODULE_INIT() {
  const napi_property_descriptor properties[] = {
      {"gemm", NULL, js_gemm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"isa", NULL, js_isa, NULL, NULL, NULL, napi_enumerable, NULL},
      {"selectIsa", NULL, js_select_isa, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
  return exports;
}
