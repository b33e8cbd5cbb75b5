import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  // Scratch and run output folders are git-ignored; linting them would fail on throwaway code.
  {
    ignores: [
      "dist/",
      "docs/api/",
      "node_modules/",
      "models/",
      "samples/",
      "bin/",
      "tmp/",
      "out/",
      "runs/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    // Plain JavaScript files here are Node scripts.
    files: ["**/*.js", "**/*.mjs"],
    languageOptions: {
      globals: { process: "readonly", Buffer: "readonly", console: "readonly" },
    },
  },
  {
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
);
