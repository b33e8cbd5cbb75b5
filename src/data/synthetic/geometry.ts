// Geometry for the synthetic dataset in plain double arithmetic only (+, -, *, /, Math.round,
// Math.floor), whose results the ECMAScript specification fixes exactly. Math.sin / Math.cos are
// not pinned down across engines, and one ulp in a vertex can flip a pixel of a mask, so the
// dataset computes its own sine and cosine.

export type Point = readonly [x: number, y: number];

const HALF_PI = Math.PI / 2;

/** [sin(angle), cos(angle)] to about 1e-11, from Taylor polynomials on [-π/4, π/4]. */
export function sinCos(angle: number): [sin: number, cos: number] {
  const quadrant = Math.round(angle / HALF_PI);
  const r = angle - quadrant * HALF_PI;
  const r2 = r * r;
  const s =
    r * (1 + r2 * (-1 / 6 + r2 * (1 / 120 + r2 * (-1 / 5040 + r2 * (1 / 362880 - r2 / 39916800)))));
  const c =
    1 +
    r2 *
      (-1 / 2 +
        r2 * (1 / 24 + r2 * (-1 / 720 + r2 * (1 / 40320 + r2 * (-1 / 3628800 + r2 / 479001600)))));
  switch (((quadrant % 4) + 4) % 4) {
    case 0:
      return [s, c];
    case 1:
      return [c, -s];
    case 2:
      return [-s, -c];
    default:
      return [-c, s];
  }
}

/** Vertices at radii[k] and angle start + k·2π/n, for n = radii.length. */
export function radialPolygon(radii: readonly number[], start = -HALF_PI): Point[] {
  return radii.map((radius, k) => {
    const [sin, cos] = sinCos(start + (2 * Math.PI * k) / radii.length);
    return [radius * cos, radius * sin] as const;
  });
}

/** Even-odd point-in-polygon test (crossing number); handles non-convex polygons. */
export function insidePolygon(x: number, y: number, polygon: readonly Point[]): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i]!;
    const [xj, yj] = polygon[j]!;
    if (yi > y !== yj > y && x < xj + ((y - yj) * (xi - xj)) / (yi - yj)) inside = !inside;
  }
  return inside;
}

/** Squared distance from (x, y) to the segment from a to b. */
export function segmentDistanceSquared(x: number, y: number, a: Point, b: Point): number {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const lengthSquared = dx * dx + dy * dy;
  let t = lengthSquared === 0 ? 0 : ((x - a[0]) * dx + (y - a[1]) * dy) / lengthSquared;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  const ex = x - (a[0] + t * dx);
  const ey = y - (a[1] + t * dy);
  return ex * ex + ey * ey;
}
