'use strict';

// Certificates made at run time with openssl (EC P-256 keys: quick to make and to
// handshake), for every scenario that needs TLS, in a temporary folder `dir` (its
// files ca.pem, server.pem and server.key, for a child process to read) removed by
// `cleanup()`:
//   ca / caKey        a CA
//   cert / key        a server certificate from `ca` for localhost and 127.0.0.1
//   nameOnly          a server certificate from `ca` for DNS:localhost only (no IP)
//   selfSigned        a self-signed leaf certificate (CA:FALSE) for localhost and 127.0.0.1
//   otherCa           an unrelated CA: verifying against it must fail

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

function makeCerts() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'connkit-faults-certs-'));
  const run = (args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe', timeout: 10_000 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const caOf = (name, cn) => run(['req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${cn}`]);
  const leaf = (name, san) => {
    run(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=localhost']);
    fs.writeFileSync(path.join(dir, `${name}.cnf`), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\n`);
    run(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.cnf`]);
  };
  caOf('ca', 'connkit faults CA');
  caOf('other', 'some other CA');
  leaf('server', 'DNS:localhost,IP:127.0.0.1');
  leaf('nameonly', 'DNS:localhost');
  run(['req', '-x509', ...ec, '-keyout', 'self.key', '-out', 'self.pem', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-addext', 'basicConstraints=critical,CA:FALSE']);
  const read = (f) => fs.readFileSync(path.join(dir, f));
  return {
    ca: read('ca.pem'),
    otherCa: read('other.pem'),
    cert: read('server.pem'),
    key: read('server.key'),
    nameOnly: { cert: read('nameonly.pem'), key: read('nameonly.key') },
    selfSigned: { cert: read('self.pem'), key: read('self.key') },
    dir,
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

module.exports = { makeCerts };
