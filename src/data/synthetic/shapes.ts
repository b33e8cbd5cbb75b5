// The object classes of the synthetic dataset. The class of an object is its outline alone:
// colour, texture, size, rotation and position are drawn independently of it. Each shape is an
// inside test in a unit frame (x right, y down, centred on the shape) whose shape fits the unit
// circle, so that a shape drawn with radius r at any rotation stays within r of its centre.
import { insidePolygon, radialPolygon } from "./geometry.ts";
import type { Point } from "./geometry.ts";

export interface ShapeClass {
  readonly name: string;
  /** Whether the unit-frame point (x, y) belongs to the shape; x² + y² > 1 is never inside. */
  inside(x: number, y: number): boolean;
}

const triangle = radialPolygon([1, 1, 1]);
const hexagon = radialPolygon([1, 1, 1, 1, 1, 1]);
const star = radialPolygon([1, 0.42, 1, 0.42, 1, 0.42, 1, 0.42, 1, 0.42]);
const arrow: Point[] = [
  [-0.95, -0.18],
  [0.12, -0.18],
  [0.12, -0.55],
  [0.95, 0],
  [0.12, 0.55],
  [0.12, 0.18],
  [-0.95, 0.18],
];
const SQUARE_HALF = Math.SQRT1_2;
const CROSS_ARM = 0.95;
const CROSS_HALF_WIDTH = 0.3;
const RING_INNER_SQUARED = 0.55 * 0.55;
// The crescent is the unit disc minus a disc of this radius shifted right by this offset.
const CRESCENT_BITE_RADIUS_SQUARED = 0.8 * 0.8;
const CRESCENT_BITE_OFFSET = 0.45;
// The heart curve (x² + y² - 1)³ ≤ x²y³ (lobes up) spans x in ±1.14 and y in [-1, 1.24]; its
// smallest enclosing circle, centred at y = 0.25, has radius 1.25, hence this scale and shift.
const HEART_SCALE = 1.26;
const HEART_SHIFT = 0.25;

/** The classes in label order: the category of an object is its index here. */
export const SHAPE_CLASSES: readonly ShapeClass[] = [
  { name: "circle", inside: (x, y) => x * x + y * y <= 1 },
  { name: "square", inside: (x, y) => Math.abs(x) <= SQUARE_HALF && Math.abs(y) <= SQUARE_HALF },
  { name: "triangle", inside: (x, y) => insidePolygon(x, y, triangle) },
  { name: "star", inside: (x, y) => insidePolygon(x, y, star) },
  {
    name: "cross",
    inside: (x, y) => {
      const ax = Math.abs(x);
      const ay = Math.abs(y);
      return (
        (ax <= CROSS_HALF_WIDTH && ay <= CROSS_ARM) || (ay <= CROSS_HALF_WIDTH && ax <= CROSS_ARM)
      );
    },
  },
  {
    name: "ring",
    inside: (x, y) => {
      const r2 = x * x + y * y;
      return r2 <= 1 && r2 >= RING_INNER_SQUARED;
    },
  },
  { name: "hexagon", inside: (x, y) => insidePolygon(x, y, hexagon) },
  {
    name: "heart",
    inside: (x, y) => {
      const hx = x * HEART_SCALE;
      const hy = HEART_SHIFT - y * HEART_SCALE;
      const a = hx * hx + hy * hy - 1;
      return a * a * a <= hx * hx * hy * hy * hy;
    },
  },
  {
    name: "crescent",
    inside: (x, y) => {
      const bx = x - CRESCENT_BITE_OFFSET;
      return x * x + y * y <= 1 && bx * bx + y * y > CRESCENT_BITE_RADIUS_SQUARED;
    },
  },
  { name: "arrow", inside: (x, y) => insidePolygon(x, y, arrow) },
];
