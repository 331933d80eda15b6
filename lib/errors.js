'use strict';

// Errors as Node makes them: `Error` objects with `code` (and for system errors
// `errno`, `syscall`, `address`, `port`), and TypeErrors for bad arguments.

/** An error reported by the core (its parsed JSON). */
function fromCore(info) {
  const err = new Error(info.message);
  err.code = info.code;
  for (const key of ['errno', 'syscall', 'address', 'port']) {
    if (info[key] !== undefined) err[key] = info[key];
  }
  return err;
}

function describe(value) {
  if (value === null) return 'null';
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'object') return `an instance of ${value.constructor?.name ?? 'Object'}`;
  const shown = String(value).length > 28 ? `${String(value).slice(0, 25)}...` : String(value);
  return `type ${typeof value} (${typeof value === 'string' ? `'${shown}'` : shown})`;
}

/** Node's ERR_INVALID_ARG_TYPE: `The "port" option must be of type number. Received ...` */
function invalidType(name, expected, actual) {
  const err = new TypeError(`The "${name}" option must be ${expected}. Received ${describe(actual)}`);
  err.code = 'ERR_INVALID_ARG_TYPE';
  return err;
}

/** Node's ERR_INVALID_ARG_VALUE, for values of the right type but out of range. */
function invalidValue(name, reason, actual) {
  const err = new TypeError(`The "${name}" option ${reason}. Received ${describe(actual)}`);
  err.code = 'ERR_INVALID_ARG_VALUE';
  return err;
}

function withCode(ErrorClass, code, message) {
  const err = new ErrorClass(message);
  err.code = code;
  return err;
}

module.exports = { fromCore, invalidType, invalidValue, withCode };
