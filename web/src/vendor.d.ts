/// <reference types="vite/client" />
// Type declarations for the Cytoscape extension that ships none.
declare module 'cytoscape-svg' {
  const ext: cytoscape.Ext;
  export default ext;
}
declare namespace cytoscape {
  interface Core {
    svg(options?: { full?: boolean; scale?: number; bg?: string }): string;
  }
}
