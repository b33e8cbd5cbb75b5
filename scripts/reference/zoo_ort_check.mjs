// Runs zoo exports with onnxruntime-node (the runtime camscope uses) for make_zoo.py, which has no
// Python onnxruntime. One process runs a whole list of jobs:
//
//   node scripts/reference/zoo_ort_check.mjs JOBS.json RESULTS.json
//
// JOBS.json: [{"model": "a.onnx", "input": {"name": "input", "type": "float32" | "float16",
//   "dims": [N, ...], "file": "x.bin"}, "chunk": 1 | null, "prefix": "out/a"}]
// Input files hold raw little-endian data (float16 as its 16-bit patterns). A job with a chunk runs
// the batch in pieces of that size (fixed-batch exports). Every output is written raw to
// `${prefix}.${i}.bin`; RESULTS.json gets, per job, {"ok": true, "outputs": [{"name", "type",
// "dims", "file"}]} or {"ok": false, "error": first line of the ONNX Runtime message}.
import { readFileSync, writeFileSync } from "node:fs";
import ort from "onnxruntime-node";

const [jobsPath, resultsPath] = process.argv.slice(2);
const jobs = JSON.parse(readFileSync(jobsPath, "utf8"));

function typedArray(type, bytes) {
  const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  if (type === "float32") return new Float32Array(copy);
  // onnxruntime-node takes float16 tensors as their raw 16-bit patterns.
  if (type === "float16") return new Uint16Array(copy);
  throw new Error(`unsupported input type ${type}`);
}

function concat(chunks) {
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const out = new chunks[0].constructor(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

async function run(job) {
  // One thread: the same summation order on every run, so the recorded errors are reproducible.
  const session = await ort.InferenceSession.create(job.model, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  const { name, type, dims, file } = job.input;
  const data = typedArray(type, readFileSync(file));
  const n = dims[0];
  const perSample = data.length / n;
  const chunk = job.chunk ?? n;
  const pieces = session.outputNames.map(() => []);
  let outDims = [];
  for (let start = 0; start < n; start += chunk) {
    const count = Math.min(chunk, n - start);
    const feed = new ort.Tensor(type, data.slice(start * perSample, (start + count) * perSample), [
      count,
      ...dims.slice(1),
    ]);
    const result = await session.run({ [name]: feed });
    outDims = session.outputNames.map((outputName, i) => {
      pieces[i].push(result[outputName].data);
      return result[outputName].dims;
    });
  }
  const outputs = session.outputNames.map((outputName, i) => {
    const values = concat(pieces[i]);
    const outFile = `${job.prefix}.${i}.bin`;
    writeFileSync(outFile, Buffer.from(values.buffer, values.byteOffset, values.byteLength));
    // Chunks are stacked along the batch axis.
    const rest = outDims[i].slice(1);
    const batch = values.length / rest.reduce((product, d) => product * d, 1);
    return { name: outputName, type: elementType(values), dims: [batch, ...rest], file: outFile };
  });
  return { ok: true, outputs };
}

function elementType(values) {
  if (values instanceof Float32Array) return "float32";
  if (values instanceof Uint16Array) return "float16";
  throw new Error(`unexpected output array ${values.constructor.name}`);
}

const results = [];
for (const job of jobs) {
  try {
    results.push(await run(job));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    results.push({ ok: false, error: message.split("\n")[0] });
  }
}
writeFileSync(resultsPath, JSON.stringify(results, null, 2));
