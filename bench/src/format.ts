/** How the bench prints its figures. */
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
export const mark = (ok: boolean): string => (ok ? "✓" : "✗ MISSED");
export const count = (value: number): string => Math.round(value).toLocaleString("en-US");
export const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
