import { exportJWK, generateKeyPair, SignJWT, type JWTPayload, type CryptoKey } from 'jose';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback stand-in for a provider that hands over a bad ID token — the faults a real
 * provider cannot be made to emit (forged signature, `alg: none`, expired, wrong nonce). It
 * speaks just enough OpenID Connect: discovery (advertising `none` and HS256 too, as a
 * careless provider might), JWKS, an authorization endpoint that answers at once with a code,
 * and a token endpoint returning whatever ID token `mint` builds for the request's nonce.
 */
export interface EvilIdp {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly key: CryptoKey;
  /** The `sub` of the ID tokens it mints unless told otherwise (default: mallory). */
  nextLogin: string | null;
  /** Builds the ID token the token endpoint returns; `nonce` is the one the authorization request carried. */
  mint: (nonce: string) => Promise<string>;
  /** Whether the code grant's response carries a refresh token (`evil-refresh-token`). */
  refreshTokens: boolean;
  /** What the token endpoint answers a refresh_token grant (default: a new ID token for the same person, no nonce). */
  onRefresh: () => Promise<{ status: number; body: Record<string, unknown> }>;
  /** A correctly signed ID token for `claims` (+ iss, aud, iat, exp, nonce unless overridden). */
  idToken(nonce: string, claims?: JWTPayload, options?: { key?: CryptoKey; alg?: string }): Promise<string>;
  stop(): Promise<void>;
}

export async function startEvilIdp(): Promise<EvilIdp> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'evil-1', alg: 'RS256', use: 'sig' };
  const clientId = 'gatehouse-evil';
  const clientSecret = 'evil-client-secret-0123456789-0123456789';
  let lastNonce = '';
  let issuer = '';

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256', 'HS256', 'none'],
        code_challenge_methods_supported: ['S256'],
        authorization_response_iss_parameter_supported: true,
      });
    }
    if (url.pathname === '/jwks') return json(200, { keys: [jwk] });
    if (url.pathname === '/authorize') {
      lastNonce = url.searchParams.get('nonce') ?? '';
      const back = new URL(url.searchParams.get('redirect_uri')!);
      back.searchParams.set('code', 'evil-code');
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      back.searchParams.set('iss', issuer);
      res.writeHead(302, { location: back.href });
      return res.end();
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const grantType = new URLSearchParams(Buffer.concat(chunks).toString()).get('grant_type');
        const answer =
          grantType === 'refresh_token'
            ? evil.onRefresh()
            : evil.mint(lastNonce).then((idToken) => ({
                status: 200,
                body: {
                  access_token: 'evil-access-token',
                  token_type: 'Bearer',
                  expires_in: 300,
                  id_token: idToken,
                  ...(evil.refreshTokens ? { refresh_token: 'evil-refresh-token' } : {}),
                },
              }));
        answer.then(({ status, body }) => json(status, body)).catch((error: unknown) => json(500, { error: String(error) }));
      });
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const evil: EvilIdp = {
    issuer,
    clientId,
    clientSecret,
    key: privateKey,
    nextLogin: null,
    mint: (nonce) => evil.idToken(nonce),
    refreshTokens: false,
    onRefresh: async () => ({
      status: 200,
      body: {
        access_token: 'evil-access-token-2',
        token_type: 'Bearer',
        expires_in: 300,
        id_token: await evil.idToken('', { nonce: undefined }),
      },
    }),
    async idToken(nonce, claims = {}, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({
        iss: issuer,
        aud: clientId,
        sub: evil.nextLogin ?? 'mallory',
        iat: now,
        exp: now + 300,
        nonce,
        groups: ['EVIL_GROUP'],
        ...claims,
      })
        .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: 'evil-1' })
        .sign(options.key ?? privateKey);
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return evil;
}

/** An unsigned JWT (`alg: none`), which no library here will produce. */
export function unsignedJwt(payload: JWTPayload): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(payload)}.`;
}
