//! SCRAM-SHA-256 (RFC 5802, RFC 7677), as PostgreSQL stores and checks passwords.
//!
//! A role's password is kept only as a verifier,
//! `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (base64 parts), the same
//! text PostgreSQL keeps in `pg_authid.rolpassword`. The exchange:
//!
//! ```text
//!   client-first   n,,n=,r=<client nonce>
//!   server-first   r=<client nonce><server nonce>,s=<salt>,i=<iterations>
//!   client-final   c=biws,r=<nonce>,p=<ClientProof>
//!   server-final   v=<ServerSignature>
//! ```
//!
//! The server checks that `H(ClientProof XOR HMAC(StoredKey, AuthMessage)) == StoredKey`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use oxibase_common::{Error, Result, errinput};
use sha2::{Digest, Sha256};

const ITERATIONS: u32 = 4096;

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap_or_else(|_| {
        // HMAC accepts keys of any length; this branch cannot be taken.
        <Hmac<Sha256> as KeyInit>::new_from_slice(&[]).unwrap_or_else(|_| unreachable!())
    });
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// PBKDF2-HMAC-SHA256 with one output block: SCRAM's `Hi()`.
fn salted_password(password: &str, salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut block = salt.to_vec();
    block.extend_from_slice(&1u32.to_be_bytes());
    let mut u = hmac(password.as_bytes(), &block);
    let mut out = u;
    for _ in 1..iterations {
        u = hmac(password.as_bytes(), &u);
        for (o, x) in out.iter_mut().zip(u) {
            *o ^= x;
        }
    }
    out
}

/// The verifier to store for a password (a random salt each time).
pub fn scram_verifier(password: &str) -> String {
    let salt: [u8; 16] = rand::random();
    verifier_with_salt(password, &salt, ITERATIONS)
}

fn verifier_with_salt(password: &str, salt: &[u8], iterations: u32) -> String {
    let salted = salted_password(password, salt, iterations);
    let client_key = hmac(&salted, b"Client Key");
    let stored_key = sha256(&client_key);
    let server_key = hmac(&salted, b"Server Key");
    format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        B64.encode(salt),
        B64.encode(stored_key),
        B64.encode(server_key)
    )
}

/// Checks a cleartext password against a stored verifier (HTTP Basic authentication).
pub fn verify_password(verifier: &str, password: &str) -> bool {
    let Some(v) = parse_verifier(verifier) else { return false };
    let salted = salted_password(password, &v.salt, v.iterations);
    let stored = sha256(&hmac(&salted, b"Client Key"));
    // Compare without an early exit, so timing does not reveal a matching prefix.
    stored.len() == v.stored_key.len()
        && stored.iter().zip(&v.stored_key).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// Whether a password given to CREATE/ALTER ROLE is already a verifier (stored as is).
pub fn is_verifier(password: &str) -> bool {
    parse_verifier(password).is_some()
}

struct Verifier {
    iterations: u32,
    salt: Vec<u8>,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

fn parse_verifier(v: &str) -> Option<Verifier> {
    let rest = v.strip_prefix("SCRAM-SHA-256$")?;
    let (params, keys) = rest.split_once('$')?;
    let (iterations, salt) = params.split_once(':')?;
    let (stored, server) = keys.split_once(':')?;
    Some(Verifier {
        iterations: iterations.parse().ok()?,
        salt: B64.decode(salt).ok()?,
        stored_key: B64.decode(stored).ok()?,
        server_key: B64.decode(server).ok()?,
    })
}

fn auth_failed(user: &str) -> Error {
    errinput!(INVALID_PASSWORD, "password authentication failed for user \"{user}\"")
}

/// The server side of one SCRAM exchange.
pub struct ScramServer {
    user: String,
    verifier: Option<Verifier>,
    state: State,
}

enum State {
    Start,
    SentFirst { client_first_bare: String, server_first: String, nonce: String },
    Done,
}

impl ScramServer {
    /// Starts an exchange for a user with a stored verifier. A user without one (or an
    /// unknown user) goes through the exchange with a fake verifier and fails at the end,
    /// so a client cannot tell which users exist.
    pub fn new(user: &str, verifier: Option<&str>) -> ScramServer {
        ScramServer {
            user: user.to_string(),
            verifier: verifier.and_then(parse_verifier),
            state: State::Start,
        }
    }

    /// Handles the client-first message; returns the server-first message.
    pub fn client_first(&mut self, message: &[u8]) -> Result<Vec<u8>> {
        let text = std::str::from_utf8(message).map_err(|_| bad_message())?;
        // gs2 header: channel binding flag, authzid, then the bare message.
        let mut parts = text.splitn(3, ',');
        let cbind = parts.next().ok_or_else(bad_message)?;
        let _authzid = parts.next().ok_or_else(bad_message)?;
        let bare = parts.next().ok_or_else(bad_message)?;
        if cbind.starts_with("p=") {
            return Err(errinput!(
                PROTOCOL_VIOLATION,
                "channel binding is not supported without TLS"
            ));
        }
        let client_nonce = bare
            .split(',')
            .find_map(|a| a.strip_prefix("r="))
            .filter(|n| !n.is_empty())
            .ok_or_else(bad_message)?;
        let server_nonce: [u8; 18] = rand::random();
        let nonce = format!("{client_nonce}{}", B64.encode(server_nonce));
        let (salt, iterations) = match &self.verifier {
            Some(v) => (v.salt.clone(), v.iterations),
            None => (sha256(self.user.as_bytes())[..16].to_vec(), ITERATIONS),
        };
        let server_first = format!("r={nonce},s={},i={iterations}", B64.encode(salt));
        self.state = State::SentFirst {
            client_first_bare: bare.to_string(),
            server_first: server_first.clone(),
            nonce,
        };
        Ok(server_first.into_bytes())
    }

    /// Handles the client-final message; returns the server-final message, or 28P01.
    pub fn client_final(&mut self, message: &[u8]) -> Result<Vec<u8>> {
        let State::SentFirst { client_first_bare, server_first, nonce } =
            std::mem::replace(&mut self.state, State::Done)
        else {
            return Err(bad_message());
        };
        let text = std::str::from_utf8(message).map_err(|_| bad_message())?;
        let (without_proof, proof) = text.rsplit_once(",p=").ok_or_else(bad_message)?;
        let got_nonce =
            without_proof.split(',').find_map(|a| a.strip_prefix("r=")).ok_or_else(bad_message)?;
        if got_nonce != nonce {
            return Err(auth_failed(&self.user));
        }
        let proof = B64.decode(proof).map_err(|_| bad_message())?;
        let Some(verifier) = &self.verifier else { return Err(auth_failed(&self.user)) };
        let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
        let client_signature = hmac(&verifier.stored_key, auth_message.as_bytes());
        if proof.len() != client_signature.len() {
            return Err(auth_failed(&self.user));
        }
        let client_key: Vec<u8> = proof.iter().zip(client_signature).map(|(p, s)| p ^ s).collect();
        if sha256(&client_key).as_slice() != verifier.stored_key.as_slice() {
            return Err(auth_failed(&self.user));
        }
        let server_signature = hmac(&verifier.server_key, auth_message.as_bytes());
        Ok(format!("v={}", B64.encode(server_signature)).into_bytes())
    }
}

fn bad_message() -> Error {
    errinput!(PROTOCOL_VIOLATION, "malformed SCRAM message")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A client following RFC 5802, to check the server against.
    fn client_proof(password: &str, salt: &[u8], iterations: u32, auth_message: &str) -> Vec<u8> {
        let salted = salted_password(password, salt, iterations);
        let client_key = hmac(&salted, b"Client Key");
        let stored_key = sha256(&client_key);
        let signature = hmac(&stored_key, auth_message.as_bytes());
        client_key.iter().zip(signature).map(|(k, s)| k ^ s).collect()
    }

    fn exchange(stored_password: &str, given: &str) -> Result<Vec<u8>> {
        let verifier = scram_verifier(stored_password);
        let mut server = ScramServer::new("alice", Some(&verifier));
        let first = String::from_utf8(server.client_first(b"n,,n=,r=abc").unwrap()).unwrap();
        let mut parts = first.split(',');
        let nonce = parts.next().unwrap().strip_prefix("r=").unwrap().to_string();
        let salt = B64.decode(parts.next().unwrap().strip_prefix("s=").unwrap()).unwrap();
        let iterations: u32 = parts.next().unwrap().strip_prefix("i=").unwrap().parse().unwrap();
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("n=,r=abc,{first},{without_proof}");
        let proof = client_proof(given, &salt, iterations, &auth_message);
        server.client_final(format!("{without_proof},p={}", B64.encode(proof)).as_bytes())
    }

    #[test]
    fn right_password_passes_wrong_fails() {
        assert!(exchange("s3cret", "s3cret").unwrap().starts_with(b"v="));
        let err = exchange("s3cret", "guess").unwrap_err();
        assert_eq!(err.code().as_str(), "28P01");
    }

    #[test]
    fn rfc7677_salted_password() {
        // RFC 7677's example: password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 rounds.
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let salted = salted_password("pencil", &salt, 4096);
        let client_key = hmac(&salted, b"Client Key");
        let auth_message = "n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let signature = hmac(&sha256(&client_key), auth_message.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(signature).map(|(k, s)| k ^ s).collect();
        assert_eq!(B64.encode(proof), "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
        assert!(is_verifier(&scram_verifier("x")));
    }
}
