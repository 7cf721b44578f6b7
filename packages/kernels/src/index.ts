export { gemm, gemmFloat32, gemmKernel, selectGemmKernel, type GemmArguments, type GemmKernel } from "./gemm.js";
