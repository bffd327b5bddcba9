// Lint with types: no-floating-promises is the rule that matters most in an extension, where a
// forgotten promise hides a failure; mark deliberate fire-and-forget with `void`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'dist-test/', 'node_modules/', '.venv/', 'runtime/', '**/*.mjs', '.vscode-test/', '.demo/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's test() returns a promise the runner itself awaits.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it'] }] },
      ],
      // Contract files declare LSP methods as `{ method, type }` namespaces, as vscode-languageserver does.
      '@typescript-eslint/no-namespace': 'off',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
);
