'use strict';

// The process one scenario runs in: `run(profile, report)` reports rows as it goes,
// so a scenario that crashes half-way still leaves its finished rows.

const [name, profile] = process.argv.slice(2);
const scenario = require(`../scenarios/${name}`);

function report(row) {
  process.send({ row });
}

scenario
  .run(profile, report)
  .then(() => process.disconnect())
  .catch((e) => {
    process.send({ error: e && e.stack ? e.stack : String(e) }, () => process.exit(1));
  });
