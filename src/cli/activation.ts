// `camscope activation`: a layer's channel-mean activation, coloured over the image. It needs no
// gradients or class, so it is the quickest look at where a layer responds.
import { Option, type Command } from "commander";
import { channelsFirst } from "../runtime/layer-view.ts";
import { CamscopeError } from "../errors.ts";
import { COLORMAP_NAMES, type ColormapName } from "../image/colormap.ts";
import { decodeImage } from "../io/images.ts";
import { overlayOnOriginal } from "../image/overlay.ts";
import { writePng } from "../io/png.ts";
import { preprocess } from "../image/preprocess.ts";
import { resizeMap } from "../image/resize.ts";
import type { FloatMap } from "../image/types.ts";
import type { LayerInfo } from "../onnx/layers.ts";
import type { FloatTensor } from "../tensor/tensor.ts";
import { checkFiniteRows } from "../util/finite.ts";
import { prepareOutputFile } from "../util/files.ts";
import type { Io } from "./io.ts";
import { addModelOptions, openFromOptions, unitInterval, type ModelOptions } from "./options.ts";

export interface ActivationOptions extends ModelOptions {
  layer: string;
  out: string;
  colormap: ColormapName;
  alpha: number;
}

export function registerActivation(program: Command, io: Io): void {
  addModelOptions(
    program
      .command("activation")
      .description("overlay a layer's channel-mean activation on an image, as a PNG")
      .argument("<image>", "PNG, JPEG or WebP file"),
  )
    .option("-l, --layer <name>", 'layer value name (see `camscope layers`), or "auto"', "auto")
    .requiredOption("-o, --out <file>", "PNG file to write")
    .addOption(
      new Option("--colormap <name>", "heatmap colormap").choices(COLORMAP_NAMES).default("jet"),
    )
    .option("--alpha <a>", "heatmap opacity, 0 to 1", unitInterval, 0.5)
    .action(async (image: string, options: ActivationOptions) => {
      const layer = await writeActivationOverlay(image, options);
      io.out.write(
        `${options.out}: channel mean of ${layer.name} (${layer.op}, ${layer.dims.join("x")})\n`,
      );
    });
}

/** Writes the overlay to `options.out` and returns the layer it shows. */
export async function writeActivationOverlay(
  image: string,
  options: ActivationOptions,
): Promise<LayerInfo> {
  const { engine, ctx } = await openFromOptions(options);
  try {
    const layer = await ctx.layer(options.layer);
    await prepareOutputFile(options.out);
    const rgb = await decodeImage(image, undefined, ctx.card.preprocessing);
    const { tensor, dims, transforms } = preprocess([rgb], ctx.card.preprocessing);
    const { activations } = await ctx.forward({ data: tensor, dims }, { layers: [layer.name] });
    const transform = transforms[0]!;
    const view = channelsFirst(layer, activations.get(layer.name)!);
    const mean = channelMean(view);
    checkFiniteRows(mean.data, 1, `the activations of layer "${layer.name}" on "${image}"`);
    const atInput = resizeMap(mean, transform.inputWidth, transform.inputHeight);
    await writePng(
      options.out,
      overlayOnOriginal(rgb, atInput, transform, {
        colormap: options.colormap,
        alpha: options.alpha,
      }),
    );
    return layer;
  } finally {
    await engine.dispose();
  }
}

/** The mean over channels of the first sample of an NCHW activation. */
export function channelMean(activation: FloatTensor): FloatMap {
  const [, channels, height, width] = activation.dims;
  if (activation.dims.length !== 4 || !channels || !height || !width) {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Expected an NCHW activation, got dims [${activation.dims.join(", ")}]`,
    );
  }
  const data = activation.data;
  const plane = height * width;
  const out = new Float32Array(plane);
  for (let c = 0; c < channels; c++) {
    const offset = c * plane;
    for (let i = 0; i < plane; i++) out[i] = out[i]! + data[offset + i]!;
  }
  for (let i = 0; i < plane; i++) out[i] = out[i]! / channels;
  return { width, height, data: out };
}
