import type { OutgoingHttpHeaders } from "node:http";

/**
 * Headers every gateway response carries: the gateway serves APIs, never pages, so nothing it returns may be
 * sniffed into a document, framed, or leak a referrer.
 */
export const securityHeaders: Readonly<OutgoingHttpHeaders> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "cross-origin-opener-policy": "same-origin",
};

/** Only over HTTPS (a TLS-terminating proxy says so): browsers ignore it on plain HTTP. */
export const strictTransportSecurity = "max-age=31536000; includeSubDomains";
