// ESLint for the project's plain JavaScript: the widget (widgets/, run in shoppers' browsers as
// classic scripts, no build step) and the demo store's script. `make lint` runs it with
// --max-warnings 0. Each widget file is a self-contained function scope: the only global it
// may touch is the browser's own (window.gamify included, through `window.`).
import js from "@eslint/js";
import globals from "globals";

export default [
  {
    ignores: [".venv/", "build/", "dist/", "instance/", "tests/artifacts/", "*.egg-info/"],
  },
  js.configs.recommended,
  {
    files: ["widgets/**/*.js", "gamify/demo/static/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "script",
      globals: { ...globals.browser },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      "no-implicit-globals": ["error", { lexicalBindings: true }],
      "no-unused-vars": ["error", { caughtErrors: "none" }],
      "no-shadow": ["error", { builtinGlobals: false }],
      "no-var": "error",
      "prefer-const": "error",
      eqeqeq: ["error", "smart"],
      strict: ["error", "function"],
      "no-eval": "error",
      "no-implied-eval": "error",
      "no-new-func": "error",
      "no-script-url": "error",
      "no-restricted-properties": [
        "error",
        { property: "innerHTML", message: "Text goes in as text (textContent, append)." },
        { property: "outerHTML", message: "Text goes in as text (textContent, append)." },
        { property: "insertAdjacentHTML", message: "Text goes in as text." },
        { object: "document", property: "write", message: "Never document.write." },
        { property: "cssText", message: "Set one property at a time (el.style.x)." },
      ],
      "no-restricted-syntax": [
        "error",
        {
          selector:
            "CallExpression[callee.property.name='setAttribute'][arguments.0.value=/^(style|on)/]",
          message: "Inline styles and handlers are blocked by a strict Content-Security-Policy.",
        },
      ],
    },
  },
  {
    files: ["eslint.config.js"],
    languageOptions: { sourceType: "module", globals: { ...globals.node } },
  },
];
