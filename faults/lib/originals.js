'use strict';

// The original packages, as the scenarios load them.

/** The original jstp warns on require that mdsf's native parser is not built
 * (package.json denies that install script): that warning is dropped here. */
function requireOriginalJstp() {
  const warn = console.warn;
  console.warn = (...args) => {
    if (!/mdsf native addon is not built|Cannot find module '\.\.\/build\//.test(String(args[0]))) warn(...args);
  };
  try {
    return require('@metarhia/jstp');
  } finally {
    console.warn = warn;
  }
}

module.exports = { requireOriginalJstp };
