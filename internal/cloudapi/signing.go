package cloudapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// SignatureHeader is the header in which Meta signs a webhook delivery.
const SignatureHeader = "X-Hub-Signature-256"

// SignWebhook is the SignatureHeader value Meta sends with a webhook body:
// "sha256=" and the hex HMAC-SHA256 of the raw bytes keyed by the app
// secret. It must be computed over the bytes as sent
// (docs/cloud-api.md#signature-over-the-raw-body).
func SignWebhook(appSecret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// AppSecretProof is the appsecret_proof query parameter of a Graph call
// made with token, for apps with "Require App Secret" on: the hex
// HMAC-SHA256 of the token keyed by the app secret.
func AppSecretProof(appSecret, token string) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}
