// Node's codes for a TLS certificate that did not verify (OpenSSL's names and the host-name
// check's): the fetch error and the stored failure both say what to do about them.
const CERTIFICATE_CODE = /^(CERT_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_(VERIFY|GET_ISSUER)|ERR_TLS_CERT_ALTNAME_INVALID$)/;

export const CERTIFICATE_HINT = 'the TLS certificate did not verify (set ignoreTlsErrors: true only for a host you trust)';

export function isCertificateCode(code: string | undefined): boolean {
	return code !== undefined && CERTIFICATE_CODE.test(code);
}
