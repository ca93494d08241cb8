// Fails at once, with the version needed, when a script is started on a Node.js Plumb does not
// support. Plain JavaScript on purpose: it must run on any Node, including the ones it refuses.
const needed = 24;
const major = Number(process.versions.node.split('.')[0]);
if (major < needed) {
  console.error(
    `Plumb needs Node.js ${needed} or newer; this is Node.js ${process.versions.node}.\n` +
      `Run 'npm ci' first: it installs Node.js ${needed} (the 'node' devDependency) and npm scripts use it.\n` +
      `See docs/decisions/001-node-24-through-npm.md.`,
  );
  process.exit(1);
}
