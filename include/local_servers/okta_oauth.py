"""The local Okta's OAuth 2.0 side: client credentials with private_key_jwt, DPoP.

It checks what Okta checks: the client assertion's signature against the
service app's registered public key, `iss`/`sub`/`aud`/`exp` and a `jti`
used once; the requested scopes against the granted ones; and, for a
DPoP-bound token, a proof per request (signature, `htm`, `htu`, `ath`, fresh
`iat`, unused `jti`, the key the token is bound to), with Okta's
`use_dpop_nonce` challenge on the token endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

PROOF_MAX_AGE_S = 300
ASSERTION_ALGS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"]


class OAuthFailure(Exception):
    """An OAuth error answered as `{"error", "error_description"}` with `status`."""

    def __init__(self, status: int, error: str, description: str, headers: dict | None = None) -> None:
        super().__init__(description)
        self.status, self.error, self.description, self.headers = status, error, description, headers or {}


class DPoPFailure(Exception):
    """A resource request whose DPoP proof does not hold."""


@dataclass
class IssuedToken:
    client_id: str
    scopes: frozenset[str]
    expires_at: float
    jkt: str | None  # thumbprint of the DPoP key, for a DPoP-bound token


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk_thumbprint(jwk: dict) -> str:
    members = {k: jwk[k] for k in (("crv", "kty", "x", "y") if jwk["kty"] == "EC" else ("e", "kty", "n"))}
    return _b64url(hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest())


def _public_key(client: dict):
    if client.get("public_jwk"):
        jwk = client["public_jwk"]
        jwk = json.loads(jwk) if isinstance(jwk, str) else jwk
        return RSAAlgorithm.from_jwk(jwk) if jwk.get("kty") == "RSA" else ECAlgorithm.from_jwk(jwk)
    if client.get("public_key_pem"):
        return load_pem_public_key(client["public_key_pem"].encode())
    raise ValueError(f"okta.oauth_clients entry {client.get('client_id')!r} has neither public_jwk nor public_key_pem")


class OAuthAuthority:
    """Issues and checks access tokens for the scenario's `okta.oauth_clients`."""

    def __init__(self, clients: list[dict], token_ttl_s: float = 3600.0) -> None:
        self.clients = {c["client_id"]: c for c in clients}
        self._keys = {cid: _public_key(c) for cid, c in self.clients.items()}
        self.token_ttl_s = token_ttl_s
        self._tokens: dict[str, IssuedToken] = {}
        self._seen_jti: set[str] = set()
        self._nonce = secrets.token_urlsafe(16)
        self._lock = threading.Lock()

    def _use_jti(self, jti: str | None, what: str) -> None:
        if not jti:
            raise ValueError(f"{what} has no jti")
        with self._lock:
            if jti in self._seen_jti:
                raise ValueError(f"{what} jti was already used")
            self._seen_jti.add(jti)

    # -- token endpoint -----------------------------------------------------------

    def issue(self, form: dict[str, str], token_url: str, dpop_header: str | None) -> dict:
        if form.get("grant_type") != "client_credentials":
            raise OAuthFailure(400, "unsupported_grant_type", "The grant type is not supported here; use client_credentials.")
        if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" or not form.get("client_assertion"):
            raise OAuthFailure(401, "invalid_client", "Client authentication failed: a private_key_jwt client_assertion is required.")
        assertion = form["client_assertion"]
        try:
            client_id = jwt.decode(assertion, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            raise OAuthFailure(401, "invalid_client", "The client_assertion is not a JWT.") from None
        client = self.clients.get(client_id)
        if client is None:
            raise OAuthFailure(401, "invalid_client", "The client_id is not known to this org.")
        try:
            claims = jwt.decode(
                assertion, self._keys[client_id], algorithms=ASSERTION_ALGS, audience=token_url, options={"require": ["exp", "iss", "sub", "aud"]}
            )
            if claims["sub"] != client_id:
                raise ValueError("sub differs from iss")
            self._use_jti(claims.get("jti"), "client_assertion")
        except (jwt.PyJWTError, ValueError) as exc:
            raise OAuthFailure(401, "invalid_client", f"The client_assertion is invalid: {exc}.") from None
        wanted = frozenset((form.get("scope") or "").split())
        granted = frozenset(client.get("scopes", []))
        if not wanted or not wanted <= granted:
            raise OAuthFailure(400, "invalid_scope", "The following scopes are not allowed: " + " ".join(sorted(wanted - granted)))
        jkt = None
        if dpop_header:
            jwk = self._check_proof(dpop_header, "POST", token_url, access_token=None, want_nonce=True)
            jkt = jwk_thumbprint(jwk)
        elif client.get("dpop"):
            raise OAuthFailure(400, "invalid_dpop_proof", "The DPoP proof JWT header is missing.")
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = IssuedToken(client_id, wanted, time.time() + self.token_ttl_s, jkt)
        return {
            "token_type": "DPoP" if jkt else "Bearer",
            "expires_in": int(self.token_ttl_s),
            "access_token": token,
            "scope": " ".join(sorted(wanted)),
        }

    # -- DPoP proofs --------------------------------------------------------------

    def _check_proof(self, proof: str, method: str, url: str, access_token: str | None, want_nonce: bool) -> dict:
        failure = OAuthFailure if want_nonce else None
        try:
            header = jwt.get_unverified_header(proof)
            if header.get("typ") != "dpop+jwt" or not isinstance(header.get("jwk"), dict) or "d" in header["jwk"]:
                raise ValueError("the proof header needs typ dpop+jwt and a public jwk")
            jwk = header["jwk"]
            key = RSAAlgorithm.from_jwk(jwk) if jwk.get("kty") == "RSA" else ECAlgorithm.from_jwk(jwk)
            claims = jwt.decode(proof, key, algorithms=ASSERTION_ALGS, options={"require": ["iat", "jti"]})
            if claims.get("htm") != method:
                raise ValueError("htm does not match the request method")
            if claims.get("htu") != url:
                raise ValueError("htu does not match the request URL")
            if abs(time.time() - float(claims["iat"])) > PROOF_MAX_AGE_S:
                raise ValueError("iat is not recent")
            if access_token is not None:
                if claims.get("ath") != _b64url(hashlib.sha256(access_token.encode()).digest()):
                    raise ValueError("ath does not match the access token")
        except (jwt.PyJWTError, ValueError, KeyError) as exc:
            if failure:
                raise OAuthFailure(400, "invalid_dpop_proof", f"The DPoP proof is invalid: {exc}.") from None
            raise DPoPFailure(str(exc)) from None
        if want_nonce and claims.get("nonce") != self._nonce:
            raise OAuthFailure(
                400, "use_dpop_nonce", "Authorization server requires nonce in DPoP proof.", headers={"DPoP-Nonce": self._nonce}
            )
        try:
            self._use_jti(claims.get("jti"), "DPoP proof")
        except ValueError as exc:
            if failure:
                raise OAuthFailure(400, "invalid_dpop_proof", str(exc)) from None
            raise DPoPFailure(str(exc)) from None
        return jwk

    # -- resource side ------------------------------------------------------------

    def check_access(self, scheme: str, token: str, dpop_header: str | None, method: str, url: str) -> IssuedToken | None:
        """The token's grant if the Authorization header holds; None means 401.

        Raises DPoPFailure for a DPoP-bound token whose proof does not hold.
        """
        with self._lock:
            issued = self._tokens.get(token)
        if issued is None or time.time() >= issued.expires_at:
            return None
        if issued.jkt is None:
            return issued if scheme == "Bearer" else None
        if scheme != "DPoP" or not dpop_header:
            return None
        jwk = self._check_proof(dpop_header, method, url, access_token=token, want_nonce=False)
        if jwk_thumbprint(jwk) != issued.jkt:
            raise DPoPFailure("the proof is signed by another key than the token is bound to")
        return issued

    def expire_all(self) -> None:
        """Make every issued token expired (tests of renewal)."""
        with self._lock:
            for issued in self._tokens.values():
                issued.expires_at = 0.0


# The signing algorithms Okta lists in its DPoP challenges.
DPOP_CHALLENGE_ALGS = "RS256 RS384 RS512 ES256 ES384 ES512"


def challenge(scheme: str, org_url: str, path: str, error: str | None = None, description: str | None = None, scope: str | None = None) -> str:
    """A `WWW-Authenticate` value in the form Okta's own resource challenges take.

    Bearer/DPoP: Okta's published captures read `Bearer authorization_uri="<org>/oauth2/v1/authorize",
    realm="<org>", scope=..., error=..., error_description=..., resource="<path>"` (DPoP adds
    `algs=...` first). SSWS (or no credentials): no recorded Okta challenge was found; this server
    answers `SSWS realm="<org>"` so a 401 always says which scheme it wants (RFC 9110 requires one).
    """
    if scheme not in ("Bearer", "DPoP"):
        return f'SSWS realm="{org_url}"'
    params = [f'algs="{DPOP_CHALLENGE_ALGS}"'] if scheme == "DPoP" else []
    params += [f'authorization_uri="{org_url}/oauth2/v1/authorize"', f'realm="{org_url}"']
    if scope:
        params.append(f'scope="{scope}"')
    if error:
        params.append(f'error="{error}"')
    if description:
        params.append('error_description="{}"'.format(description.replace('"', "'")))
    params.append(f'resource="{path}"')
    return f"{scheme} {', '.join(params)}"
