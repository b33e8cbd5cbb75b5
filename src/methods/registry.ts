// The one method vocabulary: every explanation method camscope has, by name, with what a caller
// needs to know without running it: its family and level, its options (declared once in the
// family's module), its cost in passes per target, whether its map is signed, whether it applies
// to a layer, and which smoothing wrappers admit it. The CLI builds its flags from it, the
// library validates with it, the explain service groups work by family with it, and evaluation
// runs record its resolved options.
import {
  deconvnetMethod,
  gradient,
  gradientXInput,
  guidedBackpropMethod,
  guidedGradCam,
  saliency,
} from "../attribution/methods/gradient.ts";
import {
  IG_OPTIONS,
  integratedGradients,
  type IntegratedGradientsOptions,
} from "../attribution/methods/integrated-gradients.ts";
import {
  occlusion,
  OCCLUSION_OPTIONS,
  windowStarts,
  type OcclusionOptions,
} from "../attribution/methods/occlusion.ts";
import { rise, RISE_OPTIONS, type RiseOptions } from "../attribution/methods/rise.ts";
import {
  smoothGrad,
  smoothGradSquared,
  SMOOTHGRAD_OPTIONS,
  varGrad,
  type SmoothGradOptions,
} from "../attribution/methods/smoothgrad.ts";
import type { AttributionMethod } from "../attribution/method.ts";
import type { CamMethod } from "../cam/method.ts";
import { ablationCam } from "../cam/methods/ablation-cam.ts";
import { camMethod, linearHeadWeights } from "../cam/methods/cam.ts";
import {
  clusterCam,
  CLUSTERCAM_OPTIONS,
  type ClusterCamOptions,
} from "../cam/methods/cluster-cam.ts";
import { eigenCam, eigenGradCam } from "../cam/methods/eigen-cam.ts";
import { gradCamElementWise, hiResCam, layerCam } from "../cam/methods/element-wise.ts";
import { gradCamPlusPlus } from "../cam/methods/grad-cam-plus-plus.ts";
import { gradCam } from "../cam/methods/grad-cam.ts";
import {
  relevanceCam,
  RELEVANCECAM_OPTIONS,
  type RelevanceCamOptions,
} from "../cam/methods/relevance-cam.ts";
import {
  isCam,
  ISCAM_OPTIONS,
  scoreCam,
  ssCam,
  SSCAM_OPTIONS,
  type IsCamOptions,
  type SsCamOptions,
} from "../cam/methods/score-cam.ts";
import { xgradCam } from "../cam/methods/xgrad-cam.ts";
import { admitsEigenSmooth } from "../cam/pipeline.ts";
import { CamscopeError } from "../errors.ts";
import { lrp, LRP_OPTIONS, type LrpMethod, type LrpOptions } from "../lrp/method.ts";
import type { LayerInfo } from "../onnx/layers.ts";
import type { OnnxModel } from "../onnx/model.ts";
import { resolveOptions, type OptionSpec } from "../util/options.ts";
import { checkNames, describe } from "../util/validate.ts";

/** The method families, each with its own pipeline (src/cam, src/attribution, src/lrp). */
export type MethodFamily = "cam" | "attribution" | "lrp";

/** Where a method's map lives: at a layer (upsampled to the input), or at the input pixels. */
export type MethodLevel = "layer" | "input";

/** Resolved option values of one method, by option name. */
export type MethodOptions = Readonly<Record<string, unknown>>;

/**
 * Passes through the model per target: `forward` counts runs of a forward graph, `backward` runs of
 * a compiled gradient or relevance graph (each of which also computes the forward pass).
 */
export interface PassCount {
  /** Forward-only runs per target. */
  forward: number;
  /** Gradient or relevance runs per target. */
  backward: number;
  /** The counts are an upper bound (Cluster-CAM drops empty clusters). */
  atMost?: boolean;
}

/** What a method's cost depends on besides its options. */
export interface CostShape {
  /** The layers a layer-level method explains. */
  layers: readonly LayerInfo[];
  /** The model input's dims, [1, C, H, W]. */
  input: readonly number[];
}

/** Which smoothing wrappers of the explain service admit a method. */
export interface SmoothingAdmission {
  /** Test-time augmentation (flips and intensity changes, maps flipped back and averaged). */
  augmentation: boolean;
  /** The first principal component instead of the channel sum (CAM methods that sum channels). */
  eigen: boolean;
  /** The mean over noisy copies of the input (SmoothGrad-style, for any method). */
  noise: boolean;
}

/** A method instance for its family's pipeline. */
export type FamilyMethod =
  | {
      /** The family whose pipeline runs the method. */
      family: "cam";
      /** The method as that family's pipeline takes it. */
      method: CamMethod;
    }
  | {
      /** The family whose pipeline runs the method. */
      family: "attribution";
      /** The method as that family's pipeline takes it. */
      method: AttributionMethod;
    }
  | {
      /** The family whose pipeline runs the method. */
      family: "lrp";
      /** The method as that family's pipeline takes it. */
      method: LrpMethod;
    };

/** One method of the vocabulary. */
export interface MethodDescriptor {
  /** Its name, e.g. "gradcam". */
  readonly name: string;
  /** Its display name, e.g. "Grad-CAM". */
  readonly title: string;
  /** The family whose pipeline runs it. */
  readonly family: MethodFamily;
  /** Where its map lives. */
  readonly level: MethodLevel;
  /** Whether its final map takes both signs (in [-1, 1]; otherwise in [0, 1]). */
  readonly signed: boolean;
  /** Its options, declared once (validation, CLI flags, run configurations). */
  readonly options: readonly OptionSpec[];
  /** The smoothing wrappers that admit it. */
  readonly smoothing: SmoothingAdmission;
  /**
   * Passes per target when it runs alone in one explain call whose targets are picked by a
   * forward pass of their own (top-k), that pass included; smoothing multiplies them by its
   * variants. With top-1 or given classes, methods whose first run is a compiled graph on the
   * clean input (the gradient and relevance ones, not SmoothGrad or IG) let that run pick the
   * targets: one forward pass fewer.
   */
  cost(options: MethodOptions, shape: CostShape): PassCount;
  /** Why it cannot explain `layer` (CAM needs a pooling + linear head), or undefined. */
  notApplicable?(model: OnnxModel, layer: LayerInfo): string | undefined;
  /** The family's instance with these (resolved) options. */
  create(options: MethodOptions, model: OnnxModel): FamilyMethod;
}

/** A method with its options resolved (defaults filled in, values checked). */
export interface MethodChoice {
  /** The method. */
  method: MethodDescriptor;
  /** Its options, every declared one present. */
  options: MethodOptions;
}

/** Sum over layers of a per-layer count of a layer of K channels. */
const perLayer = (shape: CostShape, f: (channels: number) => number): number =>
  shape.layers.reduce((sum, layer) => sum + f(layer.dims[1]!), 0);

const ALL_SMOOTHING: SmoothingAdmission = { augmentation: true, eigen: true, noise: true };
const NO_EIGEN: SmoothingAdmission = { augmentation: true, eigen: false, noise: true };

/**
 * A CAM method's entry; its name and title are those of its instance at default options, and it
 * admits eigen smoothing when it sums channels (admitsEigenSmooth).
 */
function camEntry(
  make: (options: MethodOptions) => CamMethod,
  entry: Pick<MethodDescriptor, "cost"> & Partial<Pick<MethodDescriptor, "options">>,
): MethodDescriptor {
  const options = entry.options ?? [];
  const probe = make(resolveOptions("", options));
  return {
    name: probe.name,
    title: probe.title,
    family: "cam",
    level: "layer",
    signed: false,
    options,
    smoothing: admitsEigenSmooth(probe) ? ALL_SMOOTHING : NO_EIGEN,
    cost: entry.cost,
    create: (o) => ({ family: "cam", method: make(o) }),
  };
}

/** A pixel-attribution method's entry, named and titled by its instance at default options. */
function attributionEntry(
  make: (options: MethodOptions) => AttributionMethod,
  entry: Pick<MethodDescriptor, "cost"> & Partial<Pick<MethodDescriptor, "options" | "smoothing">>,
): MethodDescriptor {
  const options = entry.options ?? [];
  const probe = make(resolveOptions("", options));
  return {
    name: probe.name,
    title: probe.title,
    family: "attribution",
    level: "input",
    signed: probe.signed,
    options,
    smoothing: entry.smoothing ?? NO_EIGEN,
    cost: entry.cost,
    create: (o) => ({ family: "attribution", method: make(o) }),
  };
}

/** The target-picking forward pass and one gradient run per target. */
const oneGradientRun = (): PassCount => ({ forward: 1, backward: 1 });
/** The target-picking forward pass, which returns the layer activations too. */
const oneForwardRun = (): PassCount => ({ forward: 1, backward: 0 });
/** That forward pass and `perChannel` scored inputs per channel of each layer. */
const perChannelRuns =
  (perChannel: (options: MethodOptions) => number) =>
  (o: MethodOptions, shape: CostShape): PassCount => ({
    forward: 1 + perLayer(shape, (k) => k * perChannel(o)),
    backward: 0,
  });
/** The SmoothGrad family averages noisy copies already. */
const NOISY: SmoothingAdmission = { augmentation: true, eigen: false, noise: false };

/** Every method, in the order reports list them: CAM methods, then pixel methods. */
export const METHODS: readonly MethodDescriptor[] = [
  {
    // CAM reads the model's head weights, so its instance is built per model.
    name: "cam",
    title: "CAM",
    family: "cam",
    level: "layer",
    signed: false,
    options: [],
    smoothing: ALL_SMOOTHING,
    cost: oneForwardRun,
    notApplicable: (model, layer) => {
      try {
        linearHeadWeights(model, layer.name);
        return undefined;
      } catch (error) {
        return (error as Error).message;
      }
    },
    create: (_o, model) => ({ family: "cam", method: camMethod(model) }),
  },
  camEntry(() => gradCam, { cost: oneGradientRun }),
  camEntry(() => gradCamPlusPlus, { cost: oneGradientRun }),
  camEntry(() => xgradCam, { cost: oneGradientRun }),
  camEntry(() => hiResCam, { cost: oneGradientRun }),
  camEntry(() => gradCamElementWise, { cost: oneGradientRun }),
  camEntry(() => layerCam, { cost: oneGradientRun }),
  camEntry(() => eigenCam, { cost: oneForwardRun }),
  camEntry(() => eigenGradCam, { cost: oneGradientRun }),
  camEntry(() => scoreCam, { cost: perChannelRuns(() => 1) }),
  camEntry((o) => ssCam(o as SsCamOptions), {
    options: SSCAM_OPTIONS,
    cost: perChannelRuns((o) => o.samples as number),
  }),
  camEntry((o) => isCam(o as IsCamOptions), {
    options: ISCAM_OPTIONS,
    cost: perChannelRuns((o) => o.steps as number),
  }),
  camEntry(() => ablationCam, { cost: perChannelRuns(() => 1) }),
  camEntry((o) => clusterCam(o as ClusterCamOptions), {
    options: CLUSTERCAM_OPTIONS,
    // One scored input per non-empty cluster (at most one per channel), and the zero baseline.
    cost: (o, shape) => ({
      forward:
        1 +
        perLayer(
          shape,
          (k) => Math.min(o.clusters as number, k) + (o.baseline === "zeros" ? 1 : 0),
        ),
      backward: 0,
      atMost: true,
    }),
  }),
  // The relevance run returns the activations too.
  camEntry((o) => relevanceCam(o as RelevanceCamOptions), {
    options: RELEVANCECAM_OPTIONS,
    cost: oneGradientRun,
  }),
  attributionEntry(() => saliency, { cost: oneGradientRun }),
  attributionEntry(() => gradient, { cost: oneGradientRun }),
  attributionEntry(() => gradientXInput, { cost: oneGradientRun }),
  attributionEntry(() => guidedBackpropMethod, { cost: oneGradientRun }),
  attributionEntry(() => deconvnetMethod, { cost: oneGradientRun }),
  // Guided backprop's run and Grad-CAM's.
  attributionEntry(() => guidedGradCam, { cost: () => ({ forward: 1, backward: 2 }) }),
  attributionEntry((o) => integratedGradients(o as IntegratedGradientsOptions), {
    options: IG_OPTIONS,
    // The baselines are scored once, for the completeness check.
    cost: (o) => ({ forward: 2, backward: o.steps as number }),
  }),
  ...[smoothGrad, smoothGradSquared, varGrad].map((make) =>
    attributionEntry((o) => make(o as SmoothGradOptions), {
      options: SMOOTHGRAD_OPTIONS,
      smoothing: NOISY,
      cost: (o) => ({ forward: 1, backward: o.samples as number }),
    }),
  ),
  attributionEntry((o) => occlusion(o as OcclusionOptions), {
    options: OCCLUSION_OPTIONS,
    cost: (o, shape) => {
      const [height, width] = shape.input.slice(2) as [number, number];
      const pair = (v: unknown) => (typeof v === "number" ? [v, v] : (v as [number, number]));
      const [wh, ww] = pair(o.window);
      const [sh, sw] = pair(o.stride);
      const windows = windowStarts(height, wh!, sh!).length * windowStarts(width, ww!, sw!).length;
      return { forward: 1 + windows, backward: 0 };
    },
  }),
  attributionEntry((o) => rise(o as RiseOptions), {
    options: RISE_OPTIONS,
    cost: (o) => ({ forward: 1 + (o.masks as number), backward: 0 }),
  }),
  {
    name: "lrp",
    title: "LRP",
    family: "lrp",
    level: "input",
    signed: true,
    options: LRP_OPTIONS,
    smoothing: NO_EIGEN,
    cost: oneGradientRun,
    create: (o) => ({ family: "lrp", method: lrp(o as LrpOptions) }),
  },
];

/** The name that selects every layer-level (CAM) method. */
export const ALL_LAYER_METHODS = "all";
/** The name that selects every input-level (pixel) method. */
export const ALL_INPUT_METHODS = "pixel";

/** The method of a name (case-insensitive); an unknown name lists the valid ones by level. */
export function methodNamed(name: string): MethodDescriptor {
  if (typeof name !== "string") {
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `A method name must be a string, got ${describe(name)}`,
    );
  }
  const method = METHODS.find((m) => m.name === name.toLowerCase());
  if (!method) {
    const names = (level: MethodLevel) =>
      METHODS.filter((m) => m.level === level)
        .map((m) => m.name)
        .join(", ");
    throw new CamscopeError(
      "INVALID_ARGUMENT",
      `Unknown method "${name}". CAM methods: ${names("layer")}, ${ALL_LAYER_METHODS}. Pixel-attribution methods: ${names("input")}, ${ALL_INPUT_METHODS}`,
    );
  }
  return method;
}

/**
 * The methods named, in the order given ("all": every CAM method, "pixel": every pixel method),
 * each once.
 */
export function resolveMethodNames(names: readonly string[]): MethodDescriptor[] {
  checkNames(names, "method names");
  const out: MethodDescriptor[] = [];
  for (const raw of names) {
    const name = raw.toLowerCase();
    const level =
      name === ALL_LAYER_METHODS ? "layer" : name === ALL_INPUT_METHODS ? "input" : undefined;
    const found = level ? METHODS.filter((m) => m.level === level) : [methodNamed(raw)];
    for (const m of found) if (!out.includes(m)) out.push(m);
  }
  return out;
}

/** A method with its options resolved: declared defaults filled in, given values checked. */
export function chooseMethod(
  method: MethodDescriptor,
  given: Readonly<Record<string, unknown>> = {},
): MethodChoice {
  return { method, options: resolveOptions(method.title, method.options, given) };
}
