#!/usr/bin/env node
// A `solc` command line over solc-js (npm `solc`), for machines where no native solc can be
// downloaded. It speaks the subset that py-solc-x, ape-solidity and forge use:
//   solc --version
//   solc --standard-json [--base-path P] [--allow-paths A,B] [--include-path P]... < input.json
// Imports that are not already in the input are read from the base path, the include paths or
// the working directory, and only from inside the allowed paths.
"use strict";
const fs = require("fs");
const path = require("path");
const solc = require("solc");

function fail(message) {
  process.stderr.write(`solc-js adapter: ${message}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const opts = { standardJson: false, version: false, basePath: null, includePaths: [], allowPaths: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === "--version") opts.version = true;
    else if (arg === "--standard-json") opts.standardJson = true;
    else if (arg === "--base-path") opts.basePath = value();
    else if (arg === "--include-path") opts.includePaths.push(value());
    else if (arg === "--allow-paths") opts.allowPaths.push(...value().split(",").filter(Boolean));
    else if (arg.startsWith("--base-path=")) opts.basePath = arg.slice(12);
    else if (arg.startsWith("--allow-paths=")) opts.allowPaths.push(...arg.slice(14).split(","));
    else if (arg === "-" || arg === "--no-color" || arg === "--pretty-json") continue;
    else fail(`unsupported argument ${JSON.stringify(arg)} (only --version and --standard-json)`);
  }
  return opts;
}

function makeImportReader(opts) {
  const roots = [opts.basePath, ...opts.includePaths, process.cwd()].filter(Boolean).map((p) => path.resolve(p));
  const allowed = [...roots, ...opts.allowPaths.map((p) => path.resolve(p))];
  const isAllowed = (file) => allowed.some((dir) => file === dir || file.startsWith(dir + path.sep));
  return (importPath) => {
    const candidates = path.isAbsolute(importPath) ? [importPath] : roots.map((r) => path.join(r, importPath));
    for (const file of candidates) {
      const resolved = path.resolve(file);
      if (isAllowed(resolved) && fs.existsSync(resolved)) return { contents: fs.readFileSync(resolved, "utf8") };
    }
    return { error: `File not found inside the allowed paths: ${importPath}` };
  };
}

const opts = parseArgs(process.argv.slice(2));
if (opts.version) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
  process.exit(0);
}
if (!opts.standardJson) fail("nothing to do: pass --version or --standard-json");

const input = fs.readFileSync(0, "utf8");
try {
  JSON.parse(input);
} catch (err) {
  fail(`standard-json input is not JSON: ${err.message}`);
}
process.stdout.write(solc.compile(input, { import: makeImportReader(opts) }));
