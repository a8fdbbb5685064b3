"""How a request to Okta proves who sends it: an SSWS API token, or an OAuth 2.0
service app (client credentials with private_key_jwt, optionally DPoP-bound).

Secrets live only in private attributes; reprs and error messages never
show them. The OAuth access token is cached until shortly before it expires.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from okta_provider.errors import OKTA_READ_SCOPES, OktaAuthError, OktaConfigError, OktaPermissionError

if TYPE_CHECKING:
    from okta_provider.client import OktaClient

TOKEN_PATH = "/oauth2/v1/token"
TOKEN_ENDPOINT = f"POST {TOKEN_PATH}"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Renew this long before the token's own expiry, so a page never leaves with a dying token.
TOKEN_EXPIRY_SKEW_S = 60.0


class SswsAuth:
    """`Authorization: SSWS <token>`: an admin's API token."""

    def __init__(self, token: str) -> None:
        if not token or not token.strip():
            raise OktaConfigError("The Okta API token is empty: put the SSWS token in the connection's password.")
        self._token = token.strip()

    def __repr__(self) -> str:
        return "SswsAuth(token=***)"

    def headers_for(self, client: OktaClient, method: str, url: str) -> dict[str, str]:
        return {"Authorization": f"SSWS {self._token}"}

    def retry_after_auth_failure(self, response: Any) -> bool:
        return False  # a rejected API token stays rejected


def load_private_key(text: str) -> tuple[Any, str | None]:
    """Parse a PEM or JWK private key; returns (key, kid from the JWK or None).

    A PEM pasted into a one-line form field loses its line breaks; they are restored.
    """
    text = (text or "").strip()
    if not text:
        raise OktaConfigError("The OAuth private key is empty: put the service app's private key (PEM or JWK) in the connection.")
    if text.startswith("{"):
        try:
            jwk = json.loads(text)
        except ValueError:
            raise OktaConfigError("The OAuth private key looks like JSON but is not valid JSON (expected a JWK).") from None
        if "d" not in jwk:
            raise OktaConfigError("The OAuth JWK has no private part ('d'): give the private key, not the public one.")
        try:
            key = RSAAlgorithm.from_jwk(jwk) if jwk.get("kty") == "RSA" else ECAlgorithm.from_jwk(jwk)
        except Exception:
            raise OktaConfigError("The OAuth JWK could not be read as an RSA or EC private key.") from None
        return key, jwk.get("kid")
    text = text.replace("\\n", "\n")
    match = re.match(r"^(-----BEGIN [A-Z ]+-----)\s*(.*?)\s*(-----END [A-Z ]+-----)$", text, re.S)
    if match:
        body = re.sub(r"\s+", "", match.group(2))
        text = "\n".join([match.group(1), *[body[i : i + 64] for i in range(0, len(body), 64)], match.group(3)])
    try:
        key = load_pem_private_key(text.encode(), password=None)
    except Exception:
        raise OktaConfigError("The OAuth private key is not a readable unencrypted PEM private key (or JWK).") from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise OktaConfigError("The OAuth private key must be RSA or EC.")
    return key, None


def _signing_alg(key: Any) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    return {256: "ES256", 384: "ES384", 521: "ES512"}[key.curve.key_size]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk_thumbprint(jwk: dict) -> str:
    """RFC 7638 SHA-256 thumbprint of a public JWK (what a DPoP token is bound to)."""
    members = {k: jwk[k] for k in (("crv", "kty", "x", "y") if jwk["kty"] == "EC" else ("e", "kty", "n"))}
    return _b64url(hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest())


class OAuthServiceAppAuth:
    """OAuth 2.0 client credentials for an Okta API service app, with private_key_jwt.

    With `dpop=True` each token request and each call carries a DPoP proof
    signed by a key made for this object, and Okta's nonce challenge
    (`use_dpop_nonce`) is answered.
    """

    def __init__(
        self,
        client_id: str,
        private_key: str,
        scopes: str | list[str] | tuple[str, ...] = OKTA_READ_SCOPES,
        *,
        key_id: str | None = None,
        dpop: bool = False,
    ) -> None:
        if not client_id:
            raise OktaConfigError("OAuth needs the service app's client_id in the connection's extra.")
        self.client_id = client_id
        self._key, jwk_kid = load_private_key(private_key)
        self.key_id = key_id or jwk_kid
        self._alg = _signing_alg(self._key)
        self.scopes = " ".join(scopes.split() if isinstance(scopes, str) else scopes)
        self.dpop = bool(dpop)
        self._dpop_key = ec.generate_private_key(ec.SECP256R1()) if self.dpop else None
        self._dpop_jwk = ECAlgorithm.to_jwk(self._dpop_key.public_key(), as_dict=True) if self._dpop_key else None
        self._dpop_nonce: str | None = None
        self._token: str | None = None
        self._token_type = "Bearer"
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.tokens_fetched = 0

    def __repr__(self) -> str:
        return f"OAuthServiceAppAuth(client_id={self.client_id!r}, scopes={self.scopes!r}, dpop={self.dpop}, private_key=***)"

    # -- proofs ---------------------------------------------------------------

    def _dpop_proof(self, method: str, url: str, access_token: str | None = None) -> str:
        htu = url.split("?", 1)[0].split("#", 1)[0]
        claims: dict[str, Any] = {"htm": method, "htu": htu, "iat": int(time.time()), "jti": uuid.uuid4().hex}
        if self._dpop_nonce:
            claims["nonce"] = self._dpop_nonce
        if access_token:
            claims["ath"] = _b64url(hashlib.sha256(access_token.encode()).digest())
        return jwt.encode(claims, self._dpop_key, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": self._dpop_jwk})

    def _client_assertion(self, token_url: str) -> str:
        now = int(time.time())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": token_url, "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex}
        headers = {"kid": self.key_id} if self.key_id else None
        return jwt.encode(claims, self._key, algorithm=self._alg, headers=headers)

    # -- token ----------------------------------------------------------------

    def _fetch_token(self, client: OktaClient) -> None:
        token_url = client.org_url + TOKEN_PATH
        for _ in range(2):  # a second try only to answer a DPoP nonce challenge
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            if self.dpop:
                headers["DPoP"] = self._dpop_proof("POST", token_url)
            data = {
                "grant_type": "client_credentials",
                "scope": self.scopes,
                "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": self._client_assertion(token_url),
            }
            response, body = client.send(
                "POST", token_url, TOKEN_ENDPOINT, data=data, headers=headers, authenticate=False, accept_statuses=(200, 400, 401)
            )
            if response.status_code == 200:
                token = body.get("access_token") if isinstance(body, dict) else None
                if not token:
                    raise OktaAuthError(
                        f"Okta at {client.org_url} answered the token request of client {self.client_id!r} without an "
                        f"access_token; check that {client.credentials_source}'s host is the Okta org URL.",
                        status=200,
                        endpoint=TOKEN_ENDPOINT,
                    )
                self._token = token
                self._token_type = body.get("token_type") or "Bearer"  # null counts as absent
                self._expires_at = time.time() + float(body.get("expires_in") or 3600) - TOKEN_EXPIRY_SKEW_S
                self.tokens_fetched += 1
                return
            error = body.get("error") if isinstance(body, dict) else None
            if error == "use_dpop_nonce" and self.dpop and response.headers.get("DPoP-Nonce"):
                self._dpop_nonce = response.headers["DPoP-Nonce"]
                continue
            raise self._token_error(client, response.status_code, error, body.get("error_description") if isinstance(body, dict) else None)
        raise OktaAuthError(f"Okta at {client.org_url} kept asking for a new DPoP nonce; the token request could not complete.")

    def _token_error(self, client: OktaClient, status: int, error: str | None, description: str | None):
        where = client.credentials_source
        said = f"{error}: {description}" if description else str(error)
        if error == "invalid_scope":
            return OktaPermissionError(
                f"Okta at {client.org_url} refused the scopes {self.scopes!r} for client {self.client_id!r} ({said}). "
                f"Grant {' '.join(OKTA_READ_SCOPES)} on the service app's Okta API Scopes tab, or fix the scopes in {where}.",
                status=status,
                error_code=error,
                endpoint=TOKEN_ENDPOINT,
            )
        if error == "invalid_dpop_proof" and not self.dpop:
            return OktaAuthError(
                f"Okta at {client.org_url} requires DPoP for client {self.client_id!r} ({said}). Set dpop to true in {where}.",
                status=status,
                error_code=error,
                endpoint=TOKEN_ENDPOINT,
            )
        return OktaAuthError(
            f"Okta at {client.org_url} refused an OAuth token to client {self.client_id!r} ({said}). "
            f"Check the client id, that the service app uses public key / private key authentication with the "
            f"public key of this private key registered{f' (kid {self.key_id})' if self.key_id else ''}, "
            f"whether it requires DPoP, and update {where}.",
            status=status,
            error_code=error,
            endpoint=TOKEN_ENDPOINT,
        )

    def headers_for(self, client: OktaClient, method: str, url: str) -> dict[str, str]:
        with self._lock:
            if not self._token or time.time() >= self._expires_at:
                self._fetch_token(client)
            token = self._token
        if self.dpop:
            return {"Authorization": f"DPoP {token}", "DPoP": self._dpop_proof(method, url, token)}
        return {"Authorization": f"Bearer {token}"}

    def retry_after_auth_failure(self, response: Any) -> bool:
        """A refused token (401, or 403 E0000005) may have expired early or want a nonce: renew once."""
        nonce = response.headers.get("DPoP-Nonce")
        if nonce:
            self._dpop_nonce = nonce
        with self._lock:
            had_token = self._token is not None
            self._token = None
        return had_token
