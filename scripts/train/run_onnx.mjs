// Runs an ONNX model with onnxruntime-node (the runtime camscope itself uses) on a raw float32
// NCHW batch and writes the raw float32 output. train_models.py uses it to check the exported
// graphs, since there is no Python onnxruntime here.
//
//   node scripts/train/run_onnx.mjs MODEL.onnx INPUT.f32 N C H W OUTPUT.f32 [BATCH]
import { readFileSync, writeFileSync } from "node:fs";
import ort from "onnxruntime-node";

const [model, inputPath, n, c, h, w, outputPath, batchArg] = process.argv.slice(2);
const [N, C, H, W] = [n, c, h, w].map(Number);
const batch = Number(batchArg ?? 100);
const bytes = readFileSync(inputPath);
const input = new Float32Array(bytes.buffer, bytes.byteOffset, N * C * H * W);
const session = await ort.InferenceSession.create(model);
const [inputName] = session.inputNames;
const [outputName] = session.outputNames;
const chunks = [];
for (let start = 0; start < N; start += batch) {
  const count = Math.min(batch, N - start);
  const data = input.slice(start * C * H * W, (start + count) * C * H * W);
  const result = await session.run({
    [inputName]: new ort.Tensor("float32", data, [count, C, H, W]),
  });
  chunks.push(result[outputName].data);
}
const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
const output = new Float32Array(total);
let offset = 0;
for (const chunk of chunks) {
  output.set(chunk, offset);
  offset += chunk.length;
}
writeFileSync(outputPath, Buffer.from(output.buffer));
