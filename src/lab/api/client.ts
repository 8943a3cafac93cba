// A small JSON client for the lab's own API server (CA pinned, bearer token): what `lab apply`,
// `lab delete` and `lab get` use, so they go through the API like kubectl does.
import { request, type RequestOptions } from 'node:https';
import type { Manifest } from '../../model/index.js';
import type { Credentials } from './credentials.js';

export interface ApiResponse {
  readonly status: number;
  readonly body: Manifest;
}

export class LabApiClient {
  constructor(
    private readonly server: string,
    private readonly credentials: Credentials,
  ) {}

  call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<ApiResponse> {
    const url = new URL(path, this.server);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const options: RequestOptions = {
      method,
      ca: this.credentials.caPem,
      headers: {
        Authorization: `Bearer ${this.credentials.token}`,
        Accept: 'application/json',
        ...(payload !== undefined ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) } : {}),
      },
      timeout: 30_000,
    };
    return new Promise((resolve, reject) => {
      const req = request(url, options, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Manifest) : {} });
          } catch {
            reject(new Error(`${method} ${path}: the lab API server answered ${res.statusCode} with something that is not JSON`));
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: the lab API server did not answer within 30 s`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }
}
