'use strict';

// The default client policies: how to handshake (SimpleConnectPolicy) and where a
// server keeps sessions whose connections closed (SimpleSessionStorageProvider).

class SimpleConnectPolicy {
  constructor(login, password) {
    this.login = login;
    this.password = password;
  }

  /** Handshakes anonymously, with login and password, or restoring `session`. */
  connect(app, connection, session, callback) {
    if (session) {
      connection.handshake(app, session, null, (error) => callback(error, connection));
    } else {
      connection.handshake(app, this.login, this.password, (error, newSession) => callback(error, connection, newSession));
    }
  }
}

class SimpleSessionStorageProvider extends Map {
  /** Sessions inactive for `inactiveSessionLifetime` ms are purged every `purgeInterval` ms. */
  constructor(inactiveSessionLifetime = 24 * 60 * 60 * 1000, purgeInterval = 60 * 60 * 1000) {
    super();
    this._inactiveSessionLifetime = inactiveSessionLifetime;
    this._purgeInterval = purgeInterval;
    setInterval(() => this._purgeSessions(), purgeInterval).unref();
  }

  get(sessionId) {
    const stored = super.get(sessionId);
    if (!stored) return stored;
    stored.lastActive = null;
    return stored.value;
  }

  set(sessionId, session) {
    return super.set(sessionId, { value: session, lastActive: null });
  }

  isAsync() {
    return false;
  }

  setInactive(sessionId) {
    const stored = super.get(sessionId);
    if (stored) stored.lastActive = Date.now();
  }

  _purgeSessions() {
    const now = Date.now();
    for (const [sessionId, stored] of super.entries()) {
      if (stored.lastActive && now - stored.lastActive >= this._inactiveSessionLifetime) super.delete(sessionId);
    }
  }
}

module.exports = { SimpleConnectPolicy, SimpleSessionStorageProvider };
