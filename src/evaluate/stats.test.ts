import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { incompleteBeta, logGamma, studentTCdf, studentTQuantile, summarize } from "./stats.ts";

const close = (actual: number, expected: number, tol: number, what = "") =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what} ${actual} vs ${expected}`);

describe("stats", () => {
  test("logGamma matches factorials and Γ(1/2) = √π", () => {
    close(logGamma(1), 0, 1e-13);
    close(logGamma(5), Math.log(24), 1e-13);
    close(logGamma(11), Math.log(3628800), 1e-12);
    close(logGamma(0.5), 0.5 * Math.log(Math.PI), 1e-13);
  });

  test("incompleteBeta: closed forms I_x(1, b) = 1 - (1-x)^b and I_x(a, 1) = x^a", () => {
    for (const x of [0.05, 0.3, 0.5, 0.9]) {
      close(incompleteBeta(x, 1, 3), 1 - (1 - x) ** 3, 1e-13, `x=${x}`);
      close(incompleteBeta(x, 2.5, 1), x ** 2.5, 1e-13, `x=${x}`);
    }
  });

  test("t cdf: df = 1 is the Cauchy distribution, and symmetric", () => {
    for (const t of [-3, -0.4, 0, 0.7, 5]) {
      close(studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-13, `t=${t}`);
    }
    close(studentTCdf(1.3, 7) + studentTCdf(-1.3, 7), 1, 1e-14);
  });

  test("t quantiles match the printed table (two-sided 95%)", () => {
    // Standard t table values, t_{0.975, df}.
    const table: [number, number][] = [
      [1, 12.7062],
      [2, 4.3027],
      [5, 2.5706],
      [10, 2.2281],
      [30, 2.0423],
      [100, 1.984],
      [1e6, 1.96],
    ];
    for (const [df, t] of table) close(studentTQuantile(0.975, df), t, 1e-4, `df=${df}`);
    // df = 2 has a closed form: t = (2p - 1) * sqrt(2 / (1 - (2p - 1)^2)).
    const q = 2 * 0.975 - 1;
    close(studentTQuantile(0.975, 2), q * Math.sqrt(2 / (1 - q * q)), 1e-10);
  });

  test("summarize: mean and t interval of a constructed sample, non-finite values left out", () => {
    // 1..5: mean 3, sd sqrt(2.5), half width t_{0.975,4} sd / sqrt 5 with t = 2.7764451.
    const s = summarize([1, 2, null, 3, NaN, 4, 5, undefined]);
    assert.equal(s.n, 5);
    close(s.mean, 3, 1e-15);
    close(s.sd, Math.sqrt(2.5), 1e-15);
    const half = (2.7764451052 * Math.sqrt(2.5)) / Math.sqrt(5);
    close(s.low, 3 - half, 1e-8);
    close(s.high, 3 + half, 1e-8);
  });

  test("summarize: constant values give a zero-width interval; one value gives no interval", () => {
    assert.deepEqual(summarize([0.25, 0.25, 0.25]), {
      n: 3,
      mean: 0.25,
      sd: 0,
      low: 0.25,
      high: 0.25,
    });
    const one = summarize([7]);
    assert.equal(one.mean, 7);
    assert.ok(Number.isNaN(one.low) && Number.isNaN(one.high));
    assert.equal(summarize([]).n, 0);
  });
});
