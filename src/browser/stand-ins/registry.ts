// Browser stand-in for models/registry.ts (see README.md): models come as bytes (browser/models.ts).
import { CamscopeError } from "../../errors.ts";
import type * as Registry from "../../models/registry.ts";

export const loadModel: typeof Registry.loadModel = async (nameOrPath) => {
  throw new CamscopeError(
    "UNKNOWN_MODEL",
    `Cannot load model "${nameOrPath}" by name or path in a browser; open its bytes with openModelBytes`,
  );
};
