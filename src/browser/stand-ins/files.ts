// Browser stand-in for util/files.ts (see README.md): nothing is read or written by path.
import { CamscopeError } from "../../errors.ts";
import type * as Files from "../../util/files.ts";

export const MODEL_FILE_LIMIT: typeof Files.MODEL_FILE_LIMIT = 2 * 1024 * 2 ** 20 - 1;

export const readInputFile: typeof Files.readInputFile = async (path) => {
  throw new CamscopeError(
    "INPUT_FILE",
    `Cannot read "${path}": a browser reads no files by path; give the file's bytes instead`,
  );
};

export const writeOutputFile: typeof Files.writeOutputFile = async (path) => {
  throw new CamscopeError(
    "OUTPUT_WRITE",
    `Cannot write "${path}": a browser writes no files by path; encode the bytes and offer them for download instead`,
  );
};
