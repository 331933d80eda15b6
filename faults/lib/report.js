'use strict';

// One line per row: `scenario  subject  ok|FAIL  figure=value ...`.

function formatValue(v) {
  if (typeof v === 'number' && !Number.isInteger(v)) return v.toFixed(1);
  return String(v);
}

/**
 * A row: `{ subject, ok, figures: { name: value }, note? }`. `subject` names what was
 * put through the fault: `connkit Client`, `connkit/jstp`, `original jstp`, ...
 * The originals' rows are figures only (`ok` is about connkit's guarantees).
 */
function formatRow(scenario, row) {
  const figures = Object.entries(row.figures ?? {})
    .map(([k, v]) => `${k}=${formatValue(v)}`)
    .join(' ');
  const status = row.ok ? 'ok  ' : 'FAIL';
  const note = row.note ? `  (${row.note})` : '';
  return `${scenario.padEnd(9)} ${row.subject.padEnd(28)} ${status} ${figures}${note}`;
}

module.exports = { formatRow };
