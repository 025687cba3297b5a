import { randomBytes } from "node:crypto";

/**
 * Lease tokens are "<nonce>.<message id>". The nonce is "<tag><8 hex>_<n>": the tag is "l" for a Lease call
 * or "c<12 hex stream id>" for a Consume stream, the hex part is random per call and n numbers the messages of
 * the call. The script keeps the nonce of the current lease in the message's state; the id finds the message.
 */
const noncePattern = /^(?:l|c[0-9a-f]{12})[0-9a-f]{8}_[0-9]{1,4}$/;

/** The nonce prefix of one lease call; the script appends the message's number. */
export function newNoncePrefix(streamId?: string): string {
  return `${streamId === undefined ? "l" : `c${streamId}`}${randomBytes(4).toString("hex")}_`;
}

/** A new Consume stream's id: 12 hex characters. */
export function newStreamId(): string {
  return randomBytes(6).toString("hex");
}

export interface ParsedToken {
  readonly id: string;
  readonly nonce: string;
}

/** Splits a token, or undefined when it is not one. */
export function parseLeaseToken(token: string): ParsedToken | undefined {
  const dot = token.indexOf(".");
  if (dot <= 0 || dot === token.length - 1) return undefined;
  const nonce = token.slice(0, dot);
  if (!noncePattern.test(nonce)) return undefined;
  return { nonce, id: token.slice(dot + 1) };
}

/** The Consume stream that leased the message, if a stream did. */
export function streamIdOfToken(token: string): string | undefined {
  return token.startsWith("c") ? token.slice(1, 13) : undefined;
}
