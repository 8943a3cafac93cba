// Who may talk to the UI's server, as pure rules: the Host a request names (no DNS rebinding), the
// Origin and Sec-Fetch-Site a browser adds (no requests from other sites' pages), and the content
// type of a body (no "simple" cross-origin POSTs, which browsers send without asking first).
import { isIP } from 'node:net';

/** What the server knows about where it listens. */
export interface Listening {
  readonly port: number;
  /** True when bound to a non-loopback address (0.0.0.0, ::, or one interface's address). */
  readonly exposed: boolean;
  /** This machine's host name, also accepted in Host when exposed. */
  readonly hostName?: string;
}

/** `name` as the WHATWG URL parser writes it (lower case, IPv6 compressed, IPv4 dotted), or undefined when it is no host. */
function canonicalHost(name: string): string | undefined {
  try {
    return new URL(`http://${name}/`).hostname;
  } catch {
    return undefined;
  }
}

/** A socket's local address as it would appear in a URL: an IPv4-mapped IPv6 address is its IPv4 address. */
export function urlHost(address: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (v4) return v4;
  return isIP(address) === 6 ? `[${address}]` : address;
}

/** A Host header (or an Origin's host) split into its host, as a URL writes it, and port (80 when absent). */
export function parseAuthority(text: string): { readonly host: string; readonly port: number } | undefined {
  // Only host[:port]: user info, paths and the like are not a Host.
  if (!/^(\[[0-9a-fA-F:.]+\]|[^\s/?#@\\[\]:]+)(:\d{1,5})?$/.test(text)) return undefined;
  try {
    const url = new URL(`http://${text}/`);
    return { host: url.hostname, port: url.port === '' ? 80 : Number(url.port) };
  } catch {
    return undefined;
  }
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * A Host the server answers: a loopback name on a connection that arrived on loopback; the very
 * address the connection arrived at (an exposed server is reached at any of this machine's
 * addresses); and, when exposed, this machine's host name. A page served from any other name
 * (a DNS-rebinding attacker's) is refused, whatever address that name resolves to.
 */
export function allowedHost(header: string | undefined, localAddress: string | undefined, listening: Listening): boolean {
  const authority = header === undefined ? undefined : parseAuthority(header);
  if (!authority || authority.port !== listening.port) return false;
  const local = localAddress ? canonicalHost(urlHost(localAddress)) : undefined;
  if (isLoopbackHost(authority.host)) return local !== undefined && isLoopbackHost(local);
  if (authority.host === local) return true;
  return listening.exposed && listening.hostName !== undefined && authority.host === canonicalHost(listening.hostName);
}

/**
 * A browser names the page a request comes from in Origin (on every POST and on cross-origin
 * reads): only the server's own origin, the one the Host names, may ask. No Origin is a client
 * that is not a browser page (curl), or a same-origin read.
 */
export function allowedOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  if (host === undefined) return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // `null`: a sandboxed frame, a file:// page
  }
  const own = parseAuthority(host);
  return url.protocol === 'http:' && own !== undefined && url.hostname === own.host && (url.port === '' ? 80 : Number(url.port)) === own.port;
}

/**
 * Chromium and Firefox say in Sec-Fetch-Site whether a request comes from the page itself, even
 * for requests that carry no Origin (an <img>, a no-cors fetch): only `same-origin` and `none`
 * (typed in the address bar) reach the API. `same-site` is refused too: a page on another port
 * of localhost is the same site.
 */
export function allowedFetchSite(site: string | undefined): boolean {
  return site === undefined || site === 'same-origin' || site === 'none';
}

/** A JSON body must say so: `application/json` cannot be sent across origins without the server's consent (CORS), which this server never gives. */
export function isJsonContentType(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';')[0].trim().toLowerCase() === 'application/json';
}
