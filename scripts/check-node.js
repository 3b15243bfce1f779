// The product targets Node 22 (Lambda nodejs22.x, aws-local-stepfunctions). npm scripts put
// node_modules/.bin first on PATH, where the `node` package installs a Node 22 binary; this
// check fails fast with a fix when a script is run some other way.
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  console.error(
    `serverless-etl needs Node 22 but this is ${process.version}. Run it through npm scripts ` +
      '(npm test, npm run etl -- ...) after `npm install`: they use the Node 22 from node_modules/.bin.',
  );
  process.exit(1);
}
