// Browser stand-in for models/intake/external-data.ts (see README.md): a model whose weights live
// in separate files is refused with the reason, since the page holds only the .onnx file.
import { CamscopeError } from "../../errors.ts";
import type * as ExternalData from "../../models/intake/external-data.ts";

const EXTERNAL = 1;

export const inlineExternalData: typeof ExternalData.inlineExternalData = async (model) => {
  const count = model.graph.initializer.filter((t) => t.data_location === EXTERNAL).length;
  if (count === 0) return 0;
  throw new CamscopeError(
    "MODEL_LOAD",
    `Model "${model.source}" keeps ${count} tensors in external data files, which the browser build cannot read yet; save it as one .onnx file (onnx.save_model(model, path, save_as_external_data=False)) or use the command line`,
  );
};
