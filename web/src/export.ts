// Downloads: the picture as SVG (cytoscape-svg) or PNG (Cytoscape's own renderer), and the
// policies, with the edit laid over, as YAML from the server.
import type { Core } from 'cytoscape';
import { api } from './api.js';
import { download } from './dom.js';

export function exportSvg(cy: Core): void {
  download('podwall.svg', new Blob([cy.svg({ full: true, scale: 1, bg: '#ffffff' })], { type: 'image/svg+xml' }));
}

export function exportPng(cy: Core): void {
  download('podwall.png', cy.png({ full: true, scale: 2, bg: '#ffffff', output: 'blob' }));
}

export async function exportYaml(edit: string): Promise<void> {
  download('policies.yaml', new Blob([await api.exportPolicies(edit)], { type: 'application/yaml' }));
}
