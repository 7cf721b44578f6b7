/** Small seeded generators, so that checks and fixtures are reproducible anywhere. */
export type Random = () => number;

function mix32(value: number): number {
  let h = value | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** mulberry32: uniform in [0, 1). */
export function createRandom(seed: number): Random {
  let state = mix32(seed) || 0x9e3779b9;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A generator that depends only on (seed, stream), never on call order elsewhere. */
export function createStream(seed: number, stream: number): Random {
  return createRandom(mix32(mix32(seed) ^ Math.imul(stream + 1, 0x9e3779b1)));
}

/** Standard normal draws (Box–Muller). */
export function gaussian(random: Random): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
