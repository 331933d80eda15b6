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
    const iface = member(this.api, interfaceName);
    if (!iface || typeof iface !== 'object') return callback(errors.ERR_INTERFACE_NOT_FOUND);
    const method = member(iface, methodName);
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
    const iface = member(this.api, interfaceName);
    return iface && Object.keys(iface);
  }

  handleEvent(connection, interfaceName, eventName, args) {
    const handler = member(member(this.eventHandlers, interfaceName), eventName);
    if (typeof handler === 'function') handler(connection, ...args);
  }
}

/** `object[name]` for a name that comes from the wire: what every object inherits
 * from Object.prototype (`constructor`, `__proto__`, `__defineGetter__`, ...) is no
 * part of an application, though its own members and its class's methods are. */
function member(object, name) {
  if (object === null || object === undefined) return undefined;
  return name in Object.prototype && !Object.hasOwn(object, name) ? undefined : object[name];
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
