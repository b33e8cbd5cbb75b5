// Surface patterns of the objects, in the object's unit frame (so a pattern turns with its
// object), drawn independently of the class so that texture never predicts the label.
import { sinCos } from "./geometry.ts";
import type { Rgb } from "./color.ts";
import type { Rng } from "../../util/random.ts";

/** The colour at a point of the object's unit frame. */
export type Texture = (u: number, v: number) => Rgb;

const TEXTURE_KINDS = ["solid", "stripes", "dots", "checker", "gradient"] as const;

export function randomTexture(rng: Rng, primary: Rgb, secondary: Rgb): Texture {
  const kind = rng.pick(TEXTURE_KINDS);
  const [sin, cos] = sinCos(rng.range(0, 2 * Math.PI));
  // Pattern periods in unit-frame lengths: 3 to 8 periods across the object.
  const frequency = rng.range(1.5, 4);
  const along = (u: number, v: number) => u * cos + v * sin;
  const across = (u: number, v: number) => v * cos - u * sin;
  switch (kind) {
    case "solid":
      return () => primary;
    case "stripes":
      return (u, v) => (Math.floor(along(u, v) * frequency) % 2 === 0 ? primary : secondary);
    case "checker":
      return (u, v) =>
        (Math.floor(along(u, v) * frequency) + Math.floor(across(u, v) * frequency)) % 2 === 0
          ? primary
          : secondary;
    case "dots": {
      const dotRadiusSquared = rng.range(0.08, 0.16);
      return (u, v) => {
        const a = along(u, v) * frequency;
        const b = across(u, v) * frequency;
        const da = a - Math.floor(a) - 0.5;
        const db = b - Math.floor(b) - 0.5;
        return da * da + db * db <= dotRadiusSquared ? secondary : primary;
      };
    }
    case "gradient":
      return (u, v) => {
        const t = (along(u, v) + 1) / 2;
        return [
          primary[0] + t * (secondary[0] - primary[0]),
          primary[1] + t * (secondary[1] - primary[1]),
          primary[2] + t * (secondary[2] - primary[2]),
        ];
      };
  }
}
