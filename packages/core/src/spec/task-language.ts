/**
 * The programming language that proposed programs are written in. One run uses one language: the buffers,
 * prompts and executor all agree on it.
 *
 * - `javascript`: executed in isolated-vm by `@azr/executor`.
 * - `python`: executed in Pyodide (CPython compiled to WebAssembly) by `@azr/executor`.
 */
export type TaskLanguage = 'javascript' | 'python';

/** Every {@link TaskLanguage}, in a stable order (for validation messages and iteration). */
export const TASK_LANGUAGES: readonly TaskLanguage[] = ['javascript', 'python'];
