#!/usr/bin/env node
// Prints the folder of npm `solc` and of each package it needs at run time (its dependency
// closure), one per line as "<name>\t<folder>": tools/register-solc.sh copies them next to
// the adapter, so the registered compiler does not depend on any one clone's node_modules.
"use strict";
const path = require("path");
const seen = new Map();
function walk(name, from) {
  const manifest = require.resolve(`${name}/package.json`, { paths: [from] });
  const dir = path.dirname(manifest);
  if (seen.has(name)) return;
  seen.set(name, dir);
  for (const dep of Object.keys(require(manifest).dependencies || {})) walk(dep, dir);
}
walk("solc", path.resolve(__dirname, ".."));
for (const [name, dir] of seen) process.stdout.write(`${name}\t${dir}\n`);
