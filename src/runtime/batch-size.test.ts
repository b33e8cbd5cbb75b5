// The default batch size: the forward values' bytes per input from the probed shapes, the rule
// (largest chunk within the memory budget, at least 1, at most the cap; a given size wins), and the
// runtime's plan on models of different sizes.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { Engine } from "../engine/engine.ts";
import { CamscopeError } from "../errors.ts";
import { openModel } from "../io/models.ts";
import { tinyClassifier } from "../models/testing/tiny-classifier.ts";
import { ValueShapes } from "../onnx/value-shapes.ts";
import {
  activationBytesPerInput,
  DEFAULT_BATCH_MEMORY_MIB,
  GRADIENT_MEMORY_FACTOR,
  MAX_DEFAULT_BATCH,
  planBatch,
} from "./batch-size.ts";
import { ModelRuntime } from "./runtime.ts";

const MIB = 1024 * 1024;
const engine = new Engine({ threads: 1 });
after(() => engine.dispose());

describe("activationBytesPerInput", () => {
  test("counts the values that grow with the batch, 4 bytes each", () => {
    const shapes = new ValueShapes([
      ["input", [1, 3, 8, 8]],
      ["conv", [1, 4, 8, 8]],
      ["reshaped-weight", [16, 27]],
    ]);
    shapes.batchAxes.set("input", [0]);
    shapes.batchAxes.set("conv", [0]);
    shapes.batchAxes.set("reshaped-weight", []);
    assert.equal(activationBytesPerInput(shapes), 4 * (3 * 64 + 4 * 64));
  });

  test("counts every value when the probe could not tell the batch axes", () => {
    const shapes = new ValueShapes([
      ["input", [1, 3, 8, 8]],
      ["conv", [1, 4, 8, 8]],
    ]);
    assert.equal(activationBytesPerInput(shapes), 4 * 7 * 64);
  });
});

describe("planBatch", () => {
  test("the largest chunk within the budget, at least 1, at most the cap", () => {
    const perInput = (mib: number) => (mib * MIB) / GRADIENT_MEMORY_FACTOR;
    const budget = DEFAULT_BATCH_MEMORY_MIB;
    assert.equal(planBatch(perInput(budget / 3)).size, 3);
    assert.equal(planBatch(perInput(budget / 3 + 1)).size, 2);
    assert.equal(planBatch(perInput(budget * 3)).size, 1);
    assert.equal(planBatch(perInput(0.01)).size, MAX_DEFAULT_BATCH);
    assert.equal(planBatch(0).size, MAX_DEFAULT_BATCH);
    const plan = planBatch(perInput(40), { memoryBudgetMiB: 100 });
    assert.deepEqual(plan, { size: 2, memoryMiB: 80, perInputMiB: 40, automatic: true });
    // Sizes never grow with the bytes per input, and fit the budget unless 1.
    let last = Infinity;
    for (let mib = 0.5; mib < 2 * budget; mib *= 1.3) {
      const { size, memoryMiB } = planBatch(perInput(mib));
      assert.ok(size <= last && size >= 1 && size <= MAX_DEFAULT_BATCH, `${mib}: ${size}`);
      assert.ok(size === 1 || memoryMiB <= budget, `${mib}: ${memoryMiB} MiB`);
      last = size;
    }
  });

  test("a given batch size wins, whatever the budget", () => {
    const plan = planBatch(100 * MIB, { batchSize: 48, memoryBudgetMiB: 1 });
    assert.deepEqual(plan, {
      size: 48,
      memoryMiB: 48 * 100 * GRADIENT_MEMORY_FACTOR,
      perInputMiB: 100 * GRADIENT_MEMORY_FACTOR,
      automatic: false,
    });
  });

  test("a budget or batch size out of range is a CamscopeError naming it", () => {
    for (const [options, pattern] of [
      [{ memoryBudgetMiB: 0 }, /^memoryBudgetMiB must be a number above 0 and at most 1048576/],
      [{ memoryBudgetMiB: Number.NaN }, /^memoryBudgetMiB must be a number above 0/],
      [{ batchSize: 0 }, /^batchSize must be an integer, at least 1, got 0$/],
      [{ batchSize: 2.5 }, /^batchSize must be an integer, at least 1, got 2.5$/],
    ] as const) {
      assert.throws(
        () => planBatch(MIB, options),
        (e: unknown) => e instanceof CamscopeError && pattern.test(e.message),
      );
    }
  });
});

describe("ModelRuntime.batchPlan", () => {
  test("a bundled model gets a larger chunk than a model with ResNet-18-sized activations", async () => {
    const budget = { memoryBudgetMiB: 128 };
    const bundled = await (await openModel("synth-resnet", engine)).batchPlan(budget);
    // 1024 x 1024 input, 4 conv channels: 12 + 16 + 16 MiB of forward values per input, about
    // twice ResNet-18's 22.5 MiB at 224 x 224.
    const big = new ModelRuntime(
      {
        model: tinyClassifier({ classes: 3, size: [1024, 1024] }),
        card: {
          name: "big",
          labels: [],
          preprocessing: { size: [1024, 1024], resize: "stretch" },
        },
        bundled: false,
      },
      engine,
    );
    const plan = await big.batchPlan(budget);
    assert.ok(
      Math.abs(plan.perInputMiB / GRADIENT_MEMORY_FACTOR - 44) < 0.1,
      `${plan.perInputMiB}`,
    );
    assert.equal(plan.size, Math.floor(128 / plan.perInputMiB));
    assert.ok(plan.size >= 1 && plan.size < bundled.size, `${plan.size} vs ${bundled.size}`);
    assert.equal(bundled.size, MAX_DEFAULT_BATCH);
    assert.ok(bundled.automatic && plan.automatic);
    assert.equal((await big.batchPlan({ memoryBudgetMiB: 1 })).size, 1);
    assert.equal((await big.batchPlan({ batchSize: 64 })).size, 64);
    assert.equal((await big.batchPlan()).size, MAX_DEFAULT_BATCH);
  });
});
