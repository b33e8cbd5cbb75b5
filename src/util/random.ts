// The project's seeded pseudo-random numbers (SmoothGrad noise, RISE masks, k-means seeding, the
// synthetic dataset). Generator: sfc32 (Chris Doty-Humphrey's "small fast counting" generator,
// 128-bit state, 32-bit output), its four state words filled by splitmix32 from a 32-bit seed.
// Everything is 32-bit integer arithmetic (Math.imul, >>>), so a seed gives the same uint32
// sequence on every JavaScript engine and platform; next(), int(), range(), pick() and shuffle()
// then use only exactly rounded double operations and are just as portable. normal() alone calls
// Math.log / Math.cos, which V8 implements with its own fdlibm port (identical across platforms
// in Node), but which the ECMAScript specification does not pin down across engines.
import { CamscopeError } from "../errors.ts";

/** A seeded stream of pseudo-random numbers. Not for cryptography. */
export interface Rng {
  /** Uniform 32-bit unsigned integer. */
  uint32(): number;
  /** Uniform in [0, 1), in steps of 2^-32. */
  next(): number;
  /** Uniform integer in [lo, hiExclusive); both integers, hiExclusive > lo. */
  int(lo: number, hiExclusive: number): number;
  /** Uniform real in [lo, hi). */
  range(lo: number, hi: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** Standard normal (mean 0, standard deviation 1), by the Box-Muller transform. */
  normal(): number;
  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** Fisher-Yates shuffle of `items` in place; returns `items`. */
  shuffle<T>(items: T[]): T[];
}

const TWO_POW_32 = 4294967296;
const GOLDEN_GAMMA = 0x9e3779b9;

/** A 32-bit avalanche mix (the splitmix32 / "lowbias32" finaliser). */
function mix32(value: number): number {
  let z = value >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

/** FNV-1a over the UTF-16 code units of `text`, so that names can take part in seeds. */
function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  }
  return hash >>> 0;
}

function checkSeed(seed: number, what: string): void {
  if (!Number.isSafeInteger(seed)) {
    throw new CamscopeError("INVALID_ARGUMENT", `${what} must be a safe integer, got ${seed}`);
  }
}

/**
 * A seed for an independent child stream, from a parent seed and a path of integers or names
 * (e.g. `deriveSeed(seed, "train", index)`). Different paths give unrelated streams; the same
 * path always gives the same seed. Integers beyond 32 bits contribute both 32-bit halves.
 */
export function deriveSeed(seed: number, ...path: readonly (number | string)[]): number {
  checkSeed(seed, "seed");
  let hash = mix32(seed ^ mix32(Math.floor(seed / TWO_POW_32)));
  for (const part of path) {
    let word: number;
    if (typeof part === "string") {
      word = hashString(part);
    } else {
      checkSeed(part, "deriveSeed path element");
      word = mix32(part) ^ Math.imul(mix32(Math.floor(part / TWO_POW_32)), 0x85ebca6b);
    }
    // Mixing the running hash with a constant first keeps the path order significant.
    hash = mix32((mix32(hash + GOLDEN_GAMMA) ^ word) >>> 0);
  }
  return hash;
}

/** A generator seeded by a safe integer; seeds equal modulo 2^32 give the same stream. */
export function createRng(seed: number): Rng {
  checkSeed(seed, "seed");
  let sm = seed >>> 0;
  const splitmix32 = (): number => {
    sm = (sm + GOLDEN_GAMMA) >>> 0;
    return mix32(sm);
  };
  let a = splitmix32();
  let b = splitmix32();
  let c = splitmix32();
  let d = splitmix32();

  const uint32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  // The customary warm-up, so that nearby seeds have decorrelated first outputs.
  for (let i = 0; i < 12; i++) uint32();

  const next = (): number => uint32() / TWO_POW_32;
  // Box-Muller yields normals in pairs; the second one is kept for the next call.
  let spareNormal: number | undefined;

  return {
    uint32,
    next,
    int(lo, hiExclusive) {
      if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hiExclusive) || hiExclusive <= lo) {
        throw new CamscopeError(
          "INVALID_ARGUMENT",
          `int(${lo}, ${hiExclusive}): need integers with lo < hiExclusive`,
        );
      }
      // Multiply-and-floor: bias at most (hi - lo) / 2^32, irrelevant for the ranges used here.
      return lo + Math.floor(next() * (hiExclusive - lo));
    },
    range(lo, hi) {
      return lo + next() * (hi - lo);
    },
    chance(p) {
      return next() < p;
    },
    normal() {
      if (spareNormal !== undefined) {
        const value = spareNormal;
        spareNormal = undefined;
        return value;
      }
      const radius = Math.sqrt(-2 * Math.log(1 - next())); // 1 - next() is in (0, 1]: no log(0)
      const angle = 2 * Math.PI * next();
      spareNormal = radius * Math.sin(angle);
      return radius * Math.cos(angle);
    },
    pick<T>(items: readonly T[]): T {
      if (items.length === 0)
        throw new CamscopeError("INVALID_ARGUMENT", "pick() from an empty array");
      return items[Math.floor(next() * items.length)]!;
    },
    shuffle<T>(items: T[]): T[] {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        const held = items[i]!;
        items[i] = items[j]!;
        items[j] = held;
      }
      return items;
    },
  };
}
