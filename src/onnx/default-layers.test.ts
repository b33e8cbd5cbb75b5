// The default CAM layer on every torchvision classification family (the reduced zoo members, as
// exported at opsets 13 and 17), next to the layer pytorch-grad-cam's README recommends. The zoo
// exports mark that module's output under the ONNX name "pgc_layer" (make_zoo.py); camscope must
// choose exactly it. Where the two are not literally the same tensor, the note says why camscope's
// choice is the right reading of the recommendation.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Engine } from "../engine/engine.ts";
import { openModel } from "../io/models.ts";

const ZOO = join(dirname(fileURLToPath(import.meta.url)), "..", "models", "zoo");

/** member, pytorch-grad-cam's recommendation (torchvision names), camscope's default, why. */
const TABLE: readonly [string, string, string, string][] = [
  ["resnet18", "model.layer4[-1]", "layer4[-1] output", "README: Resnet18 and 50"],
  ["resnext", "model.layer4[-1]", "layer4[-1] output", "ResNet rule"],
  ["wide_resnet", "model.layer4[-1]", "layer4[-1] output", "ResNet rule"],
  [
    "vgg11_bn",
    "model.features[-1]",
    "features[-1] output (the last MaxPool)",
    "README: VGG. The Flatten reads the adaptive AveragePool's output, which only resamples features[-1]; camscope steps back over it",
  ],
  [
    "densenet",
    "model.features[-1]",
    "ReLU of features[-1] (norm5)",
    "README: densenet161. torchvision applies F.relu to features[-1] before pooling; camscope takes the map the pooling reads, which differs only where norm5 < 0 (no gradient flows there)",
  ],
  [
    "squeezenet1_1",
    "model.features[-1]",
    "features[-1] output (the last Fire)",
    "No README entry. The pooling reads the 1x1 class-score conv's map (one channel per class); camscope steps back to the features it is computed from",
  ],
  ["mobilenet_v2", "model.features[-1]", "features[-1] output", "last convolutional block"],
  ["mobilenet_v3_small", "model.features[-1]", "features[-1] output", "last convolutional block"],
  ["mobilenet_v3_large", "model.features[-1]", "features[-1] output", "last convolutional block"],
  ["efficientnet_b0", "model.features[-1]", "features[-1] output", "last convolutional block"],
  ["regnet_x", "model.trunk_output[-1]", "trunk_output[-1] output", "last block"],
  ["regnet_y", "model.trunk_output[-1]", "trunk_output[-1] output", "last block (not an SE pool)"],
  ["shufflenet_v2", "model.conv5", "conv5 output", "last convolution before the mean"],
  ["mnasnet", "model.layers[-1]", "layers[-1] output", "README: mnasnet1_0"],
  ["googlenet", "model.inception5b", "inception5b output", "last inception block"],
  ["inception_v3", "model.Mixed_7c", "Mixed_7c output", "last inception block"],
  [
    "convnext_tiny",
    "model.features[-1]",
    "features[-1] output",
    "last stage; never the 1x1 channels-last values of the head's LayerNorm2d",
  ],
  [
    "vit_b_16",
    "model.encoder.layers[-1].ln_1",
    "encoder.layers[-1].ln_1 output, tokens on the 4x6 patch grid",
    "README: ViT, model.blocks[-1].norm1 in timm's names: after the last attention, patch tokens no longer reach the class token",
  ],
  [
    "swin_t",
    "model.features[-1][-1].norm1",
    "features[-1][-1].norm1 output, channels-last grid",
    "README: SwinT, model.layers[-1].blocks[-1].norm1 in timm's names",
  ],
];

const engine = new Engine();
after(() => engine.dispose());

test("the table covers every zoo member that has op13 and op17 exports", () => {
  const members = readFileSync(join(ZOO, "README.md"), "utf8").match(/^\| `([a-z0-9_]+)` \|/gm)!;
  const names = members.map((m) => m.slice(3, -3)).filter((m) => m !== "squeeze1000");
  assert.deepEqual([...names].sort(), TABLE.map((r) => r[0]).sort());
});

for (const [member, recommended, chosen, why] of TABLE) {
  for (const variant of ["op13", "op17"]) {
    test(`${member} ${variant}: default ${chosen}; pytorch-grad-cam: ${recommended} (${why})`, async () => {
      const ctx = await openModel(join(ZOO, `${member}--${variant}.onnx`), engine);
      const layer = await ctx.defaultLayer();
      assert.equal(layer.name, "pgc_layer", `${member}: chose ${layer.name} (${layer.op})`);
    });
  }
}
