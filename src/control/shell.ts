/**
 * Splits one set-up line into words the way `sh -c` would for the simple
 * commands a director's set-up uses (the oracle runs each line with sh):
 * blanks separate words, `'…'` and `"…"` quote, a backslash escapes the next
 * character, `#` at the start of a word begins a comment, and `>` / `>>` are
 * redirection operators. Anything that would need a real shell (pipes, `;`,
 * `&&`, variables, command substitution, globbing of `*`/`?` is left alone)
 * is reported with its column.
 */

/** One word of a line: its text after quote removal and the 1-based column where it starts. */
export interface Word {
  text: string;
  col: number;
  /** True for an unquoted `>` or `>>` redirection operator. */
  redirect: boolean;
}

/** A syntax problem at a column (1-based). */
export class ShellSyntaxError extends Error {
  readonly col: number;
  constructor(col: number, message: string) {
    super(message);
    this.col = col;
  }
}

const BLANK = ' \t\r';

/** Splits `line` into words; columns are offset by `colBase` (the column of line[0] minus 1). */
export function splitWords(line: string, colBase = 0): Word[] {
  const words: Word[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    const c = line[i];
    if (BLANK.includes(c)) {
      i++;
      continue;
    }
    if (c === '#') break;
    const start = i;
    if (c === '>') {
      const op = line[i + 1] === '>' ? '>>' : '>';
      words.push({ text: op, col: colBase + start + 1, redirect: true });
      i += op.length;
      continue;
    }
    let text = '';
    let quoted = false;
    while (i < n && !BLANK.includes(line[i])) {
      const ch = line[i];
      if (ch === "'") {
        const end = line.indexOf("'", i + 1);
        if (end < 0) throw new ShellSyntaxError(colBase + i + 1, "unterminated quote (')");
        text += line.slice(i + 1, end);
        quoted = true;
        i = end + 1;
      } else if (ch === '"') {
        let j = i + 1;
        for (;;) {
          if (j >= n) throw new ShellSyntaxError(colBase + i + 1, 'unterminated quote (")');
          const d = line[j];
          if (d === '"') break;
          if (d === '\\' && j + 1 < n && '"\\$`'.includes(line[j + 1])) {
            text += line[j + 1];
            j += 2;
            continue;
          }
          if (d === '$' || d === '`')
            throw new ShellSyntaxError(
              colBase + j + 1,
              'shell variables and command substitution are not supported',
            );
          text += d;
          j++;
        }
        quoted = true;
        i = j + 1;
      } else if (ch === '\\') {
        if (i + 1 < n) text += line[i + 1];
        i += 2;
      } else if (ch === '>') {
        if (!quoted && /^\d+$/.test(text) && text !== '')
          throw new ShellSyntaxError(
            colBase + start + 1,
            `'${text}>' redirects file descriptor ${text} in sh; write a space before '>'`,
          );
        break;
      } else if ('|;&<()'.includes(ch)) {
        throw new ShellSyntaxError(
          colBase + i + 1,
          `shell operator '${ch}' is not supported: one command per line`,
        );
      } else if (ch === '$' || ch === '`') {
        throw new ShellSyntaxError(
          colBase + i + 1,
          'shell variables and command substitution are not supported',
        );
      } else {
        text += ch;
        i++;
      }
    }
    words.push({ text, col: colBase + start + 1, redirect: false });
  }
  return words;
}
