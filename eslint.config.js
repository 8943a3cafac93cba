// Lint rules, including the layering: a layer imports only the layers below it, and only
// through their index.ts; model and engine stay pure (no processes, no network).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const layers = ['model', 'engine', 'dataplane', 'lab', 'agent', 'cli', 'web'];
const below = {
  model: [],
  engine: ['model'],
  dataplane: ['engine', 'model'],
  lab: ['dataplane', 'engine', 'model'],
  agent: ['dataplane', 'engine', 'model'],
  // The CLI is the entry point: `podwall ui` starts the web server, so cli may use web (not the reverse).
  cli: ['web', 'lab', 'agent', 'dataplane', 'engine', 'model'],
  web: ['lab', 'agent', 'dataplane', 'engine', 'model'],
};
const impure = ['node:child_process', 'node:net', 'node:http', 'node:https', 'node:dgram', 'node:worker_threads'];

const layerRules = layers.map((layer) => {
  const forbidden = layers.filter((l) => l !== layer && !below[layer].includes(l));
  const patterns = [
    ...forbidden.map((l) => ({ regex: `^\\.\\./${l}/`, message: `${layer} may not import ${l}: layers import downward only` })),
    ...below[layer].map((l) => ({ regex: `^\\.\\./${l}/(?!index\\.js$)`, message: `import ${l} through its index.ts` })),
  ];
  const paths = layer === 'model' || layer === 'engine' ? impure.map((name) => ({ name, message: `${layer} stays pure` })) : [];
  return {
    files: [`src/${layer}/**/*.ts`],
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns, paths }] },
  };
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'web-dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { languageOptions: { globals: { ...globals.node } } },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  ...layerRules,
  // The page runs in the browser and may take only types from the server (src/web/types.ts).
  {
    files: ['web/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^\\.\\./\\.\\./src/(?!web/types\\.js$)', message: 'the page takes only types from src/web/types.ts: all logic comes through the API' }] }],
    },
  },
);
