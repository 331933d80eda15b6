'use strict';

// Applications: named, versioned sets of interfaces a server offers, and the index
// a server looks them up in.

const semver = require('semver');
const errors = require('./errors');

/** Splits 'name@version' at the last '@'. */
function rsplit(string, separator) {
  const at = string.lastIndexOf(separator);
  return at < 0 ? [string] : [string.slice(0, at), string.slice(at + 1)];
}

class Application {
  constructor(name, api, eventHandlers = {}, version, sessionStorageProvider) {
    if (sessionStorageProvider === undefined && typeof version === 'object') {
      sessionStorageProvider = version;
      version = null;
    }
    const [appName, nameVersion] = rsplit(name, '@');
    const given = nameVersion || version;
    if (given && !semver.valid(given)) throw new TypeError('Invalid semver version');
    this.name = appName;
    this.version = given || '1.0.0';
    this.api = api;
    this.eventHandlers = eventHandlers;
    this.sessionsStorage = sessionStorageProvider;
  }

  /** Runs `interfaceName.methodName(connection, ...args, callback)`. An async method
   * gets no callback; what it resolves to is the result. A method that throws or
   * rejects with an Error answers ERR_INTERNAL_API_ERROR (the original also crashed
   * the process); other rejections are sent as errors. */
  callMethod(connection, interfaceName, methodName, args, callback) {
    // Names come from the wire: what objects inherit from Object.prototype
    // (`constructor`, `__defineGetter__`, ...) is no part of any API.
    const iface = Object.hasOwn(this.api, interfaceName) ? this.api[interfaceName] : undefined;
    if (!iface || typeof iface !== 'object') return callback(errors.ERR_INTERFACE_NOT_FOUND);
    const method = methodName in Object.prototype && !Object.hasOwn(iface, methodName) ? undefined : iface[methodName];
    if (typeof method !== 'function') return callback(errors.ERR_METHOD_NOT_FOUND);
    const isAsync = method[Symbol.toStringTag] === 'AsyncFunction';
    if (method.length !== args.length + (isAsync ? 1 : 2)) return callback(errors.ERR_INVALID_SIGNATURE);
    if (!isAsync) return method(connection, ...args, callback);
    method(connection, ...args).then(
      (result) => callback(null, result),
      (error) => {
        const internal = errors.isError(error) && typeof error.toJSTP !== 'function';
        callback(internal ? errors.ERR_INTERNAL_API_ERROR : error);
        if (internal) connection._methodFailed(error, interfaceName, methodName);
      },
    );
  }

  getMethods(interfaceName) {
    const iface = Object.hasOwn(this.api, interfaceName) ? this.api[interfaceName] : undefined;
    return iface && Object.keys(iface);
  }

  handleEvent(connection, interfaceName, eventName, args) {
    const handler = this.eventHandlers[interfaceName]?.[eventName];
    if (handler) handler(connection, ...args);
  }
}

/** name -> (version -> application), with 'latest' for the newest version. */
function createAppsIndex(applications) {
  const index = new Map();
  for (const app of applications) {
    let versions = index.get(app.name);
    if (!versions) index.set(app.name, (versions = new Map()));
    if (versions.has(app.version)) {
      throw new Error(`Multiple instances of application: ${app.name} with version: ${app.version}`);
    }
    versions.set(app.version, app);
    const latest = versions.get('latest');
    if (!latest || semver.gt(app.version, latest.version)) versions.set('latest', app);
  }
  return index;
}

module.exports = { Application, createAppsIndex, rsplit };
