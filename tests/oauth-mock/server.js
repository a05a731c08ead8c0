// Starts oauth2-mock-server on loopback for relink's browser tests, as a generic OAuth 2.0
// network: /authorize redirects straight back with a code, /token exchanges it (PKCE S256
// checked), /userinfo names the account as `sub`. The first stdout line is the base URL; the
// server stops when its standard input closes (the test that started it ended).
'use strict';
const { OAuth2Server } = require('oauth2-mock-server');

async function main() {
  const account = process.env.MOCK_ACCOUNT || 'mock-user-1';
  const server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  server.service.on('beforeUserinfo', (response) => {
    response.body = { sub: account, name: 'Mock user' };
  });
  server.service.on('beforeTokenSigning', (token) => {
    token.payload.sub = account;
  });
  await server.start(0, '127.0.0.1');
  const { port } = server.address();
  process.stdout.write(`http://127.0.0.1:${port}/\n`);
  process.stdin.resume();
  process.stdin.on('end', () => server.stop().then(() => process.exit(0)));
}

main().catch((error) => {
  process.stderr.write(`oauth2-mock-server failed to start: ${error}\n`);
  process.exit(1);
});
