// Element-wise closeness for CAM tests, naming the first element out of tolerance.
import assert from "node:assert/strict";

export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
): void {
  assert.equal(actual.length, expected.length);
  for (let j = 0; j < actual.length; j++) {
    assert.ok(
      Math.abs(actual[j]! - expected[j]!) <= tolerance,
      `element ${j}: ${actual[j]} vs ${expected[j]}`,
    );
  }
}
