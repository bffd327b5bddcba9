/**
 * What "the app's code" is, the one rule the report, the server and the extension use to lead with the user's
 * functions rather than Twisted's or a framework's: the twin of runtime/reactorscope/usercode.py, which builds
 * the rule for a run and sends it as data (the HELLO metadata's `userCode`). Both read the cases of
 * test/fixtures/usercode.json; names follow the Python's (LIBRARY_PATH, UserCode.isUserFile, fromDescription).
 *
 * A file is the app's when it is under one of `include` or matches one of `globs` (fnmatch's, where `*` crosses
 * folders); else it is library code when it is under one of `library`, or its path looks like an installed
 * package's (LIBRARY_PATH), or it is not a file (`<frozen ...>`, `<string>`); everything else is the app's. A
 * session without the metadata (an older shim's recording) gets the fallback: LIBRARY_PATH and `<...>` only.
 */

export const LIBRARY_PATH = /[\\/](?:lib[\\/]python\d+(?:\.\d+)?|site-packages|dist-packages)[\\/]/i;

/** The rule as usercode.py's `describe()` writes it. */
export interface UserCodeDescription {
  include: string[];
  globs: string[];
  library: string[];
}

/** A folder with its trailing separator, as usercode.py's `_folder` writes it, so `startsWith` means "under". */
function folder(path: string): string {
  if (path.endsWith('/') || path.endsWith('\\')) return path;
  return path + (path.includes('\\') && !path.includes('/') ? '\\' : '/');
}

/** fnmatch.translate's reading of a glob (case-sensitive, as fnmatchcase): `*`, `?`, `[seq]`, `[!seq]`. */
function globRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      const close = glob.indexOf(']', glob[i + 1] === '!' ? i + 3 : i + 2);
      if (close < 0) {
        out += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, close).replace(/[\\\]]/g, '\\$&');
      if (body.startsWith('!')) body = '^' + body.slice(1);
      else if (body.startsWith('^')) body = '\\' + body;
      out += `[${body}]`;
      i = close;
    } else out += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^(?:${out})$`, 's');
}

/** A `userCode` value as a description, when it is one (what a session's metadata says is not trusted). */
export function descriptionOf(value: unknown): UserCodeDescription | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const strings = (list: unknown): string[] => (Array.isArray(list) ? list.filter((v): v is string => typeof v === 'string') : []);
  const d = value as Record<string, unknown>;
  return { include: strings(d.include), globs: strings(d.globs), library: strings(d.library) };
}

export class UserCode {
  private readonly include: string[];
  private readonly globs: RegExp[];
  private readonly library: string[];
  private readonly byFile = new Map<string, boolean>();

  constructor(description: Partial<UserCodeDescription> = {}) {
    this.include = (description.include ?? []).map(folder);
    this.globs = (description.globs ?? []).map(globRegExp);
    this.library = (description.library ?? []).map(folder);
  }

  /** The rule a session's metadata carries (`userCode`), or the fallback rule when it carries none. */
  static fromDescription(description: unknown): UserCode {
    return new UserCode(descriptionOf(description));
  }

  /** The rule of a session, from its HELLO (and META) metadata. */
  static ofMetadata(metadata: Record<string, unknown>): UserCode {
    return UserCode.fromDescription(metadata.userCode);
  }

  isUserFile(file: string): boolean {
    let mine = this.byFile.get(file);
    if (mine === undefined) {
      mine = this.decide(file);
      this.byFile.set(file, mine);
    }
    return mine;
  }

  private decide(file: string): boolean {
    if (this.include.some((f) => file.startsWith(f)) || this.globs.some((g) => g.test(file))) return true;
    if (!file || file.startsWith('<') || this.library.some((f) => file.startsWith(f)) || LIBRARY_PATH.test(file)) return false;
    return true;
  }
}
