'use strict';

// What every JSTP server does, whatever carries it (the core's TCP/TLS servers, or
// an HTTP server for WebSocket): applications by name and semver range, sessions
// started through the auth policy or restored, clients, heartbeats, broadcast.

const semver = require('semver');
const Connection = require('./connection');
const Session = require('./session');
const errors = require('./errors');
const { createAppsIndex } = require('./application');
const { SimpleSessionStorageProvider } = require('./policies');

const HANDSHAKE_TIMEOUT = 3000;
const CLIENT_EXPIRATION = 60 * 60 * 1000;

/** A Map whose deletes take effect one to two `interval`s later, unless the key
 * is read again first: closed clients stay restorable for a while. */
class ExpiringMap extends Map {
  constructor(interval) {
    super();
    this._interval = interval;
    this._deletions = new Map();
    this._timer = setInterval(() => this._purge(), interval).unref();
  }

  _purge() {
    const now = Date.now();
    for (const [key, at] of this._deletions) {
      if (now - at > this._interval) {
        super.delete(key);
        this._deletions.delete(key);
      }
    }
  }

  get(key) {
    this._deletions.delete(key);
    return super.get(key);
  }

  delete(key) {
    this._deletions.set(key, Date.now());
    return true;
  }
}

function indexApplications(applications) {
  const index = Array.isArray(applications) ? createAppsIndex(applications) : applications;
  // Newest first, for matching ranges.
  const versions = new Map();
  for (const [name, byVersion] of index) {
    const sorted = [...byVersion]
      .filter(([version]) => version !== 'latest')
      .map(([version, app]) => [new semver.SemVer(version), app])
      .sort((a, b) => semver.rcompare(a[0], b[0]));
    versions.set(name, sorted);
  }
  return { index, versions };
}

/** Adds the JSTP server behaviour to a server class `Base`; `createTransport(raw)`
 * is the subclass's. */
const JstpServer = (Base) =>
  class extends Base {
    _initJstp(options, listener) {
      this.updateApplications(options.applications);
      this.heartbeatInterval = options.heartbeatInterval;
      this.heartbeatTimeout = options.heartbeatTimeout;
      const auth = options.authPolicy;
      this.authenticate = auth !== null && typeof auth === 'object' ? auth.authenticate.bind(auth) : auth;
      this.clients = new Map();
      this._clientsBySessionId = new ExpiringMap(options.clientExpirationTime || CLIENT_EXPIRATION);
      this.sessionsStorage = options.sessionStorageProvider || new SimpleSessionStorageProvider();
      const track = (connection) => this.clients.set(connection.id, connection);
      this.on('connect', track);
      // The original forgot restored clients: broadcast() then missed them.
      this.on('reconnect', track);
      this.on('disconnect', (connection) => {
        this.clients.delete(connection.id);
        if (connection.session) this._clientsBySessionId.delete(connection.session.id);
      });
      this.on('handshakeRequest', (connection, appName, strategy) => {
        this.emit('log', connection, 'handshakeRequest', appName, strategy);
      });
      if (listener) this.on('connect', listener);
      this.once('close', () => clearInterval(this._clientsBySessionId._timer));
    }

    getClients() {
      return this.clients.values();
    }

    getClientsArray() {
      return [...this.clients.values()];
    }

    updateApplications(applications) {
      ({ index: this.applications, versions: this._cachedVersions } = indexApplications(applications));
    }

    /** Moves each client to the newest application version its requested range
     * allows (clients that asked for an exact version stay). */
    updateConnectionsApi() {
      for (const connection of this.clients.values()) {
        if (semver.valid(connection.requestedVersion)) continue;
        const app = this._getApplication(connection.application.name, connection.requestedVersion);
        if (app) connection.application = app;
      }
    }

    broadcast(interfaceName, eventName, ...eventArgs) {
      for (const connection of this.clients.values()) connection.emitRemoteEvent(interfaceName, eventName, eventArgs);
    }

    _storageFor(application) {
      return application.sessionsStorage || this.sessionsStorage;
    }

    /** Whenever `connection` closes while it still owns its session, the session
     * goes to storage (one listener per connection, however often it is restored). */
    _storeOnClose(connection, storage) {
      const listening = connection._storage !== undefined;
      connection._storage = storage;
      if (listening) return;
      connection.on('close', () => {
        const session = connection.session;
        if (!session || session.connection !== connection) return;
        connection._storage.set(session.id, session);
        if (connection._storage.setInactive) connection._storage.setInactive(session.id);
      });
    }

    _createSession(username, connection, storage, callback) {
      const session = new Session(connection, username);
      this._clientsBySessionId.set(session.id, connection);
      this._storeOnClose(connection, storage);
      callback(null, username, session);
    }

    startSession(connection, application, strategy, credentials, callback) {
      const storage = this._storageFor(application);
      if (strategy === 'anonymous') {
        this._createSession(null, connection, storage, callback);
        return;
      }
      if (!this.authenticate) {
        callback(errors.ERR_AUTH_FAILED);
        return;
      }
      this.authenticate(connection, application, strategy, credentials, (error, username) => {
        if (error) {
          const remote = error instanceof errors.RemoteError;
          callback(remote ? error : new errors.RemoteError(errors.ERR_AUTH_FAILED, error.message));
        } else if (!username) {
          callback(errors.ERR_AUTH_FAILED);
        } else {
          this._createSession(username, connection, storage, callback);
        }
      });
    }

    /** The client's session comes back: to the Connection it had, if that is still
     * kept (its socket is replaced), else from the storage provider. */
    restoreSession(connection, application, credentials, callback) {
      const [sessionId, receivedCount] = Array.isArray(credentials) ? credentials : [];
      const existing = this._clientsBySessionId.get(sessionId);
      const storage = this._storageFor(application);
      const restore = (session, owner, replacement, done) => {
        if (!session) {
          done(errors.ERR_AUTH_FAILED);
          return;
        }
        // The client left while the store looked the session up: leave the session
        // where it is, for its next attempt.
        if (!replacement && owner._closed) return;
        this._clientsBySessionId.set(sessionId, owner);
        session._restore(owner, receivedCount);
        if (replacement) {
          // The old socket may still be open: it is replaced, quietly.
          if (owner.transport) owner._removeTransport().end();
          owner._initTransport(replacement);
        }
        this._storeOnClose(owner, storage);
        this.emit('restoreSession', session, owner, application);
        done(null, session.username, session);
      };
      // A kept Connection whose restore never completed holds no session: look it up.
      if (existing && existing.session?.id === sessionId) {
        const replacement = connection._removeTransport();
        connection.handshakeDone = true;
        restore(existing.session, existing, replacement, (e, u, s) => existing._onSessionRestored(e, u, s));
      } else if (storage.isAsync()) {
        storage.get(sessionId, (session) => restore(session, connection, null, callback));
      } else {
        restore(storage.get(sessionId), connection, null, callback);
      }
    }

    _onRawConnection(raw) {
      const connection = new Connection(this.createTransport(raw), this);
      connection.on('error', (error) => this.emit('connectionError', error, connection));
      const timer = setTimeout(() => {
        if (!connection.handshakeDone) {
          connection.close();
          this.emit('handshakeTimeout', connection);
        }
      }, HANDSHAKE_TIMEOUT);
      timer.unref();
      connection.on('client', () => {
        clearTimeout(timer);
        if (this.heartbeatInterval) connection.startHeartbeat(this.heartbeatInterval);
      });
    }

    _getApplication(name, version) {
      const byVersion = this.applications.get(name);
      if (!byVersion) return null;
      if (!version) return byVersion.get('latest');
      if (semver.valid(version)) return byVersion.get(version);
      let range;
      try {
        range = new semver.Range(version);
      } catch {
        return null;
      }
      const match = this._cachedVersions.get(name).find(([v]) => range.test(v));
      return match ? match[1] : null;
    }
  };

/** createServer(options | applications, ...rest): an array means { applications }. */
const serverFactory = (ServerClass) => (options, ...rest) =>
  new ServerClass(Array.isArray(options) ? { applications: options } : options, ...rest);

module.exports = { JstpServer, serverFactory };
