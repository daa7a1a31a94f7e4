// DPoP (RFC 9449) on the test's side: reading the proofs a client sent, a key's
// JWK SHA-256 thumbprint (RFC 7638) and proofs of our own, made with WebCrypto
// in Node, for requests no library would make (a proof from the wrong key).

import { createHash, randomUUID, webcrypto } from 'node:crypto';

const { subtle } = webcrypto;

const b64url = (bytes) => Buffer.from(bytes).toString('base64url');
const json64 = (value) => b64url(Buffer.from(JSON.stringify(value), 'utf8'));

/** base64url(SHA-256(s)): an access token's `ath`. */
export const sha256b64url = (s) => createHash('sha256').update(s, 'utf8').digest('base64url');

/** The header and payload of a compact JWS (not verified). */
export function decodeJwt(jwt) {
  const [header, payload] = String(jwt).split('.');
  const parse = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  return { header: parse(header), payload: parse(payload) };
}

/** RFC 7638 thumbprint of a public JWK (EC, RSA or OKP): SHA-256 of its required members in order. */
export function jwkThumbprint(jwk) {
  const required = {
    EC: ['crv', 'kty', 'x', 'y'],
    RSA: ['e', 'kty', 'n'],
    OKP: ['crv', 'kty', 'x'],
  }[jwk.kty];
  if (!required) throw new Error(`no thumbprint for kty ${jwk.kty}`);
  const canonical = `{${required.map((k) => `${JSON.stringify(k)}:${JSON.stringify(jwk[k])}`).join(',')}}`;
  return createHash('sha256').update(canonical, 'utf8').digest('base64url');
}

/** Thumbprint of a WebCrypto public key. */
export async function keyThumbprint(publicKey) {
  return jwkThumbprint(await subtle.exportKey('jwk', publicKey));
}

/** A fresh ES256 key pair whose private half cannot be exported. */
export function newEs256Key() {
  return subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
}

/** An ES256 DPoP proof for `htm htu` (with `ath` for an access token, `nonce` if given). */
export async function makeProof(keyPair, { htm, htu, accessToken, nonce }) {
  const { kty, crv, x, y } = await subtle.exportKey('jwk', keyPair.publicKey);
  const header = { typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } };
  const payload = { jti: randomUUID(), htm, htu, iat: Math.floor(Date.now() / 1000) };
  if (accessToken) payload.ath = sha256b64url(accessToken);
  if (nonce) payload.nonce = nonce;
  const input = `${json64(header)}.${json64(payload)}`;
  const sig = await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keyPair.privateKey, Buffer.from(input, 'utf8'));
  return `${input}.${b64url(new Uint8Array(sig))}`;
}
