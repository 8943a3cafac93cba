// The web layer: the UI's server (JSON API, events, the built page) over manifests or a lab.
export { startUiServer, type UiServer, type UiServerOptions } from './server.js';
export { staticSource, labSource, inputTitle, type ClusterSource, type LabHandle, type SourceEvent } from './source.js';
export { handleApi, type ApiContext, type ApiResponse } from './api.js';
export type * from './types.js';
