// Ports and protocols as users type them (flags, query strings): one parser for the CLI and the UI.
import { PROTOCOLS, type Protocol } from './types.js';

/** A port number 1-65535 from text, or a message saying why it is not one. */
export function parsePortText(text: string): { port: number } | { error: string } {
  const port = Number(text);
  if (!/^[0-9]+$/.test(text) || port < 1 || port > 65535) return { error: `"${text}" is not a port number (1-65535)` };
  return { port };
}

/** TCP, UDP or SCTP, in any case, or a message saying why it is not one. */
export function parseProtocolText(text: string): { protocol: Protocol } | { error: string } {
  const upper = text.toUpperCase();
  return (PROTOCOLS as readonly string[]).includes(upper) ? { protocol: upper as Protocol } : { error: `"${text}" is not TCP, UDP or SCTP` };
}
