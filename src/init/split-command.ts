// `init --command "java -Dx='a b' -jar app.jar"` split into argv as a POSIX shell splits words, without a shell:
// quotes and backslashes are honoured, nothing is expanded.

/** The words of `text` as sh would split them (no expansion: `$HOME` stays as written); an unclosed quote throws. */
export function splitCommand(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error(`--command: the ' at character ${i + 1} is not closed`);
      word += text.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      i = readDoubleQuoted(text, i, (part) => (word += part));
      inWord = true;
    } else if (c === '\\') {
      // Outside quotes a backslash keeps the next character as it is; before a line break it joins the lines.
      if (text[i + 1] !== '\n') word += text[i + 1] ?? '';
      inWord = true;
      i++;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** The double-quoted part opening at `start`: a backslash escapes only $ ` " \ and a line break. Returns its end. */
function readDoubleQuoted(text: string, start: number, add: (part: string) => void): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') return i;
    if (c === '\\' && i + 1 < text.length && '$`"\\\n'.includes(text[i + 1]!)) {
      if (text[i + 1] !== '\n') add(text[i + 1]!);
      i++;
    } else {
      add(c);
    }
  }
  throw new Error(`--command: the " at character ${start + 1} is not closed`);
}
