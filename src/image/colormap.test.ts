import assert from "node:assert/strict";
import { test } from "node:test";
import { applyColormap, applySignedColormap, COLORMAP_NAMES, colormapTable } from "./colormap.ts";
import type { ColormapName } from "./colormap.ts";

function color(name: ColormapName, t: number): number[] {
  return [...applyColormap([t], name)];
}

function assertNear(actual: number[], hex: string, tolerance: number, what: string): void {
  const n = Number.parseInt(hex.slice(1), 16);
  const expected = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  const diff = Math.max(...actual.map((v, i) => Math.abs(v - expected[i]!)));
  assert.ok(diff <= tolerance, `${what}: got [${actual}], expected ${hex} (±${tolerance})`);
}

test("end colours match the published colormaps", () => {
  assertNear(color("viridis", 0), "#440154", 1, "viridis(0)");
  assertNear(color("viridis", 1), "#fde725", 1, "viridis(1)");
  assertNear(color("inferno", 0), "#000004", 1, "inferno(0)");
  assertNear(color("inferno", 1), "#fcffa4", 1, "inferno(1)");
  assertNear(color("turbo", 0), "#30123b", 1, "turbo(0)");
  assertNear(color("turbo", 1), "#7a0403", 1, "turbo(1)");
  assertNear(color("jet", 0), "#000080", 1, "jet(0) dark blue");
  assertNear(color("jet", 1), "#800000", 1, "jet(1) dark red");
  assertNear(color("gray", 0), "#000000", 0, "gray(0)");
  assertNear(color("gray", 1), "#ffffff", 0, "gray(1)");
  assertNear(color("coolwarm", 0), "#3b4cc0", 1, "coolwarm(0)");
  assertNear(color("coolwarm", 1), "#b40426", 1, "coolwarm(1)");
  assertNear(color("bwr", 0), "#0000ff", 0, "bwr(0)");
  assertNear(color("bwr", 1), "#ff0000", 0, "bwr(1)");
});

test("interior colours stay close to the published colormaps", () => {
  assertNear(color("viridis", 0.5), "#21918c", 4, "viridis(0.5)");
  assertNear(color("viridis", 0.25), "#3b528b", 4, "viridis(0.25)");
  assertNear(color("inferno", 0.5), "#bc3754", 4, "inferno(0.5)");
  assertNear(color("jet", 0.5), "#80ff80", 3, "jet(0.5) green");
  // Moreland's diverging map peaks at a light grey of Msh magnitude 88.
  assertNear(color("coolwarm", 0.5), "#dddddd", 3, "coolwarm(0.5)");
});

test("turbo runs blue, cyan, green, yellow, red", () => {
  const [r25, g25, b25] = color("turbo", 0.25);
  assert.ok(b25! > 200 && g25! > 150 && r25! < 80, `turbo(0.25) = ${[r25, g25, b25]}`);
  const [r50, g50, b50] = color("turbo", 0.5);
  assert.ok(g50! > 230 && r50! > 120 && b50! < 100, `turbo(0.5) = ${[r50, g50, b50]}`);
  const [r75, g75, b75] = color("turbo", 0.75);
  assert.ok(
    r75! > 230 && g75! > 100 && g75! < 160 && b75! < 60,
    `turbo(0.75) = ${[r75, g75, b75]}`,
  );
});

test("sequential maps get lighter from 0 to 1", () => {
  const luma = ([r, g, b]: number[]): number => 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  for (const name of ["viridis", "inferno", "gray"] as const) {
    const table = colormapTable(name);
    for (let i = 8; i < 256; i += 8) {
      const prev = luma([...table.subarray((i - 8) * 3, (i - 8) * 3 + 3)]);
      assert.ok(luma([...table.subarray(i * 3, i * 3 + 3)]) > prev, `${name} at ${i}`);
    }
  }
});

test("values pick one of 256 colours (floor(v * 256)), clamped, NaN gets nanColor", () => {
  const table = colormapTable("viridis");
  assert.deepEqual(color("viridis", 0.5), [...table.subarray(128 * 3, 129 * 3)]);
  assert.deepEqual(color("viridis", 0.499), [...table.subarray(127 * 3, 128 * 3)]);
  assert.deepEqual(color("viridis", -3), color("viridis", 0));
  assert.deepEqual(color("viridis", 7), color("viridis", 1));
  assert.deepEqual([...applyColormap([NaN], "jet")], [0, 0, 0]);
  assert.deepEqual([...applyColormap([NaN], "jet", { nanColor: [1, 2, 3] })], [1, 2, 3]);
  assert.equal(applyColormap(new Float32Array(5), "gray").length, 15);
});

test("every colormap is a full, valid table", () => {
  for (const name of COLORMAP_NAMES) assert.equal(colormapTable(name).length, 768);
});

test("an unknown colormap name lists the valid ones", () => {
  assert.throws(
    () => applyColormap([0.5], "rainbow" as ColormapName),
    /Unknown colormap "rainbow" \(valid: jet, turbo, viridis, inferno, gray, coolwarm, bwr\)/,
  );
});

test("signed values map 0 to the middle and ±maxAbs to the ends", () => {
  const out = applySignedColormap([-2, 0, 2, 1], "bwr");
  assert.deepEqual([...out.subarray(0, 3)], color("bwr", 0));
  assert.deepEqual([...out.subarray(3, 6)], color("bwr", 0.5));
  assert.deepEqual([...out.subarray(6, 9)], color("bwr", 1));
  assert.deepEqual([...out.subarray(9, 12)], color("bwr", 0.75));
  const fixed = applySignedColormap([1], "coolwarm", { maxAbs: 4 });
  assert.deepEqual([...fixed], color("coolwarm", 0.625));
  assert.deepEqual([...applySignedColormap([0, 0])].slice(0, 3), color("coolwarm", 0.5));
  assert.throws(() => applySignedColormap([1], "bwr", { maxAbs: 0 }), /maxAbs must be a positive/);
});
