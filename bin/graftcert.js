#!/usr/bin/env node
// The `graftcert` command: runs the bundled CLI (dist/cli.js); in a checkout without a build, says how to make one.
'use strict';
const { existsSync } = require('node:fs');
const { join, resolve } = require('node:path');

const root = resolve(__dirname, '..');
const cli = join(root, 'dist', 'cli.js');
if (!existsSync(cli)) {
  process.stderr.write(`graftcert: ${cli} is missing — run \`npm run build\` (or \`npm run setup\`) in ${root}\n`);
  process.exit(2);
}
require(cli).runCli(process.argv.slice(2));
