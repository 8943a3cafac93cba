// Serves the built page (Vite's output) from one folder, never anything outside it.
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
};

/**
 * The folder holding the built page: `dist/web-client` beside the compiled server
 * (dist/web/server.js), or the repository's dist/web-client when running from src/ (tests, tsx).
 */
export function defaultClientDir(): string | undefined {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const candidates = [join(here, '..', 'web-client'), join(here, '..', '..', 'dist', 'web-client')];
  return candidates.find((dir) => existsSync(join(dir, 'index.html')));
}

export function serveStatic(dir: string | undefined, urlPath: string, res: ServerResponse): void {
  if (!dir || !existsSync(join(dir, 'index.html'))) {
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('the page is not built: run `npm run build` (it builds the client with Vite into dist/web-client)\n');
    return;
  }
  const root = resolve(dir);
  let path: string;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('malformed percent-encoding in the path\n');
    return;
  }
  if (path.endsWith('/')) path += 'index.html';
  const file = resolve(root, normalize(`.${path}`));
  if (file !== root && !file.startsWith(root + sep)) {
    res.writeHead(403).end();
    return;
  }
  if (!existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
    return;
  }
  const immutable = path.startsWith('/assets/');
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  res.end(readFileSync(file));
}
