/**
 * Whether a source file is library code (the standard library, installed packages) rather than the user's: the
 * server prefers the user's functions as handlers, and Go to Slowest Handler goes to the user's code first.
 */
const LIBRARY_PATH = /[\\/](?:lib[\\/]python\d+(?:\.\d+)?|site-packages|dist-packages)[\\/]/i;

export function isLibraryFile(file: string): boolean {
  return LIBRARY_PATH.test(file);
}
