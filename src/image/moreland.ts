// Kenneth Moreland's diverging colormaps ("Diverging Color Maps for Scientific Visualization",
// 2009): two saturated end colours are interpolated through white in his Msh space (polar CIELAB),
// which keeps lightness and saturation changing evenly, unlike a straight blend in RGB.

type Rgb = readonly [number, number, number];

/** Reference white (D65) for the Lab conversion, as in Moreland's paper. */
const WHITE = [0.9505, 1.0, 1.089] as const;

/** The diverging map from `low` to `high` (sRGB in [0, 1]) as a function of t in [0, 1]. */
export function morelandDiverging(low: Rgb, high: Rgb): (t: number) => Rgb {
  const m1 = rgbToMsh(low);
  const m2 = rgbToMsh(high);
  // The ends are saturated with distant hues, so the middle is an unsaturated white whose
  // magnitude matches the brighter end (at least 88), giving a smooth lightness peak. Each half
  // runs from its end to that white, with the white given a hue spun from the end's so the hue
  // changes smoothly along the way.
  const mid = Math.max(m1[0], m2[0], 88);
  const lowToWhite: [Rgb, Rgb] = [m1, [mid, 0, adjustHue(m1, mid)]];
  const whiteToHigh: [Rgb, Rgb] = [[mid, 0, adjustHue(m2, mid)], m2];
  return (t) => {
    const [a, b] = t < 0.5 ? lowToWhite : whiteToHigh;
    const s = t < 0.5 ? 2 * t : 2 * t - 1;
    return mshToRgb([
      (1 - s) * a[0] + s * b[0],
      (1 - s) * a[1] + s * b[1],
      (1 - s) * a[2] + s * b[2],
    ]);
  };
}

/** Moreland's hue spin for interpolating from a saturated colour towards an unsaturated one. */
function adjustHue([m, s, h]: Rgb, unsaturatedM: number): number {
  if (m >= unsaturatedM) return h;
  const spin = (s * Math.sqrt(unsaturatedM ** 2 - m ** 2)) / (m * Math.sin(s));
  return h > -Math.PI / 3 ? h + spin : h - spin;
}

function rgbToMsh(rgb: Rgb): Rgb {
  const [l, a, b] = rgbToLab(rgb);
  const m = Math.sqrt(l * l + a * a + b * b);
  return [m, Math.acos(l / m), Math.atan2(b, a)];
}

function mshToRgb([m, s, h]: Rgb): Rgb {
  return labToRgb([m * Math.cos(s), m * Math.sin(s) * Math.cos(h), m * Math.sin(s) * Math.sin(h)]);
}

function rgbToLab(rgb: Rgb): Rgb {
  const [r, g, b] = rgb.map((c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)) as [
    number,
    number,
    number,
  ];
  const x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / WHITE[0];
  const y = (0.2126 * r + 0.7152 * g + 0.0722 * b) / WHITE[1];
  const z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / WHITE[2];
  const f = (t: number): number => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);
  return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
}

function labToRgb([l, a, bb]: Rgb): Rgb {
  const fy = (l + 16) / 116;
  const finv = (t: number): number => (t ** 3 > 0.008856 ? t ** 3 : (t - 16 / 116) / 7.787);
  const x = finv(fy + a / 500) * WHITE[0];
  const y = finv(fy) * WHITE[1];
  const z = finv(fy - bb / 200) * WHITE[2];
  const linear = [
    3.2406 * x - 1.5372 * y - 0.4986 * z,
    -0.9689 * x + 1.8758 * y + 0.0415 * z,
    0.0557 * x - 0.204 * y + 1.057 * z,
  ];
  const [r, g, b] = linear.map((c) =>
    c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055,
  );
  return [r!, g!, b!];
}
