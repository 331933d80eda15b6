'use strict';

// Which of `known` names an environment variable picks (comma-separated, blanks
// ignored); all of them when it is unset or empty. An unknown name ends the run.

function selected(variable, known) {
  const listed = (process.env[variable] ?? '').split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = listed.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    console.error(`unknown ${variable}: ${unknown.join(', ')} (known: ${known.join(', ')})`);
    process.exit(2);
  }
  return listed.length > 0 ? listed : known;
}

module.exports = { selected };
