#!/usr/bin/env node
// Greenlight runs its TypeScript sources directly with Node's type stripping (Node >= 22.18 / 24).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`greenlight needs Node.js 24 (or >= 22.18); this is ${process.version}.\n  hint: run it through npx (npx greenlight ...) or npm scripts, which use the Node 24 from node_modules/.bin`);
  process.exit(2);
}
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
