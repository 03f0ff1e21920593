/** Telegram's limit for one message's text, in UTF-16 code units after entity parsing. */
export const TELEGRAM_TEXT_LIMIT = 4096;

/**
 * Cuts Markdown into pieces of at most `limit` characters, at the best boundary it can find in
 * each piece's second half (a blank line, a line break, a space; mid-word only when there is
 * none). A code fence open at a cut is closed there and reopened in the next piece, so every
 * piece renders on its own.
 */
export function splitMessage(markdown: string, limit: number): string[] {
  const pieces: string[] = [];
  let rest = markdown.trim();
  // Room for the fence that may have to be closed (`\n```) and reopened (```lang\n).
  const fenceRoom = 24;
  let reopen = '';
  while (rest.length > 0) {
    if (reopen.length + rest.length <= limit) {
      pieces.push(reopen + rest);
      break;
    }
    const fenced = reopen !== '' || rest.includes('```');
    const budget = Math.max(1, limit - reopen.length - (fenced ? fenceRoom : 0));
    const window = rest.slice(0, budget);
    let cut = -1;
    for (const sep of ['\n\n', '\n', ' ']) {
      const at = window.lastIndexOf(sep);
      if (at >= budget / 2) {
        cut = at;
        break;
      }
    }
    if (cut <= 0) cut = budget;
    let piece = reopen + rest.slice(0, cut).trimEnd();
    rest = rest.slice(cut).replace(/^\s+/, '');
    const fence = openFence(piece);
    if (fence !== null) {
      piece += '\n```';
      reopen = `\`\`\`${fence}\n`;
    } else reopen = '';
    pieces.push(piece);
  }
  return pieces;
}

/** The language of a code fence left open at the end of `text` (`''` for none given), or null. */
function openFence(text: string): string | null {
  let open: string | null = null;
  for (const line of text.split('\n')) {
    const m = /^```(\S*)/.exec(line.trim());
    if (m) open = open === null ? (m[1] ?? '') : null;
  }
  return open;
}
